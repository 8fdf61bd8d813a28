/**
 * Multiply-adds per sample, in closed form, on ONNX graphs written here (buildOnnxModel) and read
 * back with the real reader: conv output sizes (strides, dilations, pads, SAME), pools, Flatten,
 * Gemm with transposes, MatMul over a sequence, broadcasting, Reshape and Transpose, dynamic
 * dims, a QDQ weight, and the layers it cannot follow; and the committed zoo exports, where every
 * weight layer is counted.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { buildOnnxModel, type NodeSpec } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { countMultiplyAdds } from '../../src/core/pruning/flops.ts';
import { fixture, floatBytes, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
let k = 0;

type Init = { name: string; dims: number[]; ints?: number[] };
function count(input: Array<{ name: string; dims: Array<number | string> }>, weights: Init[], nodes: Array<Omit<NodeSpec, 'name'>>, inputShapes: Array<{ name: string | null; dims: number[] }> = []) {
  const file = path.join(tmp.dir, `g${k++}.onnx`);
  const last = nodes[nodes.length - 1]!.outputs[0]!;
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    inputs: input.map((i) => ({ ...i, elemType: 1 })),
    outputs: [{ name: last, elemType: 1, dims: [] }],
    nodes: nodes.map((n, i) => ({ name: `n${i}`, ...n })),
    initializers: weights.map((w) =>
      w.ints
        ? { name: w.name, dataType: 7, dims: w.dims, raw: { length: 8 * w.ints.length, produce: (emit: (c: Uint8Array) => void) => emit(new Uint8Array(BigInt64Array.from(w.ints!.map(BigInt)).buffer)) } }
        : { name: w.name, dataType: 1, dims: w.dims, raw: floatBytes(new Array(w.dims.reduce((a, b) => a * b, 1)).fill(0.5)) },
    ),
  }).writeToFile(file);
  const ck = openCheckpoint(file);
  try {
    return countMultiplyAdds(ck, inputShapes);
  } finally {
    ck.close();
  }
}

test('conv: output size from strides, dilations and pads; SAME padding; a pool and a global pool in between; Flatten into Gemm', () => {
  // x N×3×32×32 → conv 8×3×3×3 stride 2, pads 1 → 8×16×16; maxpool 2 stride 2 → 8×8×8;
  // conv 4×8×3×3 dilation 2, no pads → 4×4×4; global pool → 4×1×1; flatten → 4; Gemm 10×4 (transB) → 10.
  const r = count([{ name: 'x', dims: ['N', 3, 32, 32] }], [{ name: 'w1', dims: [8, 3, 3, 3] }, { name: 'w2', dims: [4, 8, 3, 3] }, { name: 'fc', dims: [10, 4] }], [
    { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], intLists: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['a'], outputs: ['b'] },
    { opType: 'MaxPool', inputs: ['b'], outputs: ['c'], intLists: { kernel_shape: [2, 2], strides: [2, 2] } },
    { opType: 'Conv', inputs: ['c', 'w2'], outputs: ['d'], intLists: { dilations: [2, 2] } },
    { opType: 'GlobalAveragePool', inputs: ['d'], outputs: ['e'] },
    { opType: 'Flatten', inputs: ['e'], outputs: ['f'] },
    { opType: 'Gemm', inputs: ['f', 'fc'], outputs: ['y'], ints: { transB: 1 } },
  ]);
  assert.deepEqual(r, { multiplyAdds: 8 * 16 * 16 * 27 + 4 * 4 * 4 * 72 + 10 * 4, unknown: [], inputsChosen: ['x: [N, 3, 32, 32] → [1, 3, 32, 32]'] });
  const conv = (auto: string) => count([{ name: 'x', dims: [1, 3, 15, 15] }], [{ name: 'w', dims: [6, 3, 5, 5] }], [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], intLists: { strides: [2, 2] }, strings: { auto_pad: auto } }]);
  assert.equal(conv('SAME_UPPER').multiplyAdds, 6 * 8 * 8 * 75); // ⌈15/2⌉ = 8
  assert.equal(conv('SAME_LOWER').multiplyAdds, 6 * 8 * 8 * 75);
  assert.equal(conv('VALID').multiplyAdds, 6 * 6 * 6 * 75); // ⌊(15 − 5)/2⌋ + 1 = 6
  const asym = count([{ name: 'x', dims: [2, 1, 10, 7] }], [{ name: 'w', dims: [2, 1, 3, 2] }], [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], intLists: { pads: [0, 1, 2, 0] } }]);
  assert.equal(asym.multiplyAdds, 2 * 10 * 7 * 6); // per sample: (10 + 0 + 2 − 3 + 1) × (7 + 1 + 0 − 2 + 1)
  const grouped = count([{ name: 'x', dims: [1, 8, 5, 5] }], [{ name: 'w', dims: [8, 2, 3, 3] }], [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], ints: { group: 4 }, intLists: { pads: [1, 1, 1, 1] } }]);
  assert.equal(grouped.multiplyAdds, 8 * 5 * 5 * 2 * 9); // each output value reads its group's 2 channels
});

test('Gemm with transA and without transB; MatMul over a sequence; a broadcasting Add; the batch is divided out', () => {
  // (xᵀ: 4 samples × 5)(5×7): each of the 4·7 outputs is a 5-long dot product, per sample 35.
  assert.equal(count([{ name: 'x', dims: [5, 4] }], [{ name: 'w', dims: [5, 7] }], [{ opType: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], ints: { transA: 1 } }]).multiplyAdds, 5 * 7);
  const seq = count([{ name: 'x', dims: [2, 6, 8] }], [{ name: 'w', dims: [8, 3] }, { name: 'v', dims: [3, 5] }, { name: 'bias', dims: [3] }], [
    { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { opType: 'Add', inputs: ['h', 'bias'], outputs: ['g'] },
    { opType: 'Relu', inputs: ['g'], outputs: ['r'] },
    { opType: 'MatMul', inputs: ['r', 'v'], outputs: ['y'] },
  ]);
  assert.deepEqual(seq, { multiplyAdds: 6 * 8 * 3 + 6 * 3 * 5, unknown: [], inputsChosen: [] });
  const bcast = count([{ name: 'x', dims: [1, 4, 1] }, { name: 'z', dims: [3, 1, 5] }], [{ name: 'w', dims: [5, 2] }], [
    { opType: 'Mul', inputs: ['x', 'z'], outputs: ['p'] }, // → 3×4×5
    { opType: 'MatMul', inputs: ['p', 'w'], outputs: ['y'] },
  ]);
  assert.equal(bcast.multiplyAdds, (3 * 4 * 5 * 2) / 3);
});

test('Reshape and Transpose between layers (attention-style), and --input-shape', () => {
  // x [b, 12] → Gemm 12→24 → Reshape [b, 4, 6] → Transpose [b, 6, 4] → MatMul 4→3: per sample 12·24 + 6·4·3.
  const nodes: Array<Omit<NodeSpec, 'name'>> = [
    { opType: 'Gemm', inputs: ['x', 'w1'], outputs: ['h'], ints: { transB: 1 } },
    { opType: 'Reshape', inputs: ['h', 'shape'], outputs: ['r'] },
    { opType: 'Transpose', inputs: ['r'], outputs: ['t'], intLists: { perm: [0, 2, 1] } },
    { opType: 'MatMul', inputs: ['t', 'w2'], outputs: ['y'] },
  ];
  const weights: Init[] = [{ name: 'w1', dims: [24, 12] }, { name: 'shape', dims: [3], ints: [-1, 4, 6] }, { name: 'w2', dims: [4, 3] }];
  assert.deepEqual(count([{ name: 'x', dims: ['b', 12] }], weights, nodes), { multiplyAdds: 12 * 24 + 6 * 4 * 3, unknown: [], inputsChosen: ['x: [b, 12] → [1, 12]'] });
  assert.deepEqual(count([{ name: 'x', dims: ['b', 12] }], weights, nodes, [{ name: 'x', dims: [5, 12] }]), { multiplyAdds: 12 * 24 + 6 * 4 * 3, unknown: [], inputsChosen: [] });
  // A MatMul whose second input is computed (attention scores) is no layer: neither counted nor unknown.
  assert.deepEqual(count([{ name: 'q', dims: [1, 4, 8] }, { name: 'k', dims: [1, 8, 4] }], [], [{ opType: 'MatMul', inputs: ['q', 'k'], outputs: ['s'] }]), { multiplyAdds: 0, unknown: [], inputsChosen: [] });
});

test('what inference cannot follow is listed as unknown; a pool with pads and Flatten at axis 2', () => {
  // TopK's k is a graph input: its output shape is unknown, so the Gemm after it cannot be counted.
  const r = count([{ name: 'x', dims: [1, 8] }, { name: 'kk', dims: [1] }], [{ name: 'w1', dims: [4, 8] }, { name: 'w2', dims: [3, 4] }], [
    { opType: 'Gemm', inputs: ['x', 'w1'], outputs: ['h'], ints: { transB: 1 } },
    { opType: 'TopK', inputs: ['h', 'kk'], outputs: ['t', 'ti'] },
    { opType: 'Gemm', inputs: ['t', 'w2'], outputs: ['y'], ints: { transB: 1 } },
  ]);
  assert.deepEqual(r, { multiplyAdds: 4 * 8, unknown: ['n2'], inputsChosen: [] });
  // A pool with its own pads (6×6 → 3×3) before a 1×1 conv; Flatten at axis 2 ([1, 4, 3, 3] → [4, 9], whose first dim is taken as the batch).
  const fl = count([{ name: 'x', dims: [1, 2, 6, 6] }], [{ name: 'c', dims: [4, 2, 1, 1] }, { name: 'w', dims: [9, 3] }], [
    { opType: 'AveragePool', inputs: ['x'], outputs: ['p'], intLists: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
    { opType: 'Conv', inputs: ['p', 'c'], outputs: ['q'] },
    { opType: 'Flatten', inputs: ['q'], outputs: ['f'], ints: { axis: 2 } },
    { opType: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
  ]);
  assert.equal(fl.multiplyAdds, 4 * 3 * 3 * 2 + 9 * 3);
  // A MatMul with a stacked 3-D weight, one with a 1-D output, and a batch of 0 are not counted.
  const mm = (x: number[], w: number[]) => count([{ name: 'x', dims: x }], [{ name: 'w', dims: w }], [{ opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }]);
  assert.deepEqual(mm([2, 3, 4], [2, 4, 5]), { multiplyAdds: 0, unknown: ['n0'], inputsChosen: [] });
  assert.deepEqual(mm([4], [4, 5]), { multiplyAdds: 0, unknown: ['n0'], inputsChosen: [] });
  assert.deepEqual(mm([1, 4], [4, 5]), { multiplyAdds: 20, unknown: [], inputsChosen: [] });
  const empty = count([{ name: 'x', dims: ['b', 8] }], [{ name: 'w', dims: [3, 8] }], [{ opType: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], ints: { transB: 1 } }], [{ name: 'x', dims: [0, 8] }]);
  assert.deepEqual(empty, { multiplyAdds: 0, unknown: ['n0'], inputsChosen: [] });
});

test('every weight layer of every committed zoo export is counted (the shape arithmetic of ViT, DenseNet, U-Net, ShuffleNet and QDQ included)', () => {
  const zoo = fixture('onnx', 'zoo');
  for (const f of fs.readdirSync(zoo).filter((x) => x.endsWith('.onnx'))) {
    const ck = openCheckpoint(path.join(zoo, f));
    const r = countMultiplyAdds(ck);
    ck.close();
    assert.deepEqual(r.unknown, [], f);
    assert.ok(r.multiplyAdds > 0, `${f}: ${r.multiplyAdds}`);
  }
});

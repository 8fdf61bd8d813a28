/**
 * Multiply-adds per sample, in closed form, on graphs written out by hand: conv output sizes
 * (strides, dilations, pads, SAME), pools, Flatten, Gemm with transposes, MatMul over a sequence,
 * broadcasting, and the layers it cannot follow.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint, GraphOp, WeightTensor } from '../../src/core/checkpoint.ts';
import { countMultiplyAdds } from '../../src/core/pruning/flops.ts';

function graph(inputShapes: Record<string, number[]>, weights: Record<string, number[]>, ops: Array<Partial<GraphOp> & Pick<GraphOp, 'opType' | 'inputs' | 'outputs'>>): Checkpoint {
  return {
    inputShapes,
    weights: Object.entries(weights).map(([name, shape]) => ({ name, shape }) as unknown as WeightTensor),
    ops: ops.map((o, i) => ({ name: `n${i}`, graph: '', attributes: {}, ...o })),
  } as unknown as Checkpoint;
}

test('conv: output size from strides, dilations and pads; SAME padding; a pool and a global pool in between; Flatten into Gemm', () => {
  // x 1×3×32×32 → conv 8×3×3×3 stride 2, pads 1 → 8×16×16; maxpool 2 stride 2 → 8×8×8;
  // conv 4×8×3×3 dilation 2, no pads → 4×4×4; global pool → 4×1×1; flatten → 4; Gemm 10×4 (transB) → 10.
  const ck = graph({ x: [-1, 3, 32, 32] }, { w1: [8, 3, 3, 3], w2: [4, 8, 3, 3], fc: [10, 4] }, [
    { opType: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], attributes: { strides: [2, 2], pads: [1, 1, 1, 1] } },
    { opType: 'Relu', inputs: ['a'], outputs: ['b'] },
    { opType: 'MaxPool', inputs: ['b'], outputs: ['c'], attributes: { kernel_shape: [2, 2], strides: [2, 2] } },
    { opType: 'Conv', inputs: ['c', 'w2'], outputs: ['d'], attributes: { dilations: [2, 2] } },
    { opType: 'GlobalAveragePool', inputs: ['d'], outputs: ['e'] },
    { opType: 'Flatten', inputs: ['e'], outputs: ['f'] },
    { opType: 'Gemm', inputs: ['f', 'fc'], outputs: ['y'], attributes: { transB: 1 } },
  ]);
  assert.deepEqual(countMultiplyAdds(ck), { multiplyAdds: 8 * 16 * 16 * 27 + 4 * 4 * 4 * 72 + 10 * 4, unknown: [] });
  const same = graph({ x: [1, 3, 15, 15] }, { w: [6, 3, 5, 5] }, [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { strides: [2, 2], auto_pad: 'SAME_UPPER' } }]);
  assert.equal(countMultiplyAdds(same).multiplyAdds, 6 * 8 * 8 * 75); // ⌈15/2⌉ = 8
  const lower = graph({ x: [1, 3, 15, 15] }, { w: [6, 3, 5, 5] }, [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { strides: [2, 2], auto_pad: 'SAME_LOWER' } }]);
  assert.equal(countMultiplyAdds(lower).multiplyAdds, 6 * 8 * 8 * 75);
  const asym = graph({ x: [2, 1, 10, 7] }, { w: [2, 1, 3, 2] }, [{ opType: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attributes: { pads: [0, 1, 2, 0] } }]);
  assert.equal(countMultiplyAdds(asym).multiplyAdds, 2 * 10 * 7 * 6); // per sample: (10 + 0 + 2 − 3 + 1) × (7 + 1 + 0 − 2 + 1)
});

test('Gemm with transA, and without transB; MatMul over a sequence; broadcasting Add; the batch is divided out', () => {
  const gemm = graph({ x: [5, 4] }, { w: [5, 7] }, [{ opType: 'Gemm', inputs: ['x', 'w'], outputs: ['y'], attributes: { transA: 1 } }]); // (xᵀ: 4×5)(5×7)
  assert.equal(countMultiplyAdds(gemm).multiplyAdds, (4 * 5 * 7) / 5);
  const seq = graph({ x: [2, 6, 8] }, { w: [8, 3], v: [3, 5] }, [
    { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { opType: 'Add', inputs: ['h', 'bias'], outputs: ['g'] },
    { opType: 'Gelu', inputs: ['g'], outputs: ['r'] },
    { opType: 'MatMul', inputs: ['r', 'v'], outputs: ['y'] },
  ]);
  // 'bias' has no known shape: the Add output is unknown, so the second MatMul cannot be counted.
  assert.deepEqual(countMultiplyAdds(seq), { multiplyAdds: 6 * 8 * 3, unknown: ['n3'] });
  const known = graph({ x: [2, 6, 8] }, { w: [8, 3], v: [3, 5], bias: [3] }, [
    { opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { opType: 'Add', inputs: ['h', 'bias'], outputs: ['g'] },
    { opType: 'MatMul', inputs: ['g', 'v'], outputs: ['y'] },
  ]);
  assert.deepEqual(countMultiplyAdds(known), { multiplyAdds: 6 * 8 * 3 + 6 * 3 * 5, unknown: [] });
  const bcast = graph({ x: [1, 4, 1], z: [3, 1, 5] }, { w: [5, 2] }, [
    { opType: 'Mul', inputs: ['x', 'z'], outputs: ['p'] }, // → 3×4×5
    { opType: 'MatMul', inputs: ['p', 'w'], outputs: ['y'] },
  ]);
  assert.equal(countMultiplyAdds(bcast).multiplyAdds, (3 * 4 * 5 * 2) / 3);
});

test('what it cannot follow: a layer after an unknown op, or on an input without a shape, is listed as unknown; subgraph ops are left out', () => {
  const ck = graph({ x: [1, 8] }, { w1: [4, 8], w2: [3, 4] }, [
    { opType: 'Gemm', inputs: ['x', 'w1'], outputs: ['h'], attributes: { transB: 1 } },
    { opType: 'TopK', inputs: ['h', 'k'], outputs: ['t'] },
    { opType: 'Gemm', inputs: ['t', 'w2'], outputs: ['y'], attributes: { transB: 1 } },
    { opType: 'Gemm', inputs: ['x', 'w1'], outputs: ['s'], attributes: { transB: 1 }, graph: 'If_0/then_branch' },
  ]);
  assert.deepEqual(countMultiplyAdds(ck), { multiplyAdds: 4 * 8, unknown: ['n2'] });
  // A MatMul whose second input is not a weight (attention scores) is no layer: not counted, not unknown.
  const attn = graph({ q: [1, 4, 8], k: [1, 8, 4] }, {}, [{ opType: 'MatMul', inputs: ['q', 'k'], outputs: ['s'] }]);
  assert.deepEqual(countMultiplyAdds(attn), { multiplyAdds: 0, unknown: [] });
  // A pool with its own pads (6×6 → 3×3) before a 1×1 conv; Flatten at axis 2 ([1, 4, 3, 3] → [4, 9], whose first dim is taken as the batch).
  const fl = graph({ x: [1, 2, 6, 6] }, { c: [4, 2, 1, 1], w: [9, 3] }, [
    { opType: 'AveragePool', inputs: ['x'], outputs: ['p'], attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
    { opType: 'Conv', inputs: ['p', 'c'], outputs: ['q'] },
    { opType: 'Flatten', inputs: ['q'], outputs: ['f'], attributes: { axis: 2 } },
    { opType: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
  ]);
  assert.equal(countMultiplyAdds(fl).multiplyAdds, 4 * 3 * 3 * 2 + 9 * 3);
});

/**
 * `prune --method node` on ONNX up to the writer (pruning/onnxNodes.ts), on the committed MLP
 * (fc1 32×20 → fc2 16×32 → fc3 10×16, Gemm with transB): the report rows, the group rows and the
 * plan, and the edits' tensors, against the weights: each hidden unit's score is the squared norm
 * of its row in its own layer plus its column in the next, the lowest go, and the kept rows and
 * columns are written in their order.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Checkpoint } from '../../src/core/checkpoint.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneOnnxNodes, sizeAfter } from '../../src/core/pruning/onnxNodes.ts';
import type { GraphEdits } from '../../src/core/graph/pruneGroups.ts';
import type { PruneLayerReport } from '../../src/core/pruning/types.ts';
import { describeStructure } from '../../src/core/pruning/structured/describeStructure.ts';
import { analyseStructure, layerRefusal } from '../../src/core/pruning/structured/pruneNodes.ts';
import { fixture, tempDir, writeTestGraph } from '../helpers.ts';

const ck = openCheckpoint(fixture('onnx', 'mlp.onnx'));
const values = (name: string) => Array.from(ck.weights.find((w) => w.name === name)!.read());
const dense = ck.weights.filter((w) => w.layer.kind === 'dense');

/** Units of the layer `w` (rows × cols, feeding `next`, nextRows × rows) in the order they go, and the curve √(removed / total). */
function byScore(w: string, cols: number, next: string, nextRows: number): { order: number[]; curve: number[] } {
  const a = values(w);
  const b = values(next);
  const rows = a.length / cols;
  const e = Array.from({ length: rows }, (_, r) => {
    let s = 0;
    for (let j = 0; j < cols; j++) s += a[r * cols + j]! ** 2;
    for (let i = 0; i < nextRows; i++) s += b[i * rows + r]! ** 2;
    return s;
  });
  const order = e.map((_, i) => i).sort((x, y) => e[x]! - e[y]! || x - y);
  const total = e.reduce((s, x) => s + x, 0);
  const curve = [0];
  let acc = 0;
  for (const u of order) curve.push(Math.sqrt((acc += e[u]!) / total));
  return { order, curve };
}

function floats(raw: Uint8Array): number[] {
  return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
}

test('ratio 0.5: half of each hidden group goes, the output layer keeps its units and loses inputs', () => {
  const layers: PruneLayerReport[] = [];
  const r = pruneOnnxNodes(ck as Checkpoint, dense, { method: 'node', ratio: 0.5 }, layers);
  const g0 = byScore('fc1.weight', 20, 'fc2.weight', 16);
  const g1 = byScore('fc2.weight', 32, 'fc3.weight', 10);
  assert.deepEqual(
    layers.map((l) => ({ ...l, relErr: l.relErr === null ? null : Math.round(l.relErr * 1e12) / 1e12 })),
    [
      { name: 'fc1.weight', method: 'node', ratio: 0.5, paramsBefore: 640, paramsAfter: 320, relErr: Math.round(g0.curve[16]! * 1e12) / 1e12, skipped: false, reason: '16 of 32 units kept (group 0)', group: { id: 0, coupled: [], approximate: false } },
      { name: 'fc2.weight', method: 'node', ratio: 0.5, paramsBefore: 512, paramsAfter: 128, relErr: Math.round(g1.curve[8]! * 1e12) / 1e12, skipped: false, reason: '8 of 16 units kept (group 1)', group: { id: 1, coupled: [], approximate: false } },
      { name: 'fc3.weight', method: 'node', ratio: 0, paramsBefore: 160, paramsAfter: 80, relErr: null, skipped: false, reason: "own outputs kept: group 2: it reaches the graph output 'output'; its inputs shrink with the layers before it" },
    ],
  );
  assert.deepEqual(r.groups.map((g) => ({ ...g, relErr: g.relErr === null ? null : Math.round(g.relErr * 1e12) / 1e12 })), [
    { id: 0, layers: ['fc1.weight'], units: 32, removed: 16, relErr: Math.round(g0.curve[16]! * 1e12) / 1e12, approximate: [] },
    { id: 1, layers: ['fc2.weight'], units: 16, removed: 8, relErr: Math.round(g1.curve[8]! * 1e12) / 1e12, approximate: [] },
    { id: 2, layers: ['fc3.weight'], units: 0, removed: 0, relErr: null, approximate: [], refused: "it reaches the graph output 'output'" },
  ]);
  assert.deepEqual(r.plan, { version: 1, method: 'node', centre: 'none', layers: [{ name: 'fc1.weight', ratio: 0.5 }, { name: 'fc2.weight', ratio: 0.5 }, { name: 'fc3.weight', ratio: 0, skip: true }] });
  assert.deepEqual(r.notes, []);

  // The written tensors: fc1's kept rows, fc2's kept rows of kept columns, fc3's kept columns, in order.
  const keep0 = [...Array(32).keys()].filter((u) => !g0.order.slice(0, 16).includes(u));
  const keep1 = [...Array(16).keys()].filter((u) => !g1.order.slice(0, 8).includes(u));
  const fc1 = values('fc1.weight');
  const fc2 = values('fc2.weight');
  const fc3 = values('fc3.weight');
  const expect = new Map<string, { dims: number[]; values: number[] }>([
    ['fc1.weight', { dims: [16, 20], values: keep0.flatMap((u) => fc1.slice(u * 20, u * 20 + 20)) }],
    ['fc1.bias', { dims: [16], values: keep0.map((u) => values('fc1.bias')[u]!) }],
    ['fc2.weight', { dims: [8, 16], values: keep1.flatMap((r) => keep0.map((c) => fc2[r * 32 + c]!)) }],
    ['fc2.bias', { dims: [8], values: keep1.map((u) => values('fc2.bias')[u]!) }],
    ['fc3.weight', { dims: [10, 8], values: [...Array(10).keys()].flatMap((r) => keep1.map((c) => fc3[r * 16 + c]!)) }],
  ]);
  assert.deepEqual([...r.edits.replace.keys()].sort(), [...expect.keys()].sort());
  for (const [name, e] of expect) {
    const got = r.edits.replace.get(name)!;
    assert.deepEqual(got.dims, e.dims, name);
    assert.equal(got.dataType, 1);
    assert.deepEqual(floats(got.raw), Array.from(Float32Array.from(e.values)), name);
  }
  assert.deepEqual(r.edits.add, []);
  assert.equal(r.edits.dropNodes?.size ?? 0, 0);
});

test('ε: each group loses the most units whose curve stays strictly below it; a layer not selected keeps its units', () => {
  const g0 = byScore('fc1.weight', 20, 'fc2.weight', 16);
  const eps = (g0.curve[5]! + g0.curve[6]!) / 2;
  const layers: PruneLayerReport[] = [];
  const r = pruneOnnxNodes(ck as Checkpoint, dense.filter((w) => w.name === 'fc1.weight'), { method: 'node', eps }, layers);
  assert.deepEqual(r.groups.map((g) => g.removed), [5, 0, 0]);
  assert.deepEqual(layers.map((l) => [l.name, l.paramsAfter, l.reason]), [['fc1.weight', 27 * 20, '27 of 32 units kept (group 0)']]);
  assert.deepEqual(r.plan.layers, [{ name: 'fc1.weight', ratio: 5 / 32 }]);
  assert.throws(() => pruneOnnxNodes(ck as Checkpoint, dense, { method: 'node', budget: 10 }, []), { name: 'UsageError', message: /^a budget of 10 parameters is below what node pruning of these groups reaches \(\d+\)$/ });
});

test('a budget: the parameters kept are counted once per tensor, so the model written is the largest common-ε plan within it', () => {
  // fc2.weight loses rows with group 1 and columns with group 0: adding the groups' per-unit
  // parameters would count its corner twice (a budget of 1300 used to keep 835 parameters).
  const kept = (budget: number) => {
    const r = pruneOnnxNodes(ck as Checkpoint, dense, { method: 'node', budget }, []);
    const n = ck.weights.reduce((a, w) => a + (r.edits.replace.get(w.name)?.dims.reduce((x, y) => x * y, 1) ?? w.size), 0);
    return { removed: r.groups.map((g) => g.removed), kept: n };
  };
  // 1370 parameters in all; one fc1 unit takes 20 + 1 + 16 = 37 of them.
  assert.deepEqual(kept(1370), { removed: [0, 0, 0], kept: 1370 });
  assert.deepEqual(kept(1369), { removed: [1, 0, 0], kept: 1333 });
  for (const budget of [1300, 1000, 700, 400]) {
    const k = kept(budget);
    assert.ok(k.kept <= budget && k.kept > budget - 40, `budget ${budget}: ${k.kept} kept, units out ${k.removed}`);
    // Counted by hand from the units out: fc1 (32 − a)·20 + (32 − a), fc2 (16 − b)·(32 − a) + (16 − b), fc3 10·(16 − b) + 10.
    const [a, b] = k.removed as [number, number];
    assert.equal(k.kept, (32 - a) * 21 + (16 - b) * (32 - a) + (16 - b) + 10 * (16 - b) + 10);
  }
});


test('report rows name the coupled layers (three, then a count) and approximate groups; group rows give the refusing node', () => {
  const run = (file: string) => {
    const c = openCheckpoint(file);
    try {
      const rows: PruneLayerReport[] = [];
      const sel = c.weights.filter((w) => w.layer.kind === 'dense' || w.layer.kind === 'conv');
      const r = pruneOnnxNodes(c, sel, { method: 'node', ratio: 0.5 }, rows);
      return { reason: (name: string) => rows.find((l) => l.name === name)!.reason, row: (name: string) => rows.find((l) => l.name === name)!, groups: r.groups };
    } finally {
      c.close();
    }
  };
  // ResNet: the stem's group holds the first block's residual add (its second conv); a projected block couples three.
  const resnet = run(fixture('onnx', 'zoo', 'resnet_op13.onnx'));
  assert.equal(resnet.reason('onnx::Conv_126'), '4 of 8 units kept (group 0, coupled with onnx::Conv_132)');
  assert.equal(resnet.reason('onnx::Conv_129'), '4 of 8 units kept (group 1)');
  assert.equal(resnet.reason('onnx::Conv_150'), '16 of 32 units kept (group 6, coupled with onnx::Conv_153, onnx::Conv_162)');
  assert.equal(resnet.reason('fc.weight'), "own outputs kept: group 9: it reaches the graph output 'output'; its inputs shrink with the layers before it");
  assert.equal(resnet.row('fc.weight').skipped, false); // its inputs shrink: it is rewritten
  assert.ok(resnet.row('fc.weight').paramsAfter < resnet.row('fc.weight').paramsBefore);
  // ViT: the residual stream couples the patch embedding with every attention output and MLP output (7 layers), through LayerNorms.
  const vit = run(fixture('onnx', 'zoo', 'vit_op13.onnx'));
  const stream = 'encoder.layers.encoder_layer_0.self_attention.out_proj.weight, onnx::MatMul_514, encoder.layers.encoder_layer_1.self_attention.out_proj.weight and 3 more';
  assert.equal(vit.reason('conv_proj.weight'), `16 of 32 units kept (group 0, coupled with ${stream}); approximate: normalisation statistics change`);
  const g0 = vit.groups[0]!;
  assert.deepEqual([g0.layers.length, g0.units, g0.removed, g0.approximate.length > 0, g0.refused], [7, 32, 16, true, undefined]);
  assert.equal(vit.reason('onnx::MatMul_512'), '48 of 96 units kept (group 1)');
  // Refusals that name a node: a tensor read inside an If branch, an LSTM.
  assert.deepEqual(run(fixture('onnx', 'constants.onnx')).groups.filter((g) => g.refused).map((g) => g.refused), ["'h' is read inside a subgraph, whose nodes the dependency analysis does not follow (If node 'branch')"]);
  assert.deepEqual(run(fixture('onnx', 'lstm.onnx')).groups.filter((g) => g.refused).map((g) => g.refused), ["LSTM is not covered by the dependency rules (LSTM node '/lstm/LSTM')", "it reaches the graph output 'output'"]);
});

test("a tensor's size after the edits: its replacement, else its per-use copies plus the original unless it is dropped", () => {
  const t = (dims: number[]) => ({ dims, dataType: 1, values: new Float32Array(dims.reduce((a, b) => a * b, 1)) });
  const e: GraphEdits = {
    replace: new Map([['w', t([3, 4])]]),
    add: new Map([['b__pruned_2_2', t([3])], ['b__pruned_5_1', t([2, 1])], ['c__pruned_1_1', t([4])], ['xb__pruned_1_1', t([7])], ['n__pruned_shape', t([2])]]),
    rewire: new Map(),
    attrs: new Map(),
    changed: new Set(),
    dropNodes: new Set(),
    dropStored: new Set(['b']),
  };
  assert.equal(sizeAfter(e, 'w', 40), 12);
  assert.equal(sizeAfter(e, 'b', 6), 3 + 2); // both uses copied: the original goes
  assert.equal(sizeAfter(e, 'c', 6), 4 + 6); // one use copied, the original stays for the other
  assert.equal(sizeAfter(e, 'x', 9), 9); // 'xb__pruned_…' is another tensor's copy
  assert.equal(sizeAfter(e, 'n', 5), 5); // a shape operand named after node 'n' is no copy of tensor 'n'
  assert.equal(sizeAfter({ ...e, add: new Map([['a.b__pruned_1_2', t([2])], ['axb__pruned_1_2', t([3])]]) }, 'a.b', 4), 2 + 4);
});

test('a layer of one unit: its group has one class, nothing to choose, and every row says so', () => {
  const tmp = tempDir();
  const file = writeTestGraph(path.join(tmp.dir, 'one.onnx'), {
    inputs: [{ name: 'x', dims: [1, 4] }],
    outputs: [{ name: 'y', dims: [1, 3] }],
    nodes: [
      { name: 'g1', opType: 'Gemm', inputs: ['x', 'W1'], outputs: ['h'], ints: { transB: 1 } },
      { name: 'r', opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 'g2', opType: 'Gemm', inputs: ['r', 'W2'], outputs: ['y'], ints: { transB: 1 } },
    ],
    weights: { W1: [1, 4], W2: [3, 1] },
  });
  const c = openCheckpoint(file);
  try {
    const a = analyseStructure(c);
    assert.equal(a.planned.length, 0);
    assert.equal(layerRefusal(a, 'W1'), 'group 0: its units are all tied together');
    const rows: PruneLayerReport[] = [];
    const r = pruneOnnxNodes(c, c.weights, { method: 'node', ratio: 0.5 }, rows);
    assert.deepEqual(r.groups.map((g) => [g.id, g.units, g.removed, g.refused]), [[0, 1, 0, 'its units are all tied together'], [1, 0, 0, "it reaches the graph output 'y'"]]);
    assert.deepEqual(rows.map((x) => [x.name, x.paramsAfter, x.skipped, x.reason]), [
      ['W1', 4, true, 'own outputs kept: group 0: its units are all tied together'],
      ['W2', 3, true, "own outputs kept: group 1: it reaches the graph output 'y'"],
    ]);
  } finally {
    c.close();
    tmp.cleanup();
  }
});

test('a plan: its ratios per layer; a layer it skips or leaves out keeps its units', () => {
  const run = (layers: Array<{ name: string; ratio: number; skip?: boolean }>) => {
    const rows: PruneLayerReport[] = [];
    pruneOnnxNodes(ck, dense, { method: 'node', plan: { version: 1, method: 'node', layers } }, rows);
    return rows.map((l) => [l.name, l.ratio]);
  };
  assert.deepEqual(run([{ name: 'fc1.weight', ratio: 0.25 }, { name: 'fc2.weight', ratio: 0.5 }]), [['fc1.weight', 8 / 32], ['fc2.weight', 8 / 16], ['fc3.weight', 0]]);
  assert.deepEqual(run([{ name: 'fc1.weight', ratio: 0.25 }]), [['fc1.weight', 8 / 32], ['fc2.weight', 0], ['fc3.weight', 0]]);
  assert.deepEqual(run([{ name: 'fc1.weight', ratio: 0.25 }, { name: 'fc2.weight', ratio: 0.5, skip: true }]), [['fc1.weight', 8 / 32], ['fc2.weight', 0], ['fc3.weight', 0]]);
});

test("selecting one layer of a coupled group cuts the whole group, the other layer's outputs with it", () => {
  const c = openCheckpoint(fixture('onnx', 'zoo', 'resnet_op13.onnx'));
  try {
    const rows: PruneLayerReport[] = [];
    const r = pruneOnnxNodes(c, c.weights.filter((w) => w.name === 'onnx::Conv_126'), { method: 'node', ratio: 0.5 }, rows);
    assert.deepEqual(rows.map((l) => [l.name, l.ratio, l.reason]), [['onnx::Conv_126', 0.5, '4 of 8 units kept (group 0, coupled with onnx::Conv_132)']]);
    assert.deepEqual(r.groups.filter((g) => g.removed > 0).map((g) => [g.id, g.layers, g.removed]), [[0, ['onnx::Conv_126', 'onnx::Conv_132'], 4]]);
  } finally {
    c.close();
  }
});

test("a group the rules accept but whose edits cannot apply (a Reshape target two dynamic dims follow) is refused late, with the Reshape's reason everywhere", () => {
  // x [B, T, 4] → MatMul(W1) → Relu → Reshape to [T, B, 6], the target computed from Shape → Gather → Concat → MatMul(W2).
  const tmp = tempDir();
  const file = writeTestGraph(path.join(tmp.dir, 'late.onnx'), {
    inputs: [{ name: 'x', dims: ['B', 'T', 4] }],
    outputs: [{ name: 'y', dims: ['T', 'B', 3] }],
    nodes: [
      { name: 'm1', opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
      { name: 'relu', opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 'shape', opType: 'Shape', inputs: ['r'], outputs: ['s'] },
      { name: 'g1', opType: 'Gather', inputs: ['s', 'i1'], outputs: ['a'] },
      { name: 'g0', opType: 'Gather', inputs: ['s', 'i0'], outputs: ['b'] },
      { name: 'cat', opType: 'Concat', inputs: ['a', 'b', 'c6'], outputs: ['tgt'], ints: { axis: 0 } },
      { name: 'reshape', opType: 'Reshape', inputs: ['r', 'tgt'], outputs: ['rs'] },
      { name: 'm2', opType: 'MatMul', inputs: ['rs', 'W2'], outputs: ['y'] },
    ],
    weights: { W1: [4, 6], W2: [6, 3] },
    ints: { i1: [1], i0: [0], c6: [6] },
  });
  const why = "the shape arithmetic of Reshape 'reshape' cannot follow the pruned sizes: dims 1 and more follow the inputs' sizes in ways one constant cannot say";
  const c = openCheckpoint(file);
  try {
    const a = analyseStructure(c);
    assert.deepEqual([...a.late], [[0, why]]);
    assert.equal(a.planned.length, 0);
    assert.equal(layerRefusal(a, 'W1'), `group 0: ${why}`);
    const s = describeStructure(c, a);
    assert.deepEqual(s.groups.map((g) => g.refused), [why, "it reaches the graph output 'y'"]);
    assert.deepEqual(s.refusals, { W1: `group 0: ${why}`, W2: "group 1: it reaches the graph output 'y'" });
    const rows: PruneLayerReport[] = [];
    const r = pruneOnnxNodes(c, c.weights, { method: 'node', ratio: 0.5 }, rows);
    assert.deepEqual(r.groups.map((g) => [g.id, g.units, g.removed, g.refused]), [[0, 6, 0, why], [1, 0, 0, "it reaches the graph output 'y'"]]);
    assert.deepEqual(rows.map((x) => x.reason), [`own outputs kept: group 0: ${why}`, "own outputs kept: group 1: it reaches the graph output 'y'"]);
  } finally {
    c.close();
    tmp.cleanup();
  }
});

/**
 * The graph edits of singular-value pruning (pruneSingularEdits), on hand-built graphs: which
 * weights are factorised into two layers and which get the dense rank-r reconstruction, with the
 * exact nodes, initializers, parameter counts and reasons. The numbers inside the factors are
 * checked against onnxruntime in test/integration/pruneSingular.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GraphOp, LayerInfo, WeightTensor } from '../../src/core/checkpoint.ts';
import { pruneSingular, reconstruct } from '../../src/core/pruning/singular.ts';
import { pruneSingularEdits } from '../../src/core/pruning/singularEdits.ts';
import type { PruneLayerReport } from '../../src/core/pruning/types.ts';
import { sasSamples } from '../../src/core/analysis/prng.ts';

function weight(name: string, shape: number[], layer: Partial<LayerInfo> & Pick<LayerInfo, 'kind' | 'op'>, seed = 1): WeightTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = Float32Array.from(sasSamples(1.7, size, seed));
  return {
    name,
    dtype: 'float32',
    shape,
    size,
    byteLength: size * 4,
    layer: { opType: '', inputIndex: 1, layout: { kind: 'identity' }, inferred: false, ...layer },
    onnx: { origin: 'initializer', graph: '', dataType: 1 },
    readBytes: () => new Uint8Array(values.buffer.slice(0)),
    read: () => values.slice(),
  };
}

const floats = (raw: Uint8Array) => new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));

const op = (name: string, opType: string, inputs: string[], attributes: Record<string, unknown> = {}, outputs = [`${name}_y`]): GraphOp => ({ name, opType, inputs, outputs, graph: '', attributes });

function run(ops: GraphOp[], weights: WeightTensor[], ratio = 0.75, centre: 'none' | 'median' = 'none') {
  const layers: PruneLayerReport[] = [];
  const planned = pruneSingularEdits(ops, weights, { method: 'singular', ratio, centre }, () => ratio, layers);
  const e = planned.edits;
  // pruneSingularEdits always fills the four edit kinds (OnnxEdits has them optional).
  return { edits: { replace: e.replace!, remove: e.remove!, add: e.add!, replaceNodes: e.replaceNodes! }, removed: planned.removed, layers };
}

test('a Gemm weight (transB = 1) read by one node: MatMul into rank r, then the Gemm with its bias, alpha and beta', () => {
  const w = weight('fc.weight', [8, 12], { kind: 'dense', op: 'fc', opType: 'Gemm' });
  const gemm = op('fc', 'Gemm', ['x', 'fc.weight', 'fc.bias'], { transB: 1, alpha: 0.5, beta: 2 });
  const r = run([gemm], [w]);
  const f = pruneSingular(Float64Array.from(w.read()), 8, 12, 0.75);
  assert.equal(f.rank, 2); // ⌈8·(1 − 0.75)⌉
  assert.deepEqual(r.edits.replaceNodes.get('fc'), [
    { name: 'fc.svd_in', opType: 'MatMul', inputs: ['x', 'fc.weight.svd_in'], outputs: ['fc_y.svd_hidden'] },
    { name: 'fc.svd_out', opType: 'Gemm', inputs: ['fc_y.svd_hidden', 'fc.weight.svd_out', 'fc.bias'], outputs: ['fc_y'], floats: { alpha: 0.5, beta: 2 } },
  ]);
  assert.deepEqual(r.edits.add.map((a) => [a.name, a.dims, a.dataType]), [['fc.weight.svd_in', [12, 2], 1], ['fc.weight.svd_out', [2, 8], 1]]);
  // x·Wᵀ = (x·A)·B with A = Rᵀ (12×2) and B = Lᵀ (2×8): A·B = Wᵣᵀ.
  const a = floats(r.edits.add[0]!.raw);
  const b = floats(r.edits.add[1]!.raw);
  const dense = reconstruct(f, 8, 12);
  for (let i = 0; i < 8; i++) for (let j = 0; j < 12; j++) assert.ok(Math.abs(a[j * 2]! * b[i]! + a[j * 2 + 1]! * b[8 + i]! - dense[i * 12 + j]!) < 1e-5);
  assert.deepEqual([...r.edits.remove], ['fc.weight']);
  assert.equal(r.edits.replace.size, 0);
  assert.equal(r.removed, 96 - 2 * 20);
  assert.deepEqual(r.layers, [{ name: 'fc.weight', method: 'singular', ratio: 0.75, paramsBefore: 96, relErr: f.relErr, skipped: false, paramsAfter: 40, reason: 'factorised into 12×2 and 2×8' }]);
  // Without alpha and beta the Gemm gets their defaults, 1 and 1.
  const plain = run([op('fc', 'Gemm', ['x', 'fc.weight'], { transB: 1 })], [w]);
  assert.deepEqual(plain.edits.replaceNodes.get('fc')![1], { name: 'fc.svd_out', opType: 'Gemm', inputs: ['fc_y.svd_hidden', 'fc.weight.svd_out'], outputs: ['fc_y'], floats: { alpha: 1, beta: 1 } });
});

test('a MatMul weight (in × out): MatMul → MatMul, no bias', () => {
  const w = weight('proj', [12, 8], { kind: 'dense', op: 'mm', opType: 'MatMul', layout: { kind: 'transpose' } });
  const r = run([op('mm', 'MatMul', ['h', 'proj'], {}, ['out'])], [w]);
  assert.deepEqual(r.edits.replaceNodes.get('mm'), [
    { name: 'mm.svd_in', opType: 'MatMul', inputs: ['h', 'proj.svd_in'], outputs: ['out.svd_hidden'] },
    { name: 'mm.svd_out', opType: 'MatMul', inputs: ['out.svd_hidden', 'proj.svd_out'], outputs: ['out'] },
  ]);
  assert.deepEqual(r.edits.add.map((a) => [a.name, a.dims]), [['proj.svd_in', [12, 2]], ['proj.svd_out', [2, 8]]]);
  assert.equal(r.layers[0]!.reason, 'factorised into 12×2 and 2×8');
});

test('a conv kernel: a Conv with r filters (stride, pads, dilations kept), then a 1×1 Conv with the bias', () => {
  const w = weight('conv.weight', [16, 4, 3, 3], { kind: 'conv', op: 'conv', opType: 'Conv' });
  const attrs = { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, __domain: '', __tensorDataType: 1 }; // reader-internal keys (__) are not attributes
  const r = run([op('conv', 'Conv', ['img', 'conv.weight', 'conv.bias'], attrs, ['feat'])], [w], 0.75);
  // rank ⌈16·0.25⌉ = 4: 4·(16 + 36) = 208 < 576
  assert.deepEqual(r.edits.replaceNodes.get('conv'), [
    { name: 'conv.svd_in', opType: 'Conv', inputs: ['img', 'conv.weight.svd_in'], outputs: ['feat.svd_hidden'], ints: { group: 1 }, intLists: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] } },
    { name: 'conv.svd_out', opType: 'Conv', inputs: ['feat.svd_hidden', 'conv.weight.svd_out', 'conv.bias'], outputs: ['feat'] },
  ]);
  assert.deepEqual(r.edits.add.map((a) => [a.name, a.dims]), [['conv.weight.svd_in', [4, 4, 3, 3]], ['conv.weight.svd_out', [16, 4, 1, 1]]]);
  assert.equal(r.removed, 576 - 208);
  assert.deepEqual([r.layers[0]!.paramsAfter, r.layers[0]!.reason], [208, 'factorised into Conv 4×4×3×3 and 1×1 Conv 16×4']);
  // auto_pad other than NOTSET is refused by name; NOTSET is the default and is carried over.
  assert.throws(() => run([op('conv', 'Conv', ['img', 'conv.weight'], { auto_pad: 'SAME_UPPER' })], [w]), { name: 'UsageError', message: 'conv uses auto_pad=SAME_UPPER, which the conv factorisation does not carry over yet' });
  const notset = run([op('conv', 'Conv', ['img', 'conv.weight'], { auto_pad: 'NOTSET' })], [w]);
  assert.deepEqual(notset.edits.replaceNodes.get('conv')![0]!.ints, {});
});

test('the dense rank-r reconstruction instead, each with its reason', () => {
  const dense = (name: string, op_: string, opType = 'Gemm') => weight(name, [8, 12], { kind: 'dense', op: op_, opType });
  const reconstructed = (ops: GraphOp[], w: WeightTensor, ratio = 0.75) => {
    const r = run(ops, [w], ratio);
    assert.equal(r.edits.replaceNodes.size, 0, w.name);
    assert.equal(r.edits.add.length, 0);
    assert.equal(r.edits.remove.size, 0);
    const f = pruneSingular(Float64Array.from(w.read()), 8, 12, ratio);
    const written = floats(r.edits.replace.get(w.name)!.raw);
    const expected = reconstruct(f, 8, 12);
    written.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-5));
    assert.deepEqual(r.edits.replace.get(w.name)!.dims, w.shape);
    assert.equal(r.layers[0]!.paramsAfter, 96);
    assert.equal(r.removed, 0);
    return r.layers[0]!.reason;
  };
  const notDirect = 'dense rank-2 reconstruction written: the weight is not read directly by one node';
  const w = dense('w', 'fc');
  // Read by two nodes.
  assert.equal(reconstructed([op('fc', 'Gemm', ['x', 'w'], { transB: 1 }), op('other', 'MatMul', ['z', 'w'])], w), notDirect);
  // Its node reads it at another input than the recorded one.
  assert.equal(reconstructed([op('fc', 'Gemm', ['w', 'x'], { transB: 1 })], w), notDirect);
  // No such node.
  assert.equal(reconstructed([op('elsewhere', 'Gemm', ['x', 'w'])], w), notDirect);
  // Gemm with transA = 1, or the weight as the Gemm's / MatMul's first input.
  assert.equal(reconstructed([op('fc', 'Gemm', ['x', 'w'], { transA: 1, transB: 1 })], w), notDirect);
  assert.equal(reconstructed([op('fc', 'MatMul', ['w', 'x'])], weight('w', [8, 12], { kind: 'dense', op: 'fc', opType: 'MatMul', inputIndex: 0 })), notDirect);
  assert.equal(reconstructed([op('fc', 'Gemm', ['w', 'x'])], weight('w', [8, 12], { kind: 'dense', op: 'fc', opType: 'Gemm', inputIndex: 0 })), notDirect);
  // A dense weight read by an op that is neither Gemm nor MatMul.
  assert.equal(reconstructed([op('fc', 'Mul', ['x', 'w'])], w), notDirect);
  // Rank too high to save parameters: r·(m + n) ≥ m·n (r = 6 at ratio 0.25: 6·20 = 120 ≥ 96; r = 4.8 → 5: 100 ≥ 96).
  assert.equal(reconstructed([op('fc', 'Gemm', ['x', 'w'], { transB: 1 })], w, 0.25), 'dense rank-6 reconstruction written: rank 6 would not save parameters (6·(8+12) ≥ 8·12)');
  // Embedding and recurrent weights are never factorised.
  assert.equal(reconstructed([op('emb', 'Gather', ['w', 'ids'])], weight('w', [8, 12], { kind: 'embedding', op: 'emb', opType: 'Gather', inputIndex: 0 })), 'dense rank-2 reconstruction written: embedding layers are not factorised');
  // A conv read by a grouped Conv.
  const grouped = weight('k', [8, 4, 1, 3], { kind: 'conv', op: 'c', opType: 'Conv' });
  const r = run([op('c', 'Conv', ['x', 'k'], { group: 2 })], [grouped]);
  assert.equal(r.layers[0]!.reason, 'dense rank-2 reconstruction written: conv layers are not factorised');
  assert.equal(r.edits.replace.size, 1);
  // An ungrouped conv whose kernel is read twice: the conv path needs a direct read too.
  const shared = run([op('c', 'Conv', ['x', 'k']), op('d', 'Conv', ['y', 'k'])], [grouped]);
  assert.equal(shared.layers[0]!.reason, 'dense rank-2 reconstruction written: the weight is not read directly by one node');
  // A dense weight whose node is a Conv is not factorised as a conv either.
  const odd = run([op('fc', 'Conv', ['x', 'w'])], [w]);
  assert.equal(odd.layers[0]!.reason, notDirect);
});

test('removing every singular value is refused by name', () => {
  const w = weight('fc.weight', [8, 12], { kind: 'dense', op: 'fc', opType: 'Gemm' });
  assert.throws(() => run([op('fc', 'Gemm', ['x', 'fc.weight'], { transB: 1 })], [w], 1), { name: 'UsageError', message: "pruning 'fc.weight' would remove every singular value; refused" });
});

test('median centring adds the rank-one median term to the kept rank', () => {
  const w = weight('fc.weight', [8, 12], { kind: 'dense', op: 'fc', opType: 'Gemm' });
  const r = run([op('fc', 'Gemm', ['x', 'fc.weight'], { transB: 1 })], [w], 0.75, 'median');
  assert.deepEqual(r.edits.add.map((a) => a.dims), [[12, 3], [3, 8]]);
  assert.equal(r.layers[0]!.reason, 'factorised into 12×3 and 3×8');
  // Without a centre option the default is none.
  const layers: PruneLayerReport[] = [];
  const d = pruneSingularEdits([op('fc', 'Gemm', ['x', 'fc.weight'], { transB: 1 })], [w], { method: 'singular', ratio: 0.75 }, () => 0.75, layers);
  assert.deepEqual(d.edits.add!.map((a) => a.dims), [[12, 2], [2, 8]]);
});

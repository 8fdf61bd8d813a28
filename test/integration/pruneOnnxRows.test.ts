/**
 * The rows and totals of an ONNX magnitude prune, recomputed from the written file: which weights
 * each dtype lets it rewrite (and the exact reason for the others), the rows in the model's order,
 * each row's ratio from the zeros in the file, the sparse-size estimate from the element sizes, and
 * the refusal to empty a layer under one global threshold.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { fixture, tempDir } from '../helpers.ts';
import { readWeights, relErrOf } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);
const DTYPES = fixture('onnx', 'dtypes.onnx');
const CONSTANTS = fixture('onnx', 'constants.onnx');
/** Bytes per stored element, by hand (not from the dtype module). */
const ELEMENT_BYTES: Record<string, number> = { float16: 2, bfloat16: 2, float32: 4, float64: 8 };

test('dtypes.onnx at 0.9: every float dtype is pruned, quantized weights are refused by name, and each row is what the file holds', async () => {
  const r = await pruneModel(DTYPES, out('d9.onnx'), { method: 'magnitude', ratio: 0.9 });
  // Rows in the model's weight order, quantized ones included.
  assert.deepEqual(r.layers.map((l) => [l.name, l.skipped]), [
    ['w_f16', false], ['w_bf16', false], ['w_f16_typed', false], ['w_f32_typed', false], ['w_f64', false], ['w_q8', true], ['w_qu8', true],
  ]);
  for (const l of r.layers.filter((x) => x.skipped)) assert.equal(l.reason, 'quantized weights are not pruned yet', l.name);
  const before = readWeights(DTYPES);
  const written = readWeights(out('d9.onnx'));
  const src = openCheckpoint(DTYPES);
  const dst = openCheckpoint(out('d9.onnx'));
  let zeroedTotal = 0;
  let sparseSaving = 0;
  for (const l of r.layers) {
    const a = src.weights.find((w) => w.name === l.name)!;
    const b = dst.weights.find((w) => w.name === l.name)!;
    assert.equal(b.dtype, a.dtype, `${l.name} keeps its dtype`);
    if (l.skipped) {
      assert.deepEqual(Buffer.from(b.readBytes()), Buffer.from(a.readBytes()), `${l.name} is untouched`);
      assert.deepEqual([l.ratio, l.paramsBefore, l.paramsAfter, l.relErr], [0, a.size, a.size, null]);
      continue;
    }
    const w = before.get(l.name)!.stored;
    const p = written.get(l.name)!.stored;
    const zeroed = p.filter((v, i) => v === 0 && w[i] !== 0).length;
    assert.equal(zeroed, Math.floor(0.9 * w.length), l.name);
    assert.equal(l.ratio, zeroed / w.length, l.name);
    assert.deepEqual([l.paramsBefore, l.paramsAfter], [w.length, w.length - zeroed], l.name);
    assert.ok(Math.abs(l.relErr! - relErrOf(w, p)) < 1e-6, `${l.name}: reported ${l.relErr}, written ${relErrOf(w, p)}`);
    zeroedTotal += zeroed;
    // COO with int64 indices: (element + 8) bytes per kept value, counted only where it is smaller.
    const dense = w.length * ELEMENT_BYTES[a.dtype]!;
    const coo = (w.length - zeroed) * (ELEMENT_BYTES[a.dtype]! + 8);
    if (coo < dense) sparseSaving += dense - coo;
  }
  src.close();
  dst.close();
  assert.ok(sparseSaving > 0);
  assert.equal(r.paramsAfter, r.paramsBefore - zeroedTotal);
  assert.deepEqual(r.bytes, {
    before: fs.statSync(DTYPES).size,
    after: fs.statSync(out('d9.onnx')).size,
    afterGzip: r.bytes.afterGzip,
    afterSparse: fs.statSync(out('d9.onnx')).size - sparseSaving,
    afterSparseIsEstimate: true,
  });
  assert.deepEqual(r.notes, []);
});

test('no sparse saving is claimed where the pruned entries hold the median, or where COO would not be smaller (half of the entries kept)', async () => {
  const r = await pruneModel(DTYPES, out('dm.onnx'), { method: 'magnitude', ratio: 0.9, centre: 'median' });
  assert.equal(r.bytes.afterSparse, fs.statSync(out('dm.onnx')).size);
  assert.equal(r.bytes.afterSparseIsEstimate, true);
  // At 0.5 every layer keeps n/2 values: (2 or 4 or 8) + 8 bytes each is more than the dense n·(2 or 4 or 8).
  const half = await pruneModel(DTYPES, out('d5.onnx'), { method: 'magnitude', ratio: 0.5 });
  assert.equal(half.bytes.afterSparse, fs.statSync(out('d5.onnx')).size);
});

test('constants.onnx: the main-graph Constant is pruned, the If/Loop bodies are refused by subgraph, rows in the model\'s order', async () => {
  const r = await pruneModel(CONSTANTS, out('c5.onnx'), { method: 'magnitude', ratio: 0.5 });
  const reason = (g: string) => `it lives in the subgraph ${g} (weights in If/Loop bodies are not rewritten)`;
  assert.deepEqual(r.layers.map((l) => [l.name, l.skipped, l.reason]), [
    ['w1', false, undefined],
    ['w_else', true, reason('branch/else_branch')],
    ['w_then', true, reason('branch/then_branch')],
    ['w_loop', true, reason('loop/body')],
    ['w_loop_init', true, reason('loop/body')],
  ]);
  const before = readWeights(CONSTANTS);
  const written = readWeights(out('c5.onnx'));
  for (const [name, w] of before) {
    const p = written.get(name)!.stored;
    const zeroed = p.filter((v, i) => v === 0 && w.stored[i] !== 0).length;
    assert.equal(zeroed, name === 'w1' ? 24 : 0, name);
  }
  assert.equal(r.paramsAfter, r.paramsBefore - 24);
});

test('one global threshold that would empty a layer is refused with its name, and nothing is written', async () => {
  await assert.rejects(pruneModel(DTYPES, out('g6.onnx'), { method: 'magnitude', ratio: 0.6, global: true }), { message: "pruning 'w_f64' would remove all 6 weights; refused" });
  assert.equal(fs.existsSync(out('g6.onnx')), false);
  assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.includes('.prunescope-')), []);
});

test('node pruning lets the dependency analysis decide: the QDQ CNN\'s quantized convolutions are pruned, not refused for their dtype', async () => {
  const r = await pruneModel(fixture('onnx', 'zoo', 'qdq_cnn_op13.onnx'), out('q.onnx'), { method: 'node', ratio: 0.3 });
  const src = openCheckpoint(fixture('onnx', 'zoo', 'qdq_cnn_op13.onnx'));
  const quantized = new Set(src.weights.filter((w) => w.quantized).map((w) => w.name));
  src.close();
  const pruned = r.layers.filter((l) => !l.skipped && l.paramsAfter < l.paramsBefore);
  assert.ok(pruned.length >= 4 && pruned.every((l) => quantized.has(l.name)), pruned.map((l) => l.name).join(', '));
  assert.equal(r.layers.some((l) => l.reason === 'quantized weights are not pruned yet'), false);
});

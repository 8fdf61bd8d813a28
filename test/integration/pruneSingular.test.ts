import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { analyzeLayer, DEFAULT_SETTINGS } from '../../src/core/analysis/analyzeLayer.ts';
import { readOnnx } from '../../src/core/formats/onnx/readOnnx.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyOnnx } from '../../src/core/runtime/verifyOnnx.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { fixture, onnxPythonCheck, tempDir } from '../helpers.ts';
import { matmul, readWeights, relErrOf, transposeOf } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

test('mlp.onnx: the factorised model equals the same model with each weight replaced by its dense rank-r product, to 1e-5', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-r50.onnx'), { method: 'singular', ratio: 0.5 });
  assert.ok(r.layers.every((l) => /^factorised into/.test(l.reason!)), JSON.stringify(r.layers.map((l) => l.reason)));
  // The dense reference: W ≈ L·R from the two factors the pruned model holds (MatMul x·A then ·B: Wᵀ = A·B).
  const p = readOnnx(out('mlp-r50.onnx'));
  const src = readOnnx(fixture('onnx', 'mlp.onnx'));
  const replace = new Map();
  for (const w of src.weights.filter((x) => x.layer.kind === 'dense')) {
    const a = p.weights.find((x) => x.name === `${w.name}.svd_in`)!;
    const b = p.weights.find((x) => x.name === `${w.name}.svd_out`)!;
    const [n, k] = a.shape as [number, number];
    const m = b.shape[1]!;
    const av = a.read();
    const bv = b.read();
    const dense = new Float32Array(m * n); // W is [m, n] (Gemm transB = 1): W[i, j] = Σ_t A[j, t]·B[t, i]
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) dense[i * n + j] += av[j * k + t]! * bv[t * m + i]!;
    replace.set(w.name, { dims: w.shape, dataType: 1, raw: new Uint8Array(dense.buffer) });
  }
  p.close();
  src.close();
  writeOnnxWithEdits(fixture('onnx', 'mlp.onnx'), out('mlp-r50-dense.onnx'), { replace });
  const v = await verifyOnnx(out('mlp-r50-dense.onnx'), out('mlp-r50.onnx'));
  assert.ok(v.maxAbs < 1e-5, `max |Δ| ${v.maxAbs}`);
});

test('mlp.onnx at rank 25%: every Gemm is factorised, the initializer bytes drop by the predicted amount, and it runs', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-r25.onnx'), { method: 'singular', ratio: 0.75 });
  const before = readOnnx(fixture('onnx', 'mlp.onnx'));
  const after_ = readOnnx(out('mlp-r25.onnx'));
  const bytes = (ck: typeof before) => ck.weights.reduce((a, w) => a + w.byteLength, 0);
  let predicted = 0;
  for (const l of r.layers) {
    assert.match(l.reason!, /^factorised into/);
    predicted += (l.paramsBefore - l.paramsAfter) * 4;
  }
  assert.equal(bytes(before) - bytes(after_), predicted);
  assert.ok(r.bytes.after < r.bytes.before, `${r.bytes.after} vs ${r.bytes.before}`);
  // Each Gemm became MatMul → Gemm; every other node is unchanged.
  assert.equal(after_.ops.filter((o) => o.opType === 'MatMul').length, 3);
  assert.equal(after_.ops.filter((o) => o.opType === 'Gemm').length, 3);
  assert.deepEqual(after_.ops.filter((o) => o.opType === 'Relu'), before.ops.filter((o) => o.opType === 'Relu'));
  const v = await verifyOnnx(fixture('onnx', 'mlp.onnx'), out('mlp-r25.onnx'));
  assert.ok(v.samples === 32 && v.cosine > 0.9 && v.relErr < 0.5 && v.maxAbs > 0.05, JSON.stringify(v)); // measured: cosine 0.929, rel. error 0.421
  before.close();
  after_.close();
});

test('each layer\'s singular-value error is the one recomputed from the written tensors (factors multiplied out), and equals its analysis curve', async () => {
  const r = await pruneModel(fixture('onnx', 'lstm.onnx'), out('lstm-sv.onnx'), { method: 'singular', ratio: 0.5, centre: 'median' });
  const before = readWeights(fixture('onnx', 'lstm.onnx'));
  const written = readWeights(out('lstm-sv.onnx'));
  const ck = readOnnx(fixture('onnx', 'lstm.onnx'));
  assert.deepEqual(r.layers.map((l) => l.reason!.split(':')[0]), [
    'dense rank-9 reconstruction written',
    'factorised into 24×4 and 4×5',
    'dense rank-9 reconstruction written',
    'dense rank-13 reconstruction written',
  ]);
  for (const l of r.layers) {
    const w = before.get(l.name)!;
    const rows = w.canonicalShape[0]!;
    const cols = w.canonical.length / rows;
    let approx: Float64Array;
    const a = written.get(`${l.name}.svd_in`);
    if (a) {
      // MatMul(x, A) then MatMul(·, B): Wᵀ (cols × rows) = A·B.
      const b = written.get(`${l.name}.svd_out`)!;
      approx = transposeOf(matmul(a.stored, b.stored, cols, a.shape[1]!, rows), cols, rows);
      assert.equal(written.has(l.name), false, `${l.name}: the factorised weight is gone`);
    } else approx = written.get(l.name)!.canonical;
    const fromFile = relErrOf(w.canonical, approx, { columns: cols });
    assert.ok(Math.abs(l.relErr! - fromFile) < 1e-6, `${l.name}: reported ${l.relErr}, written ${fromFile}`);
    const analysis = await analyzeLayer(ck.weights.find((x) => x.name === l.name)!, DEFAULT_SETTINGS);
    assert.ok(Math.abs(fromFile - analysis.curves.singular![analysis.curves.ratios.indexOf(0.5)]!) < 1e-6, l.name);
  }
  ck.close();
  const v = await verifyOnnx(fixture('onnx', 'lstm.onnx'), out('lstm-sv.onnx'));
  assert.ok(v.samples === 32 && v.cosine > 0.95 && v.maxAbs > 0.01 && v.maxAbs < 0.15, JSON.stringify(v)); // measured: cosine 0.968, max |Δ| 0.098
});

test('onnx.checker accepts the factorised models (when Debian\'s python3-onnx is installed)', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status !== 0) return t.skip('python3-onnx is not installed');
  for (const f of ['mlp-r25.onnx', 'lstm-sv.onnx', 'mlp-r50.onnx']) {
    assert.ok(fs.existsSync(out(f)), f);
    const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', out(f)], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', `${f}: ${r.stderr}`);
  }
});

test('factorised Conv layers compute exactly the dense rank-r approximation (1e-5), with stride/padding kept', async (t) => {
  const { pruneSingular, reconstruct } = await import('../../src/core/pruning/singular.ts');
  const { writeOnnxWithEdits } = await import('../../src/core/formats/onnx/writeOnnx.ts');
  const r = await pruneModel(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-fact.onnx'), { method: 'singular', ratio: 0.75 });
  assert.deepEqual(r.layers.map((l) => l.reason!.split(' ').slice(0, 3).join(' ')), ['factorised into Conv', 'factorised into Conv', 'factorised into 12×2']);
  // The same approximation written as dense weights (no graph change) must give the same outputs.
  const ck = readOnnx(fixture('onnx', 'cnn_plain_bn.onnx'));
  const replace = new Map();
  for (const l of r.layers) {
    const w = ck.weights.find((x) => x.name === l.name)!;
    const m = w.layer.layout.kind === 'identity' ? w.shape[0]! : w.shape[1]!;
    const n = w.size / m;
    const f = pruneSingular(Float64Array.from(w.read()), m, n, 0.75);
    replace.set(w.name, { dims: w.shape, dataType: 1, raw: new Uint8Array(Float32Array.from(reconstruct(f, m, n)).buffer) });
  }
  ck.close();
  writeOnnxWithEdits(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-dense-equivalent.onnx'), { replace });
  const v = await verifyOnnx(out('cnn-dense-equivalent.onnx'), out('cnn-fact.onnx'));
  assert.ok(v.maxAbs < 1e-5, `max |Δ| ${v.maxAbs}`);
  const after = readOnnx(out('cnn-fact.onnx'));
  const convs = after.ops.filter((o) => o.opType === 'Conv');
  assert.equal(convs.length, 4);
  assert.deepEqual(convs[0]!.attributes['pads'], [1, 1, 1, 1]);
  assert.deepEqual(convs[0]!.attributes['strides'], [1, 1]);
  after.close();
  await onnxPythonCheck(t, 'onnx.checker (full) accepts it', 'onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', out('cnn-fact.onnx'), 'ok');
});

test('external data output (forced here; automatic past 2 GiB): <out>.data holds the tensors, and the model runs the same', async (t) => {
  await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-inline.onnx'), { method: 'singular', ratio: 0.5 });
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-ext.onnx'), { method: 'singular', ratio: 0.5, externalData: 'always' });
  assert.ok(fs.existsSync(out('mlp-ext.onnx.data')));
  const data = fs.statSync(out('mlp-ext.onnx.data')).size;
  assert.ok(data > 1024, String(data)); // tensors over 1 KiB moved out; smaller ones stay inline
  assert.ok(fs.statSync(out('mlp-ext.onnx')).size < fs.statSync(out('mlp-inline.onnx')).size - 1024);
  assert.match(r.notes.join(' '), /mlp-ext\.onnx\.data/);
  const v = await verifyOnnx(out('mlp-inline.onnx'), out('mlp-ext.onnx'));
  assert.equal(v.maxAbs, 0);
  const ck = readOnnx(out('mlp-ext.onnx'));
  assert.ok(ck.weights.filter((w) => w.size > 256).length > 0);
  ck.close();
  await onnxPythonCheck(t, 'onnx.checker accepts it (external data beside it)', 'onnx.checker.check_model(onnx.load(sys.argv[1])); print("ok")', out('mlp-ext.onnx'), 'ok');
});

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
import { encodeFloats } from '../../src/core/tensor/dtype.ts';
import { fixture, onnxPythonCheck, runCliAsync, tempDir } from '../helpers.ts';
import { medianOf, readWeights, relErrOf } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

for (const name of ['mlp', 'cnn_bn', 'lstm', 'mlp_external']) {
  test(`${name}.onnx: the writer re-encoding every main-graph weight from its decoded values reproduces the outputs exactly`, async () => {
    const ck = readOnnx(fixture('onnx', `${name}.onnx`));
    const replace = new Map(
      ck.weights
        .filter((w) => w.onnx?.origin === 'initializer' && w.onnx.graph === '' && !w.quantized)
        .map((w) => [w.name, { dims: w.shape, dataType: w.onnx!.dataType, raw: encodeFloats(w.read(), w.dtype as 'float32') }]),
    );
    ck.close();
    writeOnnxWithEdits(fixture('onnx', `${name}.onnx`), out(`${name}-r0.onnx`), { replace });
    const v = await verifyOnnx(fixture('onnx', `${name}.onnx`), out(`${name}-r0.onnx`));
    assert.equal(v.maxAbs, 0);
    assert.equal(v.cosine, 1);
  });
}

test('--ratio 0 removes nothing: refused, and nothing is written', async () => {
  const r = await runCliAsync(['prune', fixture('onnx', 'mlp.onnx'), '--method', 'magnitude', '--ratio', '0', '-o', out('nothing.onnx')]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'prunescope: error: magnitude pruning would remove nothing, so nothing was written (3 layers: its ratio rounds to zero units)\n');
  assert.equal(fs.existsSync(out('nothing.onnx')), false);
});

test('each pruned layer\'s reported error is the one recomputed from the written tensors, and equals its analysis curve (median-centred)', async () => {
  const r = await pruneModel(fixture('onnx', 'cnn_bn.onnx'), out('cnn-half.onnx'), { method: 'magnitude', ratio: 0.5, centre: 'median' });
  const before = readWeights(fixture('onnx', 'cnn_bn.onnx'));
  const written = readWeights(out('cnn-half.onnx'));
  const ck = readOnnx(fixture('onnx', 'cnn_bn.onnx'));
  assert.ok(r.layers.filter((x) => !x.skipped).length >= 4);
  for (const l of r.layers.filter((x) => !x.skipped)) {
    const w = before.get(l.name)!.stored;
    const p = written.get(l.name)!.stored;
    const fromFile = relErrOf(w, p, 'median');
    assert.ok(Math.abs(l.relErr! - fromFile) < 1e-6, `${l.name}: reported ${l.relErr}, written ${fromFile}`);
    // The pruned entries hold the median (float32), and they are the ⌊n/2⌋ closest to it.
    const c = Math.fround(medianOf(w));
    const changed = Array.from(w.keys()).filter((i) => p[i] !== w[i]);
    assert.equal(p.filter((v) => v === c).length - w.filter((v) => v === c).length, Math.floor(0.5 * w.length), l.name);
    const kept = Array.from(w.keys()).filter((i) => p[i] !== c).map((i) => Math.abs(w[i]! - c));
    assert.ok(Math.max(...changed.map((i) => Math.abs(w[i]! - c))) <= Math.min(...kept) + 1e-7, `${l.name}: a larger weight was pruned before a smaller one`);
    assert.equal(l.paramsAfter, l.paramsBefore - Math.floor(0.5 * l.paramsBefore));
    const analysis = await analyzeLayer(ck.weights.find((x) => x.name === l.name)!, DEFAULT_SETTINGS);
    assert.ok(Math.abs(fromFile - analysis.curves.magnitude![analysis.curves.ratios.indexOf(0.5)]!) < 1e-6, l.name);
  }
  ck.close();
});

test('the rewrite keeps opset, producer, every node and every untouched tensor byte; only pruned tensors change', async () => {
  await pruneModel(fixture('onnx', 'lstm.onnx'), out('lstm-30.onnx'), { method: 'magnitude', ratio: 0.3 });
  const a = readOnnx(fixture('onnx', 'lstm.onnx'));
  const b = readOnnx(out('lstm-30.onnx'));
  assert.equal(b.opset, a.opset);
  assert.equal(b.producer, a.producer);
  assert.deepEqual(b.ops, a.ops);
  for (const w of a.weights) {
    const w2 = b.weights.find((x) => x.name === w.name)!;
    assert.deepEqual(w2.shape, w.shape);
    const same = Buffer.compare(Buffer.from(w.readBytes()), Buffer.from(w2.readBytes())) === 0;
    const pruned = ['dense', 'embedding', 'recurrent'].includes(w.layer.kind);
    assert.equal(same, !pruned, `${w.name} (${w.layer.kind})`);
    if (pruned) {
      const v = w2.read();
      assert.equal(v.filter((x) => x === 0).length, Math.floor(0.3 * w.size), w.name);
    }
  }
  a.close();
  b.close();
});

test('global magnitude pruning removes ⌊r·total⌋ weights with one threshold across layers', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-global.onnx'), { method: 'magnitude', ratio: 0.6, global: true });
  const total = r.layers.reduce((a, l) => a + l.paramsBefore, 0);
  assert.equal(total - r.layers.reduce((a, l) => a + l.paramsAfter, 0), Math.floor(0.6 * total));
  assert.notEqual(r.layers[0]!.ratio, r.layers[1]!.ratio); // per-layer ratios differ under one threshold
  // One threshold over all layers, read from the written file: every weight zeroed is no larger than
  // every weight kept, in any layer (per-layer pruning at 0.6 breaks this on mlp.onnx).
  const before = readWeights(fixture('onnx', 'mlp.onnx'));
  const written = readWeights(out('mlp-global.onnx'));
  let maxPruned = 0;
  let minKept = Infinity;
  for (const l of r.layers) {
    const w = before.get(l.name)!.stored;
    const p = written.get(l.name)!.stored;
    let zeroed = 0;
    w.forEach((v, i) => {
      if (p[i] === 0 && v !== 0) {
        maxPruned = Math.max(maxPruned, Math.abs(v));
        zeroed++;
      } else {
        assert.equal(p[i], v, `${l.name}[${i}] changed but was not zeroed`);
        if (v !== 0) minKept = Math.min(minKept, Math.abs(v));
      }
    });
    assert.equal(zeroed, l.paramsBefore - l.paramsAfter, l.name);
  }
  assert.ok(maxPruned <= minKept, `a weight of magnitude ${maxPruned} was pruned while ${minKept} was kept`);
});

test('ε-targeted pruning keeps every layer\'s error below ε, and --verify reports the deviation', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-eps.onnx'), { method: 'magnitude', eps: 0.1, verify: true });
  const before = readWeights(fixture('onnx', 'mlp.onnx'));
  const written = readWeights(out('mlp-eps.onnx'));
  for (const l of r.layers) {
    const fromFile = relErrOf(before.get(l.name)!.stored, written.get(l.name)!.stored);
    assert.ok(fromFile < 0.1 && fromFile > 0.05 && Math.abs(fromFile - l.relErr!) < 1e-6, `${l.name}: reported ${l.relErr}, written ${fromFile}`);
  }
  assert.ok(r.verify && r.verify.cosine > 0.99 && r.verify.samples === 32, JSON.stringify(r.verify));
  assert.ok(r.bytes.afterGzip < r.bytes.after);
});

test('onnx.checker accepts the pruned model (when Debian\'s python3-onnx is installed)', (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip('python3-onnx is not installed');
  for (const f of ['cnn-half.onnx', 'lstm-30.onnx', 'mlp-global.onnx', 'mlp_external-r0.onnx']) {
    const r = spawnSync('/usr/bin/python3', ['-c', `import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1])); print('ok')`, out(f)], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', `${f}: ${r.stderr}`);
  }
});

test('bad prune options fail before any work, with exit 2 and one line', async () => {
  const model = fixture('onnx', 'mlp.onnx');
  const cases: Array<[string[], RegExp]> = [
    [['--method', 'magnitude', '--ratio', '1'], /--ratio must be in \[0, 1\), not 1/],
    [['--method', 'magnitude', '--eps', '0'], /--eps must be > 0, not 0/],
    [['--method', 'magnitude', '--ratio', '0.5', '--eps', '0.1'], /exactly one of --ratio, --eps, --budget or --plan/],
    [['--method', 'magnitude', '--ratio', '0.5', '--layers', 'nope'], /--layers nope matches no weight layer/],
    [['--method', 'singular', '--ratio', '0.5', '--global'], /--global is for magnitude and node pruning/],
    
    [['--method', 'magnitude', '--ratio', '0.5', '-o', out('x.tflite')], /must be a \.onnx file/],
  ];
  for (const [args, pattern] of cases) {
    const withOut = args.includes('-o') ? args : [...args, '-o', out('bad.onnx')];
    const r = await runCliAsync(['prune', model, ...withOut]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(fs.existsSync(out('bad.onnx')), false);
  }
});

test('prune never writes over the input, and needs --force to replace an output', async () => {
  const copy = out('victim.onnx');
  fs.copyFileSync(fixture('onnx', 'mlp.onnx'), copy);
  const before = fs.readFileSync(copy);
  const r1 = await runCliAsync(['prune', copy, '--method', 'magnitude', '--ratio', '0.5', '-o', copy]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /victim\.onnx: refusing to write over the original model: an input is never written over/);
  assert.deepEqual(fs.readFileSync(copy), before);
  const target = out('exists.onnx');
  fs.writeFileSync(target, 'keep me');
  const r2 = await runCliAsync(['prune', copy, '--method', 'magnitude', '--ratio', '0.5', '-o', target]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /already exists \(pass --force to replace it\)/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep me');
  const r3 = await runCliAsync(['prune', copy, '--method', 'magnitude', '--ratio', '0.5', '-o', target, '--force', '--json']);
  assert.equal(r3.status, 0, r3.stderr);
  const j = JSON.parse(r3.stdout);
  assert.equal(j.paramsBefore - j.paramsAfter, j.layers.reduce((a: number, l: { paramsBefore: number; paramsAfter: number }) => a + l.paramsBefore - l.paramsAfter, 0));
  assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp') || f.startsWith('.prunescope-')), []);
});

test('--data/--labels: verification runs on the user\'s samples and reports accuracy (75% by construction in numpy)', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-data.onnx'), {
    method: 'magnitude',
    ratio: 0.1,
    data: fixture('npy', 'mlp_x.npy'),
    labels: fixture('npy', 'mlp_y.npy'),
  });
  assert.equal(r.verify!.samples, 40);
  assert.equal(r.verify!.data, fixture('npy', 'mlp_x.npy'));
  assert.equal(r.verify!.accuracyBefore, 0.75);
  // 10% of the smallest weights change the outputs a little, and the predictions hardly.
  assert.ok(r.verify!.maxAbs > 0 && r.verify!.relErr < 0.1, JSON.stringify(r.verify));
  assert.ok(Math.abs(r.verify!.accuracyAfter! - 0.75) <= 0.05, String(r.verify!.accuracyAfter));
  await assert.rejects(
    pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-data2.onnx'), { method: 'magnitude', ratio: 0.5, data: fixture('npy', 'mlp_x.npy'), labels: fixture('npy', 'f4_2x3.npy') }),
    /f4_2x3\.npy: --labels must hold one class index per sample \(shape \(40,\)\), not shape \(2, 3\)/,
  );
  assert.equal(fs.existsSync(out('mlp-data2.onnx')), false);
});

test('--sparse writes SparseTensorProto initializers that onnxruntime loads: smaller file, same outputs and values as dense', async (t) => {
  const dense = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-90-dense.onnx'), { method: 'magnitude', ratio: 0.9 });
  const sparse = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-90-sparse.onnx'), { method: 'magnitude', ratio: 0.9, sparse: true });
  assert.equal(sparse.bytes.afterSparseIsEstimate, false);
  assert.deepEqual(sparse.notes, []);
  assert.ok(sparse.bytes.after < dense.bytes.after * 0.5, `${sparse.bytes.after} vs ${dense.bytes.after}`);
  const v = await verifyOnnx(out('mlp-90-dense.onnx'), out('mlp-90-sparse.onnx'));
  assert.equal(v.maxAbs, 0);
  const a = readOnnx(out('mlp-90-dense.onnx'));
  const b = readOnnx(out('mlp-90-sparse.onnx'));
  for (const w of a.weights) assert.deepEqual(b.weights.find((x) => x.name === w.name)!.read(), w.read(), w.name);
  assert.equal(b.weights.find((x) => x.name === 'fc1.weight')!.layer.kind, 'dense');
  a.close();
  b.close();
  await onnxPythonCheck(t, 'onnx.checker accepts it, with 3 sparse initializers (no full check: onnx shape inference has no sparse_tensor types)', 'm = onnx.load(sys.argv[1]); onnx.checker.check_model(m); print(len(m.graph.sparse_initializer))', out('mlp-90-sparse.onnx'), '3');
});

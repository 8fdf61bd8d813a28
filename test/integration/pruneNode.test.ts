import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { readOnnx } from '../../src/core/formats/onnx/readOnnx.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyOnnx } from '../../src/core/runtime/verifyOnnx.ts';
import { fixture, floatBytes, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);
const f32 = (v: ArrayLike<number>) => new Uint8Array(Float32Array.from(v).buffer);

test('removing units whose incoming and outgoing weights were zeroed first reproduces the outputs to 1e-5', async () => {
  // fc1.weight is (32, 20) (Gemm transB=1); fc2.weight is (16, 32). Zero units 3, 7, 11, 19, 25 of fc1:
  // their rows in fc1.weight and their columns in fc2.weight. Their bias stays: ReLU(b) · 0 = 0.
  const ck = readOnnx(fixture('onnx', 'mlp.onnx'));
  const fc1 = ck.weights.find((w) => w.name === 'fc1.weight')!;
  const fc2 = ck.weights.find((w) => w.name === 'fc2.weight')!;
  const dead = [3, 7, 11, 19, 25];
  const w1 = Float32Array.from(fc1.read());
  const w2 = Float32Array.from(fc2.read());
  for (const u of dead) {
    w1.fill(0, u * 20, (u + 1) * 20);
    for (let r = 0; r < 16; r++) w2[r * 32 + u] = 0;
  }
  ck.close();
  writeOnnxWithEdits(fixture('onnx', 'mlp.onnx'), out('zeroed.onnx'), {
    replace: new Map([
      ['fc1.weight', { dims: [32, 20], dataType: 1, raw: f32(w1) }],
      ['fc2.weight', { dims: [16, 32], dataType: 1, raw: f32(w2) }],
    ]),
  });
  const r = await pruneModel(out('zeroed.onnx'), out('zeroed-pruned.onnx'), { method: 'node', ratio: dead.length / 32, layers: /^fc1/ });
  assert.equal(r.layers.find((l) => l.name === 'fc1.weight')!.paramsAfter, (32 - dead.length) * 20);
  const pruned = readOnnx(out('zeroed-pruned.onnx'));
  assert.deepEqual(pruned.weights.find((w) => w.name === 'fc1.weight')!.shape, [27, 20]);
  assert.deepEqual(pruned.weights.find((w) => w.name === 'fc1.bias')!.shape, [27]);
  assert.deepEqual(pruned.weights.find((w) => w.name === 'fc2.weight')!.shape, [16, 27]);
  pruned.close();
  const v = await verifyOnnx(out('zeroed.onnx'), out('zeroed-pruned.onnx'));
  assert.ok(v.maxAbs < 1e-5, `max |Δ| ${v.maxAbs}`);
});

test('mlp.onnx, 50% of every hidden layer: the initializer bytes drop by the predicted amount, and it runs', async () => {
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-half.onnx'), { method: 'node', ratio: 0.5, verify: true });
  const bytes = (f: string) => {
    const ck = readOnnx(f);
    const n = ck.weights.reduce((a, w) => a + w.byteLength, 0);
    ck.close();
    return n;
  };
  // 20 → 32 → 16 → 10 becomes 20 → 16 → 8 → 10: weights, biases and the consumers' input dimensions.
  const before = 32 * 20 + 32 + 16 * 32 + 16 + 10 * 16 + 10;
  const afterPrediction = 16 * 20 + 16 + 8 * 16 + 8 + 10 * 8 + 10;
  assert.equal(bytes(fixture('onnx', 'mlp.onnx')) - bytes(out('mlp-half.onnx')), 4 * (before - afterPrediction));
  assert.equal(r.paramsBefore - r.paramsAfter, before - afterPrediction);
  assert.match(r.layers.find((l) => l.name === 'fc3.weight')!.reason!, /graph output/);
  assert.ok(r.verify!.samples === 8 && Number.isFinite(r.verify!.maxAbs));
});

test('cnn_plain_bn.onnx: filter pruning shrinks Conv + BatchNorm + the next Conv (and the classifier after the pool) consistently, and runs', async () => {
  await pruneModel(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-half.onnx'), { method: 'node', ratio: 0.5 });
  const ck = readOnnx(out('cnn-half.onnx'));
  const shapes = Object.fromEntries(ck.weights.map((w) => [w.name, w.shape.join('x')]));
  assert.deepEqual(shapes, {
    'conv1.weight': '4x3x3x3',
    'conv1.bias': '4',
    'bn1.weight': '4',
    'bn1.bias': '4',
    'bn1.running_mean': '4',
    'bn1.running_var': '4',
    'conv2.weight': '6x4x3x3',
    'conv2.bias': '6',
    'fc.weight': '5x6',
    'fc.bias': '5',
  });
  ck.close();
  const v = await verifyOnnx(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-half.onnx'));
  assert.ok(Number.isFinite(v.maxAbs) && v.cosine > 0.9, JSON.stringify(v));
});

test('node pruning refuses what it cannot follow, naming the node: residual Add, depthwise consumers, graph outputs', async () => {
  const r = await pruneModel(fixture('onnx', 'cnn_bn.onnx'), out('cnn-dw.onnx'), { method: 'node', ratio: 0.5 });
  const reasons = Object.fromEntries(r.layers.map((l) => [l.name, l.reason]));
  assert.equal(reasons['conv1.weight'], 'its output feeds a grouped or depthwise Conv at node /dw/Conv');
  assert.equal(reasons['fc.weight'], "its output 'output' is a graph output; removing units would change the model's outputs");
  // A residual block: h = x·W1; y = (h + x)·W2.
  const raw = (n: number) => floatBytes(Array.from({ length: n }, (_, i) => Math.sin(i)));
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'residual',
    inputs: [{ name: 'x', elemType: 1, dims: [1, 8] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 4] }],
    nodes: [
      { name: 'mm1', opType: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
      { name: 'res', opType: 'Add', inputs: ['h', 'x'], outputs: ['s'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['s', 'w2'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'w1', dataType: 1, dims: [8, 8], raw: raw(64) },
      { name: 'w2', dataType: 1, dims: [8, 4], raw: raw(32) },
    ],
  }).writeToFile(out('residual.onnx'));
  const rr = await pruneModel(out('residual.onnx'), out('residual-pruned.onnx'), { method: 'node', ratio: 0.5 });
  assert.equal(rr.layers.find((l) => l.name === 'w1')!.reason, 'its output feeds Add with another branch at node res');
});

test('onnx.checker accepts the node-pruned models (when Debian\'s python3-onnx is installed)', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status !== 0) return t.skip('python3-onnx is not installed');
  for (const f of ['mlp-half.onnx', 'cnn-half.onnx', 'zeroed-pruned.onnx']) {
    const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', out(f)], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', `${f}: ${r.stderr}`);
  }
});

test('each node-pruned layer\'s relative error equals its analysis node curve (output-unit convention) at that ratio, 1e-6', async () => {
  const { analyzeLayer, DEFAULT_SETTINGS } = await import('../../src/core/analysis/analyzeLayer.ts');
  for (const name of ['mlp', 'cnn_plain_bn']) {
    const r = await pruneModel(fixture('onnx', `${name}.onnx`), out(`${name}-curve.onnx`), { method: 'node', ratio: 0.25 });
    const ck = readOnnx(fixture('onnx', `${name}.onnx`));
    for (const l of r.layers.filter((x) => !x.skipped)) {
      const a = analyzeLayer(ck.weights.find((w) => w.name === l.name)!, { ...DEFAULT_SETTINGS, nodeConvention: 'rows' });
      const at = a.curves.ratios.indexOf(0.25);
      assert.ok(Math.abs(l.relErr! - a.curves.node![at]!) < 1e-6, `${l.name}: ${l.relErr} vs ${a.curves.node![at]}`);
    }
    ck.close();
  }
});

test('multiply-adds per sample before and after equal the closed forms (Conv/Gemm shape propagation)', async () => {
  const r = await pruneModel(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-macs.onnx'), { method: 'node', ratio: 0.5 });
  // 8×8 maps, 3×3 kernels: conv1 8·64·27 + conv2 12·64·72 + fc 12·5, then with 4 and 6 filters.
  assert.deepEqual(r.multiplyAdds, { before: 8 * 64 * 27 + 12 * 64 * 72 + 12 * 5, after: 4 * 64 * 27 + 6 * 64 * 36 + 6 * 5, unknownLayers: [] });
  const m = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-macs.onnx'), { method: 'singular', ratio: 0.75 });
  // Each Gemm m×n at rank r becomes n·r + r·m: fc1 20·5+5·32, fc2 32·4+4·16, fc3 16·3+3·10.
  assert.deepEqual(m.multiplyAdds, { before: 20 * 32 + 32 * 16 + 16 * 10, after: 20 * 5 + 5 * 32 + (32 * 4 + 4 * 16) + (16 * 3 + 3 * 10), unknownLayers: [] });
});

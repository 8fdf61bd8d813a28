import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { readOnnx } from '../../src/core/formats/onnx/readOnnx.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyOnnx } from '../../src/core/runtime/verifyOnnx.ts';
import { fixture, floatBytes, runCliAsync, tempDir } from '../helpers.ts';

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
  const v = r.verify!;
  assert.ok(v.samples === 32 && v.cosine > 0.93 && v.relErr < 0.4 && v.maxAbs > 0.05, JSON.stringify(v)); // measured: cosine 0.948, rel. error 0.324
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
  assert.ok(v.cosine > 0.97 && v.relErr < 0.25 && v.maxAbs > 0.01, JSON.stringify(v)); // measured: cosine 0.984, rel. error 0.183
});

test('node pruning follows depthwise convs and residual adds, and refuses graph inputs, graph outputs and unknown ops by name', async () => {
  const r = await pruneModel(fixture('onnx', 'cnn_bn.onnx'), out('cnn-dw.onnx'), { method: 'node', ratio: 0.5 });
  const row = (name: string) => r.layers.find((l) => l.name === name)!;
  // conv1's filters feed a depthwise conv: its filters go with them (one group), and `group` follows.
  assert.equal(row('conv1.weight').skipped, false);
  assert.ok(row('conv1.weight').group!.coupled.includes('dw.weight'), JSON.stringify(row('conv1.weight').group));
  assert.equal(row('fc.weight').reason, `own outputs kept: group ${r.groups!.find((g) => g.layers.includes('fc.weight'))!.id}: it reaches the graph output 'output'; its inputs shrink with the layers before it`);
  const dw = readOnnx(out('cnn-dw.onnx'));
  assert.equal(dw.ops.find((o) => o.name === '/dw/Conv')!.attributes['group'], dw.weights.find((w) => w.name === 'dw.weight')!.shape[0]);
  dw.close();
  const raw = (n: number) => floatBytes(Array.from({ length: n }, (_, i) => Math.sin(i)));
  // A residual block on the input itself: h = x·W1; y = (h + x)·W2. x's channels are the model's interface.
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
  const cli = await runCliAsync(['prune', out('residual.onnx'), '--method', 'node', '--ratio', '0.5', '-o', out('residual-pruned.onnx')]);
  assert.equal(cli.status, 1, cli.stderr);
  assert.match(cli.stderr, /^prunescope: error: node pruning would remove nothing, so nothing was written/);
  await assert.rejects(pruneModel(out('residual.onnx'), out('residual-pruned.onnx'), { method: 'node', ratio: 0.5 }), {
    message: "residual.onnx: node pruning would remove nothing, so nothing was written (1 layer: it reaches the graph input 'x'; 1 layer: it reaches the graph output 'y')".replace(/^residual\.onnx: /, ''),
  });
  // An op no rule covers stops its group, and is named.
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'lrn',
    inputs: [{ name: 'x', elemType: 1, dims: [1, 3, 4, 4] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 2, 4, 4] }],
    nodes: [
      { name: 'c1', opType: 'Conv', inputs: ['x', 'w1'], outputs: ['a'], intLists: { kernel_shape: [1, 1] } },
      { name: 'norm', opType: 'LRN', inputs: ['a'], outputs: ['b'], ints: { size: 3 } },
      { name: 'c2', opType: 'Conv', inputs: ['b', 'w2'], outputs: ['y'], intLists: { kernel_shape: [1, 1] } },
    ],
    initializers: [
      { name: 'w1', dataType: 1, dims: [6, 3, 1, 1], raw: raw(18) },
      { name: 'w2', dataType: 1, dims: [2, 6, 1, 1], raw: raw(12) },
    ],
  }).writeToFile(out('lrn.onnx'));
  await assert.rejects(pruneModel(out('lrn.onnx'), out('lrn-pruned.onnx'), { method: 'node', ratio: 0.5 }), /1 layer: LRN is not covered by the dependency rules \(LRN node 'norm'\)/);
  assert.equal(fs.existsSync(out('residual-pruned.onnx')) || fs.existsSync(out('lrn-pruned.onnx')), false);
});

test('onnx.checker accepts the node-pruned models (when Debian\'s python3-onnx is installed)', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status !== 0) return t.skip('python3-onnx is not installed');
  for (const f of ['mlp-half.onnx', 'cnn-half.onnx', 'zeroed-pruned.onnx']) {
    const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print("ok")', out(f)], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', `${f}: ${r.stderr}`);
  }
});

test('the reported error of a group is recomputed from the written tensors: √(energy removed / energy) over its weights', async () => {
  // Only fc1's group is cut: its scored members are fc1.weight (rows) and fc2.weight (columns).
  const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-fc1.onnx'), { method: 'node', ratio: 0.25, layers: /^fc1\.weight$/ });
  const energy = (file: string, names: string[]) => {
    const ck = readOnnx(file);
    const e = names.reduce((a, n) => a + Array.from(ck.weights.find((w) => w.name === n)!.read()).reduce((s, v) => s + v * v, 0), 0);
    ck.close();
    return e;
  };
  const before = energy(fixture('onnx', 'mlp.onnx'), ['fc1.weight', 'fc2.weight']);
  const after = energy(out('mlp-fc1.onnx'), ['fc1.weight', 'fc2.weight']);
  const row = r.layers.find((l) => l.name === 'fc1.weight')!;
  assert.equal(row.paramsAfter, 24 * 20);
  assert.ok(Math.abs(row.relErr! - Math.sqrt((before - after) / before)) < 1e-12, `${row.relErr} vs ${Math.sqrt((before - after) / before)}`);
  // The units removed are those of lowest importance: mean over the two members of the squared slice norms.
  const ck = readOnnx(fixture('onnx', 'mlp.onnx'));
  const w1 = ck.weights.find((w) => w.name === 'fc1.weight')!.read();
  const w2 = ck.weights.find((w) => w.name === 'fc2.weight')!.read();
  ck.close();
  const score = Array.from({ length: 32 }, (_, u) => {
    let a = 0;
    for (let j = 0; j < 20; j++) a += w1[u * 20 + j]! ** 2;
    for (let rr = 0; rr < 16; rr++) a += w2[rr * 32 + u]! ** 2;
    return a / 2;
  });
  const lowest = Array.from({ length: 32 }, (_, u) => u).sort((x, y) => score[x]! - score[y]!).slice(0, 8).sort((x, y) => x - y);
  const kept = Array.from({ length: 32 }, (_, u) => u).filter((u) => !lowest.includes(u));
  const p = readOnnx(out('mlp-fc1.onnx'));
  const w1p = p.weights.find((w) => w.name === 'fc1.weight')!.read();
  p.close();
  kept.forEach((u, i) => assert.deepEqual(Array.from(w1p.subarray(i * 20, (i + 1) * 20)), Array.from(w1.subarray(u * 20, (u + 1) * 20))));
});

test('multiply-adds per sample before and after equal the closed forms (Conv/Gemm shape propagation)', async () => {
  const r = await pruneModel(fixture('onnx', 'cnn_plain_bn.onnx'), out('cnn-macs.onnx'), { method: 'node', ratio: 0.5 });
  // 8×8 maps, 3×3 kernels: conv1 8·64·27 + conv2 12·64·72 + fc 12·5, then with 4 and 6 filters.
  assert.deepEqual(r.multiplyAdds, { before: 8 * 64 * 27 + 12 * 64 * 72 + 12 * 5, after: 4 * 64 * 27 + 6 * 64 * 36 + 6 * 5, unknownLayers: [] });
  const m = await pruneModel(fixture('onnx', 'mlp.onnx'), out('mlp-macs.onnx'), { method: 'singular', ratio: 0.75 });
  // Each Gemm m×n at rank r becomes n·r + r·m: fc1 20·5+5·32, fc2 32·4+4·16, fc3 16·3+3·10.
  assert.deepEqual(m.multiplyAdds, { before: 20 * 32 + 32 * 16 + 16 * 10, after: 20 * 5 + 5 * 32 + (32 * 4 + 4 * 16) + (16 * 3 + 3 * 10), unknownLayers: [] });
});

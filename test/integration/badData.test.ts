/**
 * Every bad input is a clean, one-line error (exit 1) that names the file, and nothing is written:
 * the cases a mutation campaign and a hostile new user found (each was an internal error, a hang
 * or a silent success before).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readNpy } from '../../src/core/formats/npy.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { fixture, runCliAsync, tempDir, writeNpy } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const folder = () => {
  const d = path.join(tmp.dir, `case${n++}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const DIGITS = fixture('onnx', 'digits_mlp.onnx');
const X = fixture('npy', 'digits_test_x.npy');
const Y = fixture('npy', 'digits_test_y.npy');
const CALIB = fixture('npy', 'digits_calib_x.npy');

/** Asserts a clean user-input error: exit 1, exactly one line, no control characters, matching `pattern`. */
function assertCleanError(r: { status: number; stderr: string }, pattern: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^prunescope: error: [^\n]*\n$/, `one line: ${JSON.stringify(r.stderr)}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: checking there are none
  assert.doesNotMatch(r.stderr.slice(0, -1), /[\u0000-\u001f\u007f-\u009f]/);
  assert.match(r.stderr, pattern);
}

const ls = (dir: string) => fs.readdirSync(dir).sort();

test('a safetensors header of deeply nested JSON (was: Maximum call stack size exceeded)', async () => {
  const dir = folder();
  const file = path.join(dir, 'deep.safetensors');
  const header = Buffer.from(`{"w": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([len, header]));
  for (const cmd of [['inspect', file], ['analyze', file, '--workers', '0']]) {
    assertCleanError(await runCliAsync(cmd), /deep\.safetensors: not a safetensors file: its header nests deeper than 200 levels/);
  }
});

test('an ONNX graph with a duplicated chunk (was: Cannot read properties of undefined in scanGraph)', async () => {
  const dir = folder();
  const src = fs.readFileSync(fixture('onnx', 'cnn_plain_bn.onnx'));
  const file = path.join(dir, 'dup.onnx');
  // The campaign's mutant: 58 bytes from offset 3907 inserted again at 4077 (a node field now has the wrong wire type).
  fs.writeFileSync(file, Buffer.concat([src.subarray(0, 4077), src.subarray(3907, 3907 + 58), src.subarray(4077)]));
  for (const cmd of [['inspect', file], ['analyze', file, '--workers', '0'], ['prune', file, '--method', 'magnitude', '--ratio', '0.5', '-o', path.join(dir, 'out.onnx')]]) {
    assertCleanError(await runCliAsync(cmd), /dup\.onnx: not a valid ONNX protobuf: /);
  }
  assert.deepEqual(ls(dir), ['dup.onnx']);
});

test('a TF.js graph-model whose node attribute is a string, not an AttrValue (was: Cannot use \'in\' operator, with 10 KB echoed)', async () => {
  const dir = folder();
  for (const f of fs.readdirSync(fixture('tfjs', 'graph'))) fs.copyFileSync(fixture('tfjs', 'graph', f), path.join(dir, f));
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const node = json.modelTopology.node.find((x: { attr?: Record<string, unknown> }) => x.attr?.['dtype']);
  node.attr.dtype = `\u001b[31m${'x'.repeat(10_000)}\n`;
  fs.writeFileSync(file, JSON.stringify(json));
  const r = await runCliAsync(['inspect', file]);
  assertCleanError(r, new RegExp(`model\\.json: node '${node.name}' has a malformed attribute 'dtype'`));
  assert.ok(r.stderr.length < 200, `no data echoed: ${r.stderr.length} characters`);
  // A node's inputs that are not a list of names.
  node.attr.dtype = { type: 'DT_FLOAT' };
  node.input = 'nope';
  fs.writeFileSync(file, JSON.stringify(json));
  assertCleanError(await runCliAsync(['inspect', file]), /'input' must be a list of tensor names/);
});

test('NaN weights in a TF.js shard: analyze marks the layer invalid, prune skips it (was: tridiagonal QL did not converge; NaN rel. error)', async () => {
  const dir = folder();
  for (const f of fs.readdirSync(fixture('tfjs', 'cnn'))) fs.copyFileSync(fixture('tfjs', 'cnn', f), path.join(dir, f));
  const shard = path.join(dir, 'group1-shard1of3.bin');
  const b = fs.readFileSync(shard);
  b.writeFloatLE(Number.NaN, 400);
  fs.writeFileSync(shard, b);
  const a = await runCliAsync(['analyze', path.join(dir, 'model.json'), '--workers', '0', '--json', path.join(dir, 'r.json')]);
  assert.equal(a.status, 0, a.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'));
  const bad = report.layers.filter((l: { status: string }) => l.status === 'invalid');
  assert.deepEqual(bad.map((l: { name: string; reasons: string[] }) => [l.name, l.reasons]), [['dw/depthwise_kernel', ['1 NaN/Inf values: nothing can be estimated']]]);
  const p = await runCliAsync(['prune', path.join(dir, 'model.json'), '--method', 'magnitude', '--ratio', '0.5', '-o', path.join(dir, 'out', 'model.json'), '--json']);
  assert.equal(p.status, 0, p.stderr);
  const layers = JSON.parse(p.stdout).layers;
  assert.deepEqual(layers.filter((l: { skipped: boolean }) => l.skipped).map((l: { name: string; reason: string }) => [l.name, l.reason]), [['dw/depthwise_kernel', 'holds NaN values (a corrupted file?): not pruned']]);
  assert.equal(layers.filter((l: { skipped: boolean }) => !l.skipped).length, 5);
});

test('two finite but enormous weights (flipped exponent bits) no longer stall the eigenvalue solver (was: tridiagonal QL did not converge)', async () => {
  const dir = folder();
  const file = path.join(dir, 'huge.onnx');
  const w = readNpyLike(DIGITS, '2.weight');
  // The campaign's mutant, exactly (the stall depends on the whole matrix, not only the two large entries).
  const changes: Array<[number, number]> = [[1385, -1.2328988463783927e37], [1943, -0.13924729824066162], [6065, 1.7568941378983734e37], [6493, 0.045437123626470566], [7079, -0.07478824257850647], [7756, -0.010780945420265198]];
  for (const [i, v] of changes) w.values[i] = v;
  writeOnnxWithEdits(DIGITS, file, { replace: new Map([['2.weight', { dims: w.shape, dataType: 1, raw: new Uint8Array(Float32Array.from(w.values).buffer) }]]) });
  const r = await runCliAsync(['analyze', file, '--workers', '0', '--json', path.join(dir, 'r.json')]);
  assert.equal(r.status, 0, r.stderr);
  const layer = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')).layers.find((l: { name: string }) => l.name === '2.weight');
  // Two entries far above the rest, in different rows and columns: they are the two largest
  // singular values, to the float64 precision of the rest (|other entries| / h ≈ 1e-38).
  const [h1, h2] = [Math.fround(1.7568941378983734e37), Math.fround(1.2328988463783927e37)];
  assert.ok(Math.abs(layer.singularValues[0] - h1) / h1 < 1e-12, String(layer.singularValues[0]));
  assert.ok(Math.abs(layer.singularValues[1] - h2) / h2 < 1e-12, String(layer.singularValues[1]));
  // The rest are at the Gram's rounding floor: σ² within eps·σ₁² of the true ones (≈ 1), so σ ≤ √(4·eps)·σ₁.
  assert.ok(layer.singularValues[2] <= Math.sqrt(4 * Number.EPSILON) * h1, String(layer.singularValues[2]));
});

/** A weight's values and shape, read through the reader. */
function readNpyLike(model: string, name: string): { values: Float64Array; shape: number[] } {
  const { openCheckpoint } = require('../../src/core/formats/openCheckpoint.ts') as typeof import('../../src/core/formats/openCheckpoint.ts');
  const ck = openCheckpoint(model);
  const w = ck.weights.find((x) => x.name === name)!;
  const r = { values: Float64Array.from(w.read()), shape: w.shape };
  ck.close();
  return r;
}

test('calibration data: NaN/Inf, no samples, a scalar, the wrong width (were: QL did not converge; a 100%-removing "success"; shape (NaN); a multi-line onnxruntime message, exit 3)', async () => {
  const dir = folder();
  const x = readNpy(CALIB);
  const poisoned = Float32Array.from(x.values);
  poisoned[70] = Number.POSITIVE_INFINITY;
  writeNpy(path.join(dir, 'inf.npy'), '<f4', x.shape, poisoned);
  writeNpy(path.join(dir, 'empty.npy'), '<f4', [0, 64], new Float32Array(0));
  writeNpy(path.join(dir, 'scalar.npy'), '<f4', [], Float32Array.of(3));
  writeNpy(path.join(dir, 'wide.npy'), '<f4', [10, 65], new Float32Array(650));
  const cases: Array<[string, RegExp]> = [
    ['inf.npy', /inf\.npy: --data holds a non-finite value \(Infinity\) in sample 1; samples must be finite numbers/],
    ['empty.npy', /empty\.npy: --data holds no samples: its shape is \(0, 64\)/],
    ['scalar.npy', /scalar\.npy: must be an array of samples \(sample axis first\), not a scalar/],
    ['wide.npy', /wide\.npy: has shape \(10, 65\), but the model's input 'input' takes \(N, 64\)/],
  ];
  for (const [f, pattern] of cases) {
    assertCleanError(await runCliAsync(['prune', DIGITS, '--method', 'spectral', '--ratio', '0.5', '--data', path.join(dir, f), '-o', path.join(dir, 'out.onnx')]), pattern);
    assertCleanError(await runCliAsync(['analyze', DIGITS, '--workers', '0', '--data', path.join(dir, f)]), pattern);
  }
  assert.equal(fs.existsSync(path.join(dir, 'out.onnx')), false);
  // float16 calibration data is read (not refused) and gives the same kept units as float32 up to rounding.
  const half = path.join(dir, 'half.npy');
  const h = Buffer.alloc(x.values.length * 2);
  const { encodeFloats } = await import('../../src/core/tensor/dtype.ts');
  h.set(encodeFloats(x.values, 'float16'));
  writeNpy(half, '<f2', x.shape, h);
  const r = await runCliAsync(['prune', DIGITS, '--method', 'spectral', '--ratio', '0.5', '--data', half, '-o', path.join(dir, 'half.onnx'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).verify.samples, 512);
});

test('labels: 2^63−1, negatives, past the model\'s outputs, and trailing bytes (was: accepted, accuracy 0%)', async () => {
  const dir = folder();
  const y = readNpy(Y);
  const big = BigInt64Array.from(y.values, (v) => BigInt(v));
  big[3] = 2n ** 63n - 1n;
  writeNpy(path.join(dir, 'big.npy'), '<i8', y.shape, big);
  const neg = Int32Array.from(y.values);
  neg[0] = -1;
  writeNpy(path.join(dir, 'neg.npy'), '<i4', y.shape, neg);
  const eleven = Int32Array.from(y.values);
  eleven[7] = 10;
  writeNpy(path.join(dir, 'eleven.npy'), '<i4', y.shape, eleven);
  fs.writeFileSync(path.join(dir, 'trailing.npy'), Buffer.concat([fs.readFileSync(Y), Buffer.from('junk')]));
  const prune = (labels: string) => runCliAsync(['prune', DIGITS, '--method', 'node', '--ratio', '0.5', '--data', X, '--labels', path.join(dir, labels), '-o', path.join(dir, 'out.onnx')]);
  const train = (labels: string) => runCliAsync(['train-gates', DIGITS, '--data', X, '--labels', path.join(dir, labels), '--epochs', '1', '-o', path.join(dir, 'g.onnx')]);
  assertCleanError(await prune('big.npy'), /big\.npy: label 3 is 9223372036854776000; labels must be class indices 0, 1, …/);
  assertCleanError(await train('big.npy'), /big\.npy: label 3 is 9223372036854776000; labels must be class indices 0 … 9/);
  assertCleanError(await prune('neg.npy'), /neg\.npy: label 0 is -1/);
  assertCleanError(await prune('eleven.npy'), /eleven\.npy: label 7 is 10, but the model has 10 outputs \(classes 0 … 9\)/);
  assertCleanError(await train('eleven.npy'), /eleven\.npy: label 7 is 10; labels must be class indices 0 … 9/);
  assertCleanError(await train('trailing.npy'), /trailing\.npy: has 4 bytes after the data of its \(500\) array: not a valid \.npy file/);
  assert.deepEqual(ls(dir), ['big.npy', 'eleven.npy', 'neg.npy', 'trailing.npy']);
});

test('training data: NaN values, and a loss that becomes NaN (was: trained to loss NaN and wrote a model, exit 0)', async () => {
  const dir = folder();
  const x = readNpy(X);
  const nan = Float32Array.from(x.values);
  nan[64 * 9 + 3] = Number.NaN;
  writeNpy(path.join(dir, 'nan.npy'), '<f4', x.shape, nan);
  const r1 = await runCliAsync(['train-gates', DIGITS, '--data', path.join(dir, 'nan.npy'), '--labels', Y, '-o', path.join(dir, 'g.onnx')]);
  assertCleanError(r1, /nan\.npy: --data holds a non-finite value \(NaN\) in sample 9/);
  // Finite data at 2e37 overflows float32 in the first layer: the loss is NaN in epoch 1.
  writeNpy(path.join(dir, 'huge.npy'), '<f4', x.shape, Float32Array.from(x.values, (v) => v * 2e37));
  const r2 = await runCliAsync(['train-gates', DIGITS, '--data', path.join(dir, 'huge.npy'), '--labels', Y, '--epochs', '2', '-o', path.join(dir, 'g.onnx'), '--log', path.join(dir, 'log.json')]);
  assertCleanError(r2, /training diverged in epoch 1 \(loss NaN\); nothing was written/);
  assert.deepEqual(ls(dir), ['huge.npy', 'nan.npy']);
});

test('output paths: a folder, a file as the parent, an unwritable folder (were: EISDIR/EEXIST/EACCES as internal errors)', async () => {
  const dir = folder();
  const prune = (out: string) => runCliAsync(['prune', fixture('onnx', 'mlp.onnx'), '--method', 'magnitude', '--ratio', '0.5', '-o', out]);
  fs.mkdirSync(path.join(dir, 'taken.onnx'));
  assertCleanError(await prune(path.join(dir, 'taken.onnx')), /taken\.onnx: is a folder: give the output a file name/);
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  assertCleanError(await prune(path.join(dir, 'file', 'sub', 'out.onnx')), new RegExp(`out\\.onnx: cannot write: ${path.join(dir, 'file').replace(/[/.]/g, '\\$&')} is a file, not a folder`));
  // Unwritable: a read-only folder for a normal user; as root (who may write anywhere) /sys, where even root may not create files.
  let locked = path.join(dir, 'locked');
  if (process.getuid?.() === 0) locked = '/sys';
  else {
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0o500);
  }
  assertCleanError(await prune(path.join(locked, 'out.onnx')), /out\.onnx: cannot write: (permission denied|operation not permitted)/);
  assertCleanError(await prune(path.join(locked, 'new', 'out.onnx')), /out\.onnx: cannot write: (permission denied|operation not permitted)/);
  assert.deepEqual(ls(dir).filter((f) => f.startsWith('.prunescope-')), []);
});

test('FIFOs as the model, as a safetensors shard and as --data are refused at once (were: hung forever)', async () => {
  const dir = folder();
  const fifo = (name: string) => {
    execFileSync('mkfifo', [path.join(dir, name)]);
    return path.join(dir, name);
  };
  const t0 = Date.now();
  assertCleanError(await runCliAsync(['inspect', fifo('model.onnx')]), /model\.onnx: is not a regular file \(a FIFO, socket or device\)/);
  fs.copyFileSync(fixture('safetensors', 'sharded', 'model.safetensors.index.json'), path.join(dir, 'model.safetensors.index.json'));
  fs.copyFileSync(fixture('safetensors', 'sharded', 'model-00001-of-00002.safetensors'), path.join(dir, 'model-00001-of-00002.safetensors'));
  fifo('model-00002-of-00002.safetensors');
  assertCleanError(await runCliAsync(['inspect', path.join(dir, 'model.safetensors.index.json')]), /model-00002-of-00002\.safetensors: is not a regular file/);
  assertCleanError(await runCliAsync(['prune', DIGITS, '--method', 'node', '--ratio', '0.5', '--data', fifo('x.npy'), '-o', path.join(dir, 'o.onnx')]), /x\.npy: is not a regular file or a folder/);
  assertCleanError(await runCliAsync(['prune', DIGITS, '--method', 'node', '--ratio', '0.5', '--data', X, '--labels', fifo('y.npy'), '-o', path.join(dir, 'o.onnx')]), /y\.npy: is not a regular file/);
  assert.ok(Date.now() - t0 < 20_000, 'no command waited for a writer');
});

test('control characters and newlines taken from a file never reach the terminal', async () => {
  const dir = folder();
  const file = path.join(dir, 'evil.safetensors');
  const header = Buffer.from(JSON.stringify({ 'w\n\u001b[2J\u0007evil\r': { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(file, Buffer.concat([len, header, Buffer.alloc(8)]));
  assertCleanError(await runCliAsync(['inspect', file]), /evil\.safetensors: tensor 'w \[2J evil' has shape \[2\] \(2 × float32\) but 4 bytes in data_offsets/);
});

test('a well-known ONNX attribute stored with the wrong type (was: kernel.map is not a function, in prune)', async () => {
  const dir = folder();
  const file = path.join(dir, 'pool.onnx');
  const { buildOnnxModel } = await import('../../src/core/formats/onnx/onnxBuilder.ts');
  const { floatBytes } = await import('../helpers.ts');
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    inputs: [{ name: 'x', elemType: 1, dims: [1, 2, 8, 8] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 4, 3, 3] }],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'], intLists: { kernel_shape: [3, 3] } },
      { name: 'pool', opType: 'MaxPool', inputs: ['c'], outputs: ['y'], floats: { kernel_shape: 2 } },
    ],
    initializers: [{ name: 'w', dataType: 1, dims: [4, 2, 3, 3], raw: floatBytes(new Float32Array(72).map((_, i) => Math.sin(i))) }],
  }).writeToFile(file);
  for (const cmd of [['inspect', file], ['analyze', file, '--workers', '0'], ['prune', file, '--method', 'magnitude', '--ratio', '0.5', '-o', path.join(dir, 'out.onnx')]]) {
    assertCleanError(await runCliAsync(cmd), /pool\.onnx: not a valid ONNX protobuf: node 'pool' has attribute 'kernel_shape' stored as number, not a list of integers/);
  }
  assert.deepEqual(ls(dir), ['pool.onnx']);
});

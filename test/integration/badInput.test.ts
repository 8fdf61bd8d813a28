import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { CheckpointError } from '../../src/core/errors.ts';
import { buildOnnxModel, type OnnxModelSpec } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { fixture, floatBytes, runCli, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
let counter = 0;

/** A fresh folder inside the temp dir (each case gets its own "model folder"). */
function folder(): string {
  const dir = path.join(tmp.dir, `case${counter++}`, 'model');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function copyTfjs(name: string): string {
  const dir = folder();
  for (const f of fs.readdirSync(fixture('tfjs', name))) fs.copyFileSync(fixture('tfjs', name, f), path.join(dir, f));
  return dir;
}

function editJson(file: string, edit: (j: any) => void): void {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(j);
  fs.writeFileSync(file, JSON.stringify(j));
}

/** Asserts that opening `file` throws a CheckpointError naming the file, with `pattern` in it. */
function assertRejects(file: string, pattern: RegExp): void {
  assert.throws(
    () => openCheckpoint(file).close(),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${String(e)}`);
      assert.ok(e.message.startsWith(`${path.basename(file)}: `), `message should name the file: ${e.message}`);
      assert.doesNotMatch(e.message, /\n/);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

function onnx(dir: string, initializers: OnnxModelSpec['initializers'], name = 'model.onnx'): string {
  const file = path.join(dir, name);
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    inputs: [{ name: 'x', elemType: 1, dims: [1, 2] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 2] }],
    nodes: [{ name: 'mm', opType: 'MatMul', inputs: ['x', initializers[0]!.name], outputs: ['y'] }],
    initializers,
  }).writeToFile(file);
  return file;
}

/** n bytes of zeros (n/4 float32 zeros). */
const bytes = (n: number) => floatBytes(new Float32Array(n / 4));

// ── truncated / non-protobuf / wrong extension ──────────────────────────────────────────────

test('a truncated ONNX file', () => {
  const file = path.join(folder(), 'mlp.onnx');
  const full = fs.readFileSync(fixture('onnx', 'mlp.onnx'));
  fs.writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
  assertRejects(file, /truncated/);
});

test('a file of non-protobuf bytes with an .onnx extension', () => {
  const file = path.join(folder(), 'notes.onnx');
  fs.writeFileSync(file, 'these are release notes, not a model\n');
  assertRejects(file, /not (a valid )?(an )?ONNX/);
});

test('JSON and zip archives named .onnx get a message saying what they are', () => {
  const dir = folder();
  fs.writeFileSync(path.join(dir, 'a.onnx'), '{"format": "layers-model"}');
  assertRejects(path.join(dir, 'a.onnx'), /looks like JSON/);
  fs.writeFileSync(path.join(dir, 'b.onnx'), Buffer.from('PK\x03\x04 pytorch zip'));
  assertRejects(path.join(dir, 'b.onnx'), /zip archive/);
});

test('an empty .onnx file', () => {
  const file = path.join(folder(), 'empty.onnx');
  fs.writeFileSync(file, '');
  assertRejects(file, /empty/);
});

test('a wrong extension', () => {
  const file = path.join(folder(), 'model.pt');
  fs.writeFileSync(file, 'x');
  assertRejects(file, /unsupported file type '\.pt': expected \.onnx, TF\.js model\.json/);
});

test('a missing file and a folder', () => {
  assertRejects(path.join(folder(), 'nope.onnx'), /file not found/);
  const dir = folder();
  assert.throws(() => openCheckpoint(dir), /is a folder/);
});

test('a safetensors file cut inside its data', () => {
  const file = path.join(folder(), 'model.safetensors');
  const full = fs.readFileSync(fixture('safetensors', 'model.safetensors'));
  fs.writeFileSync(file, full.subarray(0, full.length - 100));
  assertRejects(file, /truncated: tensor '.+' needs data bytes/);
});

test('a safetensors file whose header is not JSON, or claims more than the file', () => {
  const dir = folder();
  const a = path.join(dir, 'a.safetensors');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(4n);
  fs.writeFileSync(a, Buffer.concat([head, Buffer.from('nope')]));
  assertRejects(a, /header is not valid JSON/);
  const b = path.join(dir, 'b.safetensors');
  head.writeBigUInt64LE(1000n);
  fs.writeFileSync(b, Buffer.concat([head, Buffer.from('{}')]));
  assertRejects(b, /truncated: the header needs 1000 bytes/);
});

// ── model.json with missing or short shards ─────────────────────────────────────────────────

test('a model.json whose shard is missing', () => {
  const dir = copyTfjs('cnn');
  fs.rmSync(path.join(dir, 'group1-shard2of3.bin'));
  assertRejects(path.join(dir, 'model.json'), /weight shard 'group1-shard2of3\.bin' is missing/);
});

test('a model.json whose shards are short', () => {
  const dir = copyTfjs('cnn');
  const last = path.join(dir, 'group1-shard3of3.bin');
  fs.truncateSync(last, 100);
  assertRejects(path.join(dir, 'model.json'), /weight shards of group 0 are short: '.+' needs bytes \d+\.\.\d+ but the shards hold \d+/);
});

test('a model.json that is not JSON, or not a TF.js model', () => {
  const dir = folder();
  fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
  assertRejects(path.join(dir, 'model.json'), /not valid JSON/);
  fs.writeFileSync(path.join(dir, 'model.json'), '{"name": "my-package", "version": "1.0.0"}');
  assertRejects(path.join(dir, 'model.json'), /neither 'modelTopology' nor 'weightsManifest'/);
});

// ── paths that leave the model's folder ─────────────────────────────────────────────────────

test('a manifest path with .. that leaves the folder', () => {
  const dir = copyTfjs('graph');
  fs.writeFileSync(path.join(dir, '..', 'outside.bin'), Buffer.alloc(4096));
  editJson(path.join(dir, 'model.json'), (j) => (j.weightsManifest[0].paths = ['../outside.bin']));
  assertRejects(path.join(dir, 'model.json'), /weight shard path '\.\.\/outside\.bin' leaves the model's folder/);
});

test('an absolute manifest path', () => {
  const dir = copyTfjs('graph');
  editJson(path.join(dir, 'model.json'), (j) => (j.weightsManifest[0].paths = ['/etc/passwd']));
  assertRejects(path.join(dir, 'model.json'), /'\/etc\/passwd' is absolute/);
});

test('a manifest path through a symlink that points outside', () => {
  const dir = copyTfjs('graph');
  fs.writeFileSync(path.join(dir, '..', 'secret.bin'), Buffer.alloc(4096));
  fs.symlinkSync(path.join(dir, '..', 'secret.bin'), path.join(dir, 'link.bin'));
  editJson(path.join(dir, 'model.json'), (j) => (j.weightsManifest[0].paths = ['link.bin']));
  assertRejects(path.join(dir, 'model.json'), /'link\.bin' is a link that leaves the model's folder/);
});

test('an ONNX external-data location that leaves the folder', () => {
  const dir = folder();
  fs.writeFileSync(path.join(dir, '..', 'weights.bin'), Buffer.alloc(16));
  const file = onnx(dir, [{ name: 'w', dataType: 1, dims: [2, 2], external: { location: '../weights.bin', offset: 0, length: 16 } }]);
  assertRejects(file, /external data of 'w' path '\.\.\/weights\.bin' leaves the model's folder/);
});

test('a safetensors index whose shard leaves the folder', () => {
  const dir = folder();
  fs.copyFileSync(fixture('safetensors', 'model.safetensors'), path.join(dir, '..', 'x.safetensors'));
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'fc.weight': '../x.safetensors' } }));
  assertRejects(path.join(dir, 'model.safetensors.index.json'), /safetensors shard path '\.\.\/x\.safetensors' leaves the model's folder/);
});

test('ONNX external data that is missing or too short', () => {
  const dir = folder();
  const missing = onnx(dir, [{ name: 'w', dataType: 1, dims: [2, 2], external: { location: 'w.bin' } }], 'a.onnx');
  assertRejects(missing, /external data file 'w\.bin' of tensor 'w' is missing/);
  fs.writeFileSync(path.join(dir, 'short.bin'), Buffer.alloc(10));
  const short = onnx(dir, [{ name: 'w', dataType: 1, dims: [2, 2], external: { location: 'short.bin', offset: 0 } }], 'b.onnx');
  assertRejects(short, /external data file 'short\.bin' is too short: tensor 'w' needs bytes 0\.\.16 but it has 10/);
});

// ── dims that overflow or disagree with the bytes ───────────────────────────────────────────

test('ONNX dims whose product overflows', () => {
  const file = onnx(folder(), [{ name: 'w', dataType: 1, dims: [2 ** 31, 2 ** 31, 2 ** 31], raw: bytes(16) }]);
  assertRejects(file, /tensor 'w' has dims \[2147483648, 2147483648, 2147483648\] whose product is negative or overflows/);
});

test('ONNX negative dims', () => {
  const file = onnx(folder(), [{ name: 'w', dataType: 1, dims: [-4, 2], raw: bytes(16) }]);
  assertRejects(file, /dims \[-4, 2\] whose product is negative or overflows/);
});

test('ONNX dims that disagree with raw_data', () => {
  const file = onnx(folder(), [{ name: 'w', dataType: 1, dims: [3, 3], raw: bytes(16) }]);
  assertRejects(file, /tensor 'w' has dims \[3, 3\] \(9 elements of float32\) but 16 bytes of raw_data/);
});

test('safetensors shape that disagrees with data_offsets, and overlapping tensors', () => {
  const dir = folder();
  const write = (name: string, header: object, dataBytes: number) => {
    let h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    fs.writeFileSync(path.join(dir, name), Buffer.concat([len, h, Buffer.alloc(dataBytes)]));
    return path.join(dir, name);
  };
  assertRejects(write('a.safetensors', { w: { dtype: 'F32', shape: [3, 3], data_offsets: [0, 16] } }, 16), /shape \[3, 3\] \(9 × float32\) but 16 bytes in data_offsets/);
  assertRejects(
    write('b.safetensors', { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, v: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16),
    /overlap/,
  );
  assertRejects(write('c.safetensors', { w: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 16] } }, 16), /overflows/);
});

test('TF.js shape that overflows', () => {
  const dir = copyTfjs('graph');
  editJson(path.join(dir, 'model.json'), (j) => (j.weightsManifest[0].weights[0].shape = [2 ** 30, 2 ** 30, 2 ** 30]));
  assertRejects(path.join(dir, 'model.json'), /weight 'conv\/filter' has shape \[1073741824, 1073741824, 1073741824\] whose product is negative or overflows/);
});

// ── unsupported dtypes ──────────────────────────────────────────────────────────────────────

test('ONNX complex64 and unknown data types', () => {
  const dir = folder();
  assertRejects(onnx(dir, [{ name: 'w', dataType: 14, dims: [2], raw: bytes(16) }], 'a.onnx'), /tensor 'w' has dtype COMPLEX64, which PruneScope does not support/);
  assertRejects(onnx(dir, [{ name: 'w', dataType: 99, dims: [2], raw: bytes(8) }], 'b.onnx'), /dtype unknown data_type 99/);
});

test('safetensors F8_E4M3 and TF.js string / quantized-int dtypes', () => {
  const dir = folder();
  const h = Buffer.from(JSON.stringify({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(path.join(dir, 'm.safetensors'), Buffer.concat([len, h, Buffer.alloc(4)]));
  assertRejects(path.join(dir, 'm.safetensors'), /tensor 'w' has dtype F8_E4M3, which PruneScope does not support/);
  const tf = copyTfjs('graph');
  editJson(path.join(tf, 'model.json'), (j) => (j.weightsManifest[0].weights[0].dtype = 'string'));
  assertRejects(path.join(tf, 'model.json'), /weight 'conv\/filter' has dtype 'string'/);
  editJson(path.join(tf, 'model.json'), (j) => {
    j.weightsManifest[0].weights[0].dtype = 'float32';
    j.weightsManifest[0].weights[0].quantization = { dtype: 'int4' };
  });
  assertRejects(path.join(tf, 'model.json'), /quantization dtype 'int4'/);
});

// ── the CLI: one line, non-zero exit, nothing written next to the model ─────────────────────

test('the CLI prints one error line naming the file, exits 1, and writes nothing next to the model', () => {
  const dir = copyTfjs('cnn');
  fs.rmSync(path.join(dir, 'group1-shard1of3.bin'));
  const before = fs.readdirSync(dir).sort();
  const r = runCli(['inspect', path.join(dir, 'model.json')]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "prunescope: error: model.json: weight shard 'group1-shard1of3.bin' is missing\n");
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
});

test('the CLI rejects a truncated ONNX with exit 1 and no stack trace', () => {
  const file = path.join(folder(), 'cut.onnx');
  fs.writeFileSync(file, fs.readFileSync(fixture('onnx', 'lstm.onnx')).subarray(0, 5000));
  const r = runCli(['inspect', file, '--json']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^prunescope: error: cut\.onnx: .*truncated.*\n$/);
  assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/);
});

test('the CLI reports usage errors with exit 2', () => {
  assert.equal(runCli([]).status, 2);
  assert.equal(runCli(['inspect']).status, 2);
  const r = runCli(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  for (const budget of ['0', '1.5', 'lots']) {
    const b = runCli(['analyze', fixture('onnx', 'mlp.onnx'), '--memory-budget', budget]);
    assert.equal(b.status, 2, budget);
    assert.equal(b.stderr, `prunescope analyze: --memory-budget must be a positive integer, not '${budget}'\n`);
  }
});

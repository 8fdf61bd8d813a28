/**
 * What every prune shares around its output (pruning/prunedOutput.ts), on committed models: sizes
 * summed over every file of a model (stat'ed here one by one), gzip sizes against zlib's one-shot
 * gzip of each file, the inputs a run must never write, the side files a prune writes, and the
 * side files of a model a forced prune replaces.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { denseOutputBytes, filesOfExistingModel, gzipSize, runInputs, sideFilesOf, totalSize } from '../../src/core/pruning/prunedOutput.ts';
import { fixture, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

const external = [fixture('onnx', 'mlp_external.onnx'), fixture('onnx', 'mlp_external.weights')];
const tfjs = fixture('tfjs', 'cnn');
const tfjsFiles = fs.readdirSync(tfjs).map((f) => path.join(tfjs, f)).sort();

test('sizes count every file: bytes as stat reports them, gzip per file at level 6', async () => {
  const bytes = external.map((f) => fs.statSync(f).size);
  assert.equal(totalSize(external), bytes[0]! + bytes[1]!);
  assert.equal(totalSize([]), 0);
  const gz = external.map((f) => zlib.gzipSync(fs.readFileSync(f), { level: 6 }).length);
  assert.equal(await gzipSize(external), gz[0]! + gz[1]!);
  assert.equal(await gzipSize([]), 0);
  // A file that cannot be read fails the count (it used to crash the process: the read stream's error event had no handler).
  await assert.rejects(gzipSize([external[0]!, path.join(tmp.dir, 'missing.bin')]), /ENOENT/);
  const d = await denseOutputBytes(external, tfjsFiles);
  assert.deepEqual(d, {
    before: bytes[0]! + bytes[1]!,
    after: totalSize(tfjsFiles),
    afterGzip: tfjsFiles.reduce((a, f) => a + zlib.gzipSync(fs.readFileSync(f), { level: 6 }).length, 0),
    afterSparse: totalSize(tfjsFiles),
    afterSparseIsEstimate: true,
  });
  assert.ok(tfjsFiles.length >= 2, 'the TF.js fixture has a manifest and a shard');
});

test("a run's inputs: every file of the model, --data, --labels and the caller's extra files", () => {
  const ck = openCheckpoint(external[0]!);
  const data = fixture('mnist', 'mnist_test_x.npy');
  const plan = path.join(tmp.dir, 'plan.json');
  fs.writeFileSync(plan, '{}');
  const labels = fixture('mnist', 'mnist_test_y.npy');
  const inputs = runInputs(ck, { method: 'magnitude', data, labels, inputFiles: [plan] });
  assert.equal(inputs.match(external[0]!), 'the original model');
  assert.equal(inputs.match(external[1]!), 'a file of the original model (mlp_external.onnx)');
  assert.equal(inputs.match(data), 'the --data input');
  assert.equal(inputs.match(labels), 'the --labels input');
  assert.equal(inputs.match(plan), 'the input plan.json');
  assert.equal(inputs.match(path.join(tmp.dir, 'out.onnx')), undefined);
  assert.equal(runInputs(ck, { method: 'magnitude' }).match(data), undefined);
  ck.close();
});

test('side files: a TF.js shard, ONNX external data only when asked for, none for safetensors', () => {
  const out = path.join(tmp.dir, 'pruned.onnx');
  assert.deepEqual(sideFilesOf('tfjs-layers', path.join(tmp.dir, 'model.json'), { method: 'node' }), ['group1-shard1of1.bin']);
  assert.deepEqual(sideFilesOf('onnx', out, { method: 'node', externalData: 'always' }), ['pruned.onnx.data']);
  assert.deepEqual(sideFilesOf('onnx', out, { method: 'node' }), []);
  assert.deepEqual(sideFilesOf('safetensors', path.join(tmp.dir, 'm.safetensors'), { method: 'magnitude' }), []);
  assert.deepEqual(sideFilesOf('safetensors', path.join(tmp.dir, 'm.safetensors'), { method: 'magnitude', externalData: 'always' }), []);
});

test("a forced prune replaces the old output's side files; a file that is not a model has none", () => {
  const old = path.join(tmp.dir, 'old');
  fs.mkdirSync(old);
  for (const f of external) fs.copyFileSync(f, path.join(old, path.basename(f)));
  assert.deepEqual(filesOfExistingModel(path.join(old, 'mlp_external.onnx')), [path.join(old, 'mlp_external.weights')]);
  assert.deepEqual(filesOfExistingModel(path.join(old, 'missing.onnx')), []);
  const junk = path.join(old, 'junk.onnx');
  fs.writeFileSync(junk, 'not a model');
  assert.deepEqual(filesOfExistingModel(junk), []);
});

/**
 * Verification on inputs the model can take: dynamic dims come from the graph or --input-shape, an
 * original that fails on the generated inputs is reported as such (nothing written), 32 samples by
 * default, and only the measures that mean something for the output (no top-1 on one value per row).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { describeVerification } from '../../src/core/report/describeVerification.ts';
import { floatBytes, runCliAsync, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);
const MODEL = out('frames.onnx');

before(() => {
  // x [batch, samples] → frames [1, 4, 8] → 16 hidden units → one score per frame. The Reshape
  // fixes samples at 32. Hidden units 0–7 feed nothing (w2's rows are 0) and have small w1
  // columns: they score lowest, so pruning half removes exactly them and the outputs do not move.
  const w1 = Array.from({ length: 8 * 16 }, (_, i) => (i % 16 < 8 ? 0.01 : 1) * Math.sin(i + 1));
  const w2 = Array.from({ length: 16 }, (_, j) => (j < 8 ? 0 : Math.cos(j)));
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'frames',
    inputs: [{ name: 'x', elemType: 1, dims: ['batch', 'samples'] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 4, 1] }],
    nodes: [
      { name: 'frame', opType: 'Reshape', inputs: ['x', 'shape'], outputs: ['f'] },
      { name: 'mm1', opType: 'MatMul', inputs: ['f', 'w1'], outputs: ['h'] },
      { name: 'relu', opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'shape', dataType: 7, dims: [3], raw: { length: 24, produce: (emit) => emit(new Uint8Array(BigInt64Array.from([1n, 4n, 8n]).buffer)) } },
      { name: 'w1', dataType: 1, dims: [8, 16], raw: floatBytes(w1) },
      { name: 'w2', dataType: 1, dims: [16, 1], raw: floatBytes(w2) },
    ],
  }).writeToFile(MODEL);
});

test('an original that cannot run on the generated inputs is reported as such, and nothing is written', async () => {
  // Node pruning's analysis meets the same dims first, and says which it chose.
  await assert.rejects(pruneModel(MODEL, out('a.onnx'), { method: 'node', ratio: 0.5, verify: true }), /cannot reshape \[1,512\] to \[1,4,8\].*; dynamic input dims chosen for the analysis: x: \[batch, samples\] → \[1, 512\] \(set them with --input-shape\)$/);
  await assert.rejects(pruneModel(MODEL, out('a.onnx'), { method: 'magnitude', ratio: 0.5, verify: true }), (e: Error) => {
    assert.match(e.message, /^frames\.onnx: onnxruntime-node cannot run the original model on generated inputs \(x \[1, 512\]\): .*The input tensor cannot be reshaped to the requested shape\. Input shape:\{1,512\}, requested shape:\{1,4,8\}; set the dims of dynamic inputs with --input-shape, or give --data$/);
    assert.doesNotMatch(e.message, /onnxruntime_src|::/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.equal(fs.existsSync(out('a.onnx')), false);
  assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.includes('.prunescope-')), []);
});

test('--input-shape sets the dims; 32 samples by default; one value per row: no top-1, and units that feed nothing leave the outputs exactly as they were', async () => {
  const r = await pruneModel(MODEL, out('b.onnx'), { method: 'node', ratio: 0.5, verify: true, inputShapes: [{ name: 'x', dims: [1, 32] }] });
  assert.equal(r.layers.find((l) => l.name === 'w1')!.ratio, 0.5);
  // Multiply-adds per sample at the given dims, before and after (by hand: 4 frames × (8·16 + 16·1), then 8 units).
  assert.deepEqual(r.multiplyAdds, { before: 4 * (8 * 16 + 16), after: 4 * (8 * 8 + 8), unknownLayers: [] });
  assert.equal(r.notes.some((n) => n.includes('dynamic input dims chosen')), false, r.notes.join('; '));
  const v = r.verify!;
  assert.equal(v.samples, 32);
  assert.equal(v.inputs, 'x [1, 32]');
  assert.equal(v.top1Agreement, null);
  assert.equal(v.maxAbs, 0); // the removed units fed nothing
  assert.equal(v.relErr, 0);
  assert.equal(describeVerification(v), 'verified in onnxruntime-node on 32 random inputs (x [1, 32]): max |Δ| 0.000e+0, relative error 0.000e+0, cosine 1.000000');
  // Pruning more than the dead units moves the outputs, and the measures say so.
  const more = await pruneModel(MODEL, out('c.onnx'), { method: 'node', ratio: 0.75, verify: true, inputShapes: [{ name: null, dims: [1, 32] }] });
  assert.ok(more.verify!.maxAbs > 0 && more.verify!.relErr > 0 && more.verify!.cosine < 1);
});

test('CLI: --input-shape for prune, and a malformed one is a usage error', async () => {
  const ok = await runCliAsync(['prune', MODEL, '--method', 'node', '--ratio', '0.5', '--verify', '--input-shape', 'x=1x32', '-o', out('d.onnx')]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^verified in onnxruntime-node on 32 random inputs \(x \[1, 32\]\): max \|Δ\| 0\.000e\+0, relative error 0\.000e\+0, cosine 1\.000000$/m);
  const failing = await runCliAsync(['prune', MODEL, '--method', 'magnitude', '--ratio', '0.5', '--verify', '-o', out('e.onnx')]);
  assert.equal(failing.status, 1);
  assert.match(failing.stderr, /^prunescope: error: frames\.onnx: onnxruntime-node cannot run the original model on generated inputs/);
  assert.equal(failing.stderr.split('\n').filter(Boolean).length, 1, failing.stderr); // onnxruntime's own log stays quiet
  const bad = await runCliAsync(['prune', MODEL, '--method', 'node', '--ratio', '0.5', '--input-shape', 'x=1xK', '-o', out('f.onnx')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--input-shape must look like name=1x3x224x224, not 'x=1xK'/);
  const unknown = await runCliAsync(['prune', MODEL, '--method', 'node', '--ratio', '0.5', '--input-shape', 'z=1x32', '-o', out('g.onnx')]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /--input-shape names 'z', which is not an input of the model \(inputs: x\)/);
});

test('analyze: the dependency groups follow --input-shape, and the report says which dims it had to choose', async () => {
  const chosen = await analyzeModel(MODEL, { workers: 0 });
  assert.deepEqual(chosen.structure!.inputsChosen, ['x: [batch, samples] → [1, 512]']);
  assert.match(chosen.structure!.refusals['w1']!, /cannot reshape \[1,512\] to \[1,4,8\]/);
  const given = await analyzeModel(MODEL, { workers: 0, inputShapes: [{ name: 'x', dims: [1, 32] }] });
  assert.deepEqual(given.structure!.inputsChosen, []);
  const group = given.structure!.groups.find((g) => g.layers.some((l) => l.name === 'w1'))!;
  assert.equal(group.refused, undefined);
  assert.equal(group.classes, 16);
  const cli = await runCliAsync(['analyze', MODEL, '--workers', '0', '--input-shape', 'x=1x32', '--json', out('r.json')]);
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(out('r.json'), 'utf8')).structure.inputsChosen, []);
});

/**
 * Spectral pruning of a TF.js layers-model: the digits MLP rebuilt in tfjs with the ONNX model's
 * exact weights, pruned through tfjs' intermediate outputs, must behave as the ONNX path does.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readNpy } from '../../src/core/formats/npy.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { loadLayersModelFile } from '../../src/core/runtime/loadTfjs.ts';
import { verifyTfjs } from '../../src/core/runtime/verifyTfjs.ts';
import { readChain, writeTfjsChain } from '../../src/core/training/trainGates.ts';
import { fixture, labelsOf, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const ONNX = fixture('onnx', 'digits_mlp.onnx');
const CALIB = fixture('npy', 'digits_calib_x.npy');
const TFJS = path.join(tmp.dir, 'digits', 'model.json');
const heldOut = { data: readNpy(fixture('npy', 'digits_test_x.npy')), labels: labelsOf(fixture('npy', 'digits_test_y.npy')) };

/** The ONNX digits MLP as a tfjs Sequential model with the same weights (kernels transposed by readChain). */
before(async () => {
  const chain = readChain(ONNX);
  await writeTfjsChain(TFJS, { inputShape: chain.inputShape, layers: chain.layers.map((l, i) => ({ ...l, name: `fc${i + 1}` })) });
});

test('TF.js spectral pruning beats node pruning on held-out digits and matches the ONNX path', async () => {
  for (const keep of [0.25, 0.5]) {
    const outT = path.join(tmp.dir, `spectral-${keep}`, 'model.json');
    const outN = path.join(tmp.dir, `node-${keep}`, 'model.json');
    const spectral = await pruneModel(TFJS, outT, { method: 'spectral', ratio: 1 - keep, data: CALIB, float32: true });
    const node = await pruneModel(TFJS, outN, { method: 'node', ratio: 1 - keep, float32: true });
    assert.equal(spectral.paramsAfter, node.paramsAfter);
    const vs = await verifyTfjs(TFJS, outT, heldOut);
    const vn = await verifyTfjs(TFJS, outN, heldOut);
    assert.ok(vs.relErr < vn.relErr && vs.accuracyAfter! >= vn.accuracyAfter!, `keep ${keep}: spectral ${vs.relErr}/${vs.accuracyAfter} vs node ${vn.relErr}/${vn.accuracyAfter}`);
    assert.ok(vs.accuracyAfter! >= (keep === 0.25 ? 0.97 : 0.98) && vs.relErr <= (keep === 0.25 ? 0.1 : 0.05), `keep ${keep}: spectral accuracy ${vs.accuracyAfter}, rel. error ${vs.relErr}`);
    // The same units as the ONNX path, and outputs within float32 noise of its pruned model.
    const onnx = await pruneModel(ONNX, path.join(tmp.dir, `onnx-${keep}.onnx`), { method: 'spectral', ratio: 1 - keep, data: CALIB });
    const { tf } = await loadTfjs();
    const pruned = await loadLayersModelFile(tf, outT);
    const x = tf.tensor2d(heldOut.data.values as Float32Array, heldOut.data.shape as [number, number]);
    const yT = (pruned.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync();
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(onnx.output);
    const yO = (await session.run({ input: new ort.Tensor('float32', heldOut.data.values as Float32Array, heldOut.data.shape) }))['logits']!.data as Float32Array;
    let d2 = 0;
    let n2 = 0;
    for (let i = 0; i < yO.length; i++) {
      d2 += (yT[i]! - yO[i]!) ** 2;
      n2 += yO[i]! ** 2;
    }
    assert.ok(Math.sqrt(d2 / n2) < 1e-4, `TF.js vs ONNX spectral outputs differ by ${Math.sqrt(d2 / n2)}`);
    assert.deepEqual(spectral.layers.map((l) => l.ratio), onnx.layers.map((l) => l.ratio));
  }
});

test('TF.js spectral pruning that would keep every unit is refused, and writes nothing', async () => {
  const out = path.join(tmp.dir, 'all', 'model.json');
  await assert.rejects(pruneModel(TFJS, out, { method: 'spectral', ratio: 0, data: CALIB, float32: true }), /spectral pruning would remove nothing, so nothing was written/);
  assert.equal(fs.existsSync(path.dirname(out)), false);
});

test('TF.js spectral pruning to an error target ε keeps the units the ONNX path keeps, and its plan holds the ratios it cut', async () => {
  const t = await pruneModel(TFJS, path.join(tmp.dir, 'eps', 'model.json'), { method: 'spectral', eps: 0.1, data: CALIB, float32: true });
  const o = await pruneModel(ONNX, path.join(tmp.dir, 'eps.onnx'), { method: 'spectral', eps: 0.1, data: CALIB });
  assert.deepEqual(t.layers.map((l) => l.ratio), o.layers.map((l) => l.ratio));
  assert.ok(t.layers[0]!.ratio > 0.5, `fc1 cut ${t.layers[0]!.ratio}`);
  assert.equal(t.paramsAfter, o.paramsAfter);
  // The plan written for the run is what was cut (1 − kept/units per layer), so replaying it repeats the prune.
  assert.deepEqual(t.plan.layers, t.layers.map((l) => ({ name: l.name, ratio: l.ratio })));
  assert.deepEqual(t.notes, []);
});

test('TF.js spectral pruning says which layers had fewer calibration samples than units (64 samples: fc1 with 128 units, not fc2 with 64)', async () => {
  const t = await pruneModel(TFJS, path.join(tmp.dir, 's64', 'model.json'), { method: 'spectral', ratio: 0.5, samples: 64, data: CALIB, float32: true });
  assert.deepEqual(t.notes, ['fc1/kernel: 64 calibration samples for 128 units: Σ̂ is rank-deficient; use more samples']);
});

/**
 * Spectral pruning on real models in onnxruntime-node: the digits MLP trained by
 * make_digits_mlp.py (calibrated on 512 training digits, measured on 500 held-out ones), against
 * plain node pruning at the same kept units; the exact case (all units kept); a CNN through the
 * conv compensation path; the CLI.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readNpy } from '../../src/core/formats/npy.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { analyseStructure } from '../../src/core/pruning/structured/pruneNodes.ts';
import { spectralTargets } from '../../src/core/pruning/structured/spectralGroups.ts';
import { captureSecondMoments } from '../../src/core/runtime/captureActivations.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyOnnx } from '../../src/core/runtime/verifyOnnx.ts';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { fixture, floatBytes, labelsOf, runCliAsync, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const MODEL = fixture('onnx', 'digits_mlp.onnx');
const CALIB = fixture('npy', 'digits_calib_x.npy');
const heldOut = { data: readNpy(fixture('npy', 'digits_test_x.npy')), labels: labelsOf(fixture('npy', 'digits_test_y.npy')) };

const FLOORS: Record<number, { node: number; spectral: number; spectralErr: number }> = {
  0.25: { node: 0.5, spectral: 0.97, spectralErr: 0.1 },
  0.5: { node: 0.8, spectral: 0.98, spectralErr: 0.05 },
  0.75: { node: 0.92, spectral: 0.98, spectralErr: 0.02 },
};

test('digits MLP: at equal kept units, spectral pruning has a lower held-out output error and no lower accuracy than node pruning', async () => {
  const rows: string[] = ['kept units | node: rel. error, accuracy | spectral: rel. error, accuracy'];
  for (const keep of [0.25, 0.5, 0.75]) {
    const result: Record<string, { relErr: number; acc: number; params: number }> = {};
    for (const method of ['node', 'spectral'] as const) {
      const out = path.join(tmp.dir, `digits-${method}-${keep}.onnx`);
      const r = await pruneModel(MODEL, out, { method, ratio: 1 - keep, ...(method === 'spectral' ? { data: CALIB } : {}) });
      const v = await verifyOnnx(MODEL, out, heldOut);
      result[method] = { relErr: v.relErr, acc: v.accuracyAfter!, params: r.paramsAfter };
    }
    const [n, s] = [result['node']!, result['spectral']!];
    rows.push(`${keep * 100}% | ${n.relErr.toFixed(4)}, ${(100 * n.acc).toFixed(1)}% | ${s.relErr.toFixed(4)}, ${(100 * s.acc).toFixed(1)}%`);
    assert.equal(s.params, n.params, 'the same units are removed in number');
    assert.ok(s.relErr < n.relErr, `keep ${keep}: spectral ${s.relErr} vs node ${n.relErr}`);
    assert.ok(s.acc >= n.acc, `keep ${keep}: spectral accuracy ${s.acc} vs node ${n.acc}`);
    // Floors (held-out accuracy of the original: 98.6%), a little under the README's measured table.
    const floor = FLOORS[keep]!;
    assert.ok(s.acc >= floor.spectral && n.acc >= floor.node && s.relErr <= floor.spectralErr, `keep ${keep}: ${JSON.stringify({ n, s })}`);
  }
  console.log(rows.join('\n')); // the README's table
});

test('a hidden layer whose second half duplicates its first: spectral pruning keeps one copy and compensates the next layer exactly', async () => {
  // x (8) → W1 (8 of 16 units, rows 8..15 copy rows 0..7) → ReLU → W2 → y (4). Units u and u + 8 carry equal activations.
  const rng = new Mulberry32(5);
  const w1 = new Float32Array(16 * 8);
  for (let u = 0; u < 8; u++) for (let j = 0; j < 8; j++) w1[u * 8 + j] = w1[(u + 8) * 8 + j] = rng.uniformOpen() - 0.5;
  const w2 = Float32Array.from({ length: 4 * 16 }, () => rng.uniformOpen() - 0.5);
  const file = path.join(tmp.dir, 'dup.onnx');
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'dup',
    inputs: [{ name: 'x', elemType: 1, dims: ['n', 8] }],
    outputs: [{ name: 'y', elemType: 1, dims: ['n', 4] }],
    nodes: [
      { name: 'fc1', opType: 'Gemm', inputs: ['x', 'w1'], outputs: ['h'], ints: { transB: 1 } },
      { name: 'act', opType: 'Relu', inputs: ['h'], outputs: ['a'] },
      { name: 'fc2', opType: 'Gemm', inputs: ['a', 'w2'], outputs: ['y'], ints: { transB: 1 } },
    ],
    initializers: [
      { name: 'w1', dataType: 1, dims: [16, 8], raw: floatBytes(w1) },
      { name: 'w2', dataType: 1, dims: [4, 16], raw: floatBytes(w2) },
    ],
  }).writeToFile(file);
  const r = await pruneModel(file, path.join(tmp.dir, 'dup-half.onnx'), { method: 'spectral', ratio: 0.5, randomCalibration: true, samples: 256, lambdaRel: 1e-12, verify: true });
  const row = r.layers.find((l) => l.name === 'w1')!;
  assert.equal(row.ratio, 0.5);
  assert.ok(row.relErr! < 1e-5, `activation error ${row.relErr}`); // √(ridge): 1e-6
  // One of each pair is kept, and the next layer takes over the other's weight: the outputs stay.
  assert.ok(r.verify!.relErr < 1e-5, JSON.stringify(r.verify));
  await assert.rejects(pruneModel(file, path.join(tmp.dir, 'dup-none.onnx'), { method: 'spectral', ratio: 0, randomCalibration: true }), /spectral pruning would remove nothing/);
});

test('spectral pruning refuses what node pruning refuses, with the same reasons, and reports N̂(λ)', async () => {
  const node = await pruneModel(MODEL, path.join(tmp.dir, 'n.onnx'), { method: 'node', ratio: 0.5 });
  const spectral = await pruneModel(MODEL, path.join(tmp.dir, 's.onnx'), { method: 'spectral', ratio: 0.5, data: CALIB });
  const kept = (r: typeof node) => r.layers.filter((l) => /^own outputs kept/.test(l.reason ?? '')).map((l) => [l.name, l.reason]);
  assert.deepEqual(kept(spectral), kept(node));
  assert.deepEqual(kept(spectral).map((s) => s[0]), ['4.weight']); // the output layer
  assert.equal(spectral.layers.filter((x) => x.spectral).length, 2);
  for (const l of spectral.layers.filter((x) => x.spectral)) {
    const sp = l.spectral!;
    const dof = sp.eigenvalues.reduce((a, mu) => a + Math.max(0, mu) / (Math.max(0, mu) + sp.lambda), 0);
    assert.ok(Math.abs(dof - sp.degreesOfFreedom) < 1e-9);
    assert.ok(sp.degreesOfFreedom > 0 && sp.degreesOfFreedom < sp.eigenvalues.length);
  }
});

test('a CNN: the conv compensation path beats node pruning on random calibration', async () => {
  const model = fixture('onnx', 'cnn_plain_bn.onnx');
  const node = await pruneModel(model, path.join(tmp.dir, 'cn.onnx'), { method: 'node', ratio: 0.5, verify: true });
  const spectral = await pruneModel(model, path.join(tmp.dir, 'cs.onnx'), { method: 'spectral', ratio: 0.5, randomCalibration: true, samples: 64, verify: true });
  assert.equal(spectral.paramsAfter, node.paramsAfter);
  assert.ok(spectral.verify!.relErr < 0.5 * node.verify!.relErr, `${spectral.verify!.relErr} vs ${node.verify!.relErr}`);
  assert.match(spectral.notes.join('\n'), /data-free/);
});

test('CLI: spectral needs calibration data, and says what it did', async () => {
  const missing = await runCliAsync(['prune', MODEL, '-o', path.join(tmp.dir, 'x.onnx'), '--method', 'spectral', '--ratio', '0.5']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /spectral pruning needs calibration data: --data calib\.npy/);
  const ok = await runCliAsync(['prune', MODEL, '-o', path.join(tmp.dir, 'cli.onnx'), '--method', 'spectral', '--ratio', '0.5', '--data', CALIB, '--theta', '0.3', '--lambda-rel', '1e-4', '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.equal(report.plan.method, 'spectral');
  assert.equal(report.layers.find((l: { name: string }) => l.name === '0.weight').ratio, 0.5);
});

test('CLI: a folder of images calibrates a CNN, and too few samples for a layer are reported', async () => {
  const r = await runCliAsync(['prune', fixture('onnx', 'cnn_plain_bn.onnx'), '-o', path.join(tmp.dir, 'img.onnx'), '--method', 'spectral', '--ratio', '0.25', '--data', fixture('images'), '--image-size', '8x8', '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { notes: string[]; verify: { samples: number; data: string } };
  // conv2's units are read after a global pool: one sample per image, 3 images for 12 units.
  assert.ok(report.notes.includes('conv2.weight: 3 calibration samples for 12 units: Σ̂ is rank-deficient; use more samples'), JSON.stringify(report.notes));
  assert.equal(report.verify.samples, 3);
  const usage = await runCliAsync(['prune', fixture('onnx', 'cnn_plain_bn.onnx'), '-o', path.join(tmp.dir, 'img2.onnx'), '--method', 'spectral', '--ratio', '0.25', '--data', fixture('images')]);
  assert.equal(usage.status, 1);
  assert.match(usage.stderr, /is a folder of images: give their input size \(--image-size HxW/);
});

test('capturing 512 calibration samples of the CNN fixture holds one batch of activations: under 2× the model size, plus Σ̂', async () => {
  const model = fixture('onnx', 'cnn_plain_bn.onnx');
  const ck = openCheckpoint(model);
  const layers = ck.weights.filter((w) => ['conv', 'dense'].includes(w.layer.kind)).map((w) => w.name);
  const found = spectralTargets(analyseStructure(ck), layers).targets;
  const targets = [...new Map([...found.values()].map((t) => [t.tensor, t])).values()];
  ck.close();
  const c = await captureSecondMoments(model, targets, { kind: 'random', samples: 512, seed: 0 });
  assert.equal(c.inputs, 512);
  assert.deepEqual([...c.moments.values()].map((m) => m.samples), [512 * 64, 512]); // conv1: every position is a sample
  const matrices = targets.reduce((a, t) => a + 2 * 8 * t.units ** 2, 0); // accumulator + Σ̂, float64
  const size = fs.statSync(model).size;
  assert.ok(c.peakBatchBytes + matrices < 2 * size + matrices, `${c.peakBatchBytes} B of activations at once vs a ${size} B model`);
  assert.equal(c.peakBatchBytes, 4 * (8 * 8 * 8 + 12)); // one sample: conv1's 8×8×8 map and conv2's 12 pooled channels
});

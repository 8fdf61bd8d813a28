/** `analyze --data`: each layer's activation spectrum and N̂(λ), from real onnxruntime runs. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { LAMBDA_GRID } from '../../src/core/analysis/activationSpectra.ts';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { captureSecondMoments } from '../../src/core/runtime/captureActivations.ts';
import { readCalibration } from '../../src/core/runtime/calibrationInputs.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { REPORT_SCHEMA } from '../../src/core/report/reportSchema.ts';
import { fixture, runCliAsync, tempDir } from '../helpers.ts';
import { leverageDiagonalByElimination } from '../linalgReference.ts';

const tmp = tempDir();
after(tmp.cleanup);
const MODEL = fixture('onnx', 'digits_mlp.onnx');
const CALIB = fixture('npy', 'digits_calib_x.npy');

test('analyze with calibration data: N̂(λ) per layer equals spectral pruning\'s and the eigenvalue formula; the report validates', async () => {
  const report = await analyzeModel(MODEL, { workers: 0, data: CALIB });
  const validate = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(REPORT_SCHEMA);
  assert.ok(validate(report), JSON.stringify(validate.errors));
  assert.deepEqual(report.calibration, { data: CALIB, inputs: 512 });
  const pruned = await pruneModel(MODEL, path.join(tmp.dir, 's.onnx'), { method: 'spectral', ratio: 0.5, data: CALIB });
  for (const name of ['0.weight', '2.weight']) {
    const a = report.layers.find((l) => l.name === name)!.activationSpectrum!;
    assert.equal(a.samples, 512);
    assert.equal(a.eigenvalues.length, a.units);
    a.lambdas.forEach((lambda, i) => {
      const dof = a.eigenvalues.reduce((s, mu) => s + Math.max(0, mu) / (Math.max(0, mu) + lambda), 0);
      assert.ok(Math.abs(dof - a.degreesOfFreedom[i]!) < 1e-9);
    });
    assert.ok(a.degreesOfFreedom.every((d, i) => i === 0 || d < a.degreesOfFreedom[i - 1]!), 'N̂ falls as λ grows');
    assert.ok(Math.abs(a.leverage.reduce((s, q) => s + q, 0) - 1) < 1e-12);
    const p = pruned.layers.find((l) => l.name === name)!.spectral!;
    assert.ok(Math.abs(p.degreesOfFreedom - a.degreesOfFreedom[1]!) < 1e-9, `${name}: ${p.degreesOfFreedom} vs ${a.degreesOfFreedom[1]}`);
  }
  const last = report.layers.find((l) => l.name === '4.weight')!;
  assert.equal(last.activationSpectrum, null);
  assert.ok(last.reasons.some((r) => /activation spectrum: group \d+: it reaches the graph output 'logits'/.test(r)), last.reasons.join('; '));
});

test('N̂(λ) is reported on the grid λ = c·Tr(Σ̂)/m, and the leverage scores are those of λ = 1e-3·Tr(Σ̂)/m, recomputed by elimination from the captured Σ̂', async () => {
  const report = await analyzeModel(MODEL, { workers: 0, data: CALIB, spectra: false });
  for (const name of ['0.weight', '2.weight']) {
    const a = report.layers.find((l) => l.name === name)!.activationSpectrum!;
    assert.deepEqual(a.lambdaRel, [1e-4, 1e-3, 1e-2, 1e-1]);
    assert.deepEqual([...LAMBDA_GRID], a.lambdaRel);
    const scale = a.eigenvalues.reduce((s, mu) => s + mu, 0) / a.units; // Tr(Σ̂) = Σ μ_j
    a.lambdas.forEach((l, i) => assert.ok(Math.abs(l - a.lambdaRel[i]! * scale) < 1e-9 * scale, `${name}: λ${i} = ${l}, c·Tr/m = ${a.lambdaRel[i]! * scale}`));
    const captured = await captureSecondMoments(MODEL, [{ tensor: a.tensor, units: a.units }], { kind: 'data', x: readCalibration(CALIB, 512) });
    const sigma = captured.moments.get(a.tensor)!.matrix();
    let trace = 0;
    for (let i = 0; i < a.units; i++) trace += sigma[i * a.units + i]!;
    const diagonal = leverageDiagonalByElimination(sigma, a.units, (1e-3 * trace) / a.units);
    const dof = diagonal.reduce((x, y) => x + y, 0);
    const expected = diagonal.map((q) => q / dof);
    const worst = Math.max(...expected.map((q, j) => Math.abs(q - a.leverage[j]!)));
    assert.ok(worst < 1e-12, `${name}: leverage off by ${worst}`);
  }
});

test('few samples: Σ̂ is rank-deficient and each layer says so; layers with no spectral target leave the calibration unrun', async () => {
  const few = await analyzeModel(MODEL, { workers: 0, data: CALIB, samples: 8, spectra: false });
  assert.deepEqual(few.calibration, { data: CALIB, inputs: 8 });
  assert.deepEqual(
    few.layers.map((l) => [l.name, l.activationSpectrum?.samples ?? null, l.reasons.filter((r) => r.startsWith('activation spectrum'))]),
    [
      ['0.weight', 8, ['activation spectrum: 8 samples for 128 units, so Σ̂ is rank-deficient']],
      ['2.weight', 8, ['activation spectrum: 8 samples for 64 units, so Σ̂ is rank-deficient']],
      ['4.weight', null, ["activation spectrum: group 2: it reaches the graph output 'logits'"]],
    ],
  );
  const none = await analyzeModel(MODEL, { workers: 0, data: CALIB, layers: /^4\./, spectra: false });
  assert.deepEqual(none.calibration, { data: CALIB, inputs: 0 });
  assert.equal(none.layers[0]!.activationSpectrum, null);
});

test('CLI: analyze --data prints N̂(λ) per layer, and refuses a non-ONNX model', async () => {
  const ok = await runCliAsync(['analyze', MODEL, '--data', CALIB, '--samples', '256', '--workers', '0']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /N̂\(λ\)\/units/);
  assert.match(ok.stdout, /activation spectra from 256 samples of digits_calib_x\.npy/);
  const bad = await runCliAsync(['analyze', fixture('safetensors', 'model.safetensors'), '--data', CALIB]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /activation spectra \(--data\) need an ONNX model/);
});

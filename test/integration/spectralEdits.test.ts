/**
 * spectralEdits called directly on committed models (real onnxruntime for the activations): the
 * report row of every layer, the notes, the ridge and eigenvalues each row carries, and the plan
 * returned for --ratio, --eps and --plan. Runs in well under a second, so it is the first test
 * Stryker's mutants of the spectral ONNX path meet.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { selectLayers } from '../../src/core/pruning/layerPlan.ts';
import { spectralEdits } from '../../src/core/pruning/spectralEdits.ts';
import type { PruneLayerReport, PruneOptions } from '../../src/core/pruning/types.ts';
import { fixture } from '../helpers.ts';

const RANDOM_NOTE = (n: number) => `calibrated on ${n} random inputs (data-free): the units kept reconstruct the activations of noise, not of real data, so the result is weaker than with --data`;

async function run(model: string, o: PruneOptions) {
  const ck = openCheckpoint(fixture('onnx', model));
  const layers: PruneLayerReport[] = [];
  const r = await spectralEdits(ck, selectLayers(ck, o), o, layers, new Map());
  return { ...r, layers };
}

/** The parts of a pruned row that follow from its spectral data: reason, ratio, λ = λ_rel·Tr(Σ̂)/m. */
function checkPrunedRow(l: PruneLayerReport, kept: number, units: number, consumer: string, lambdaRel = 1e-3): void {
  assert.ok(l.spectral, l.name);
  const { degreesOfFreedom, lambda, eigenvalues } = l.spectral;
  assert.equal(l.reason, `${kept} of ${units} units kept; N̂(λ) = ${degreesOfFreedom.toFixed(2)}; ${consumer} compensated`);
  assert.equal(l.ratio, 1 - kept / units);
  assert.equal(l.spectral.consumer, consumer);
  assert.equal(l.skipped, false);
  assert.equal(eigenvalues.length, units);
  eigenvalues.slice(1).forEach((e, i) => assert.ok(e <= eigenvalues[i]!, `${l.name}: eigenvalues descending`));
  const trace = eigenvalues.reduce((a, e) => a + e, 0);
  assert.ok(Math.abs(lambda - (lambdaRel * trace) / units) <= 1e-9 * lambda, `${l.name}: λ ${lambda} vs ${(lambdaRel * trace) / units}`);
  // N̂(λ) = Σ μ/(μ + λ) over the eigenvalues.
  const dof = eigenvalues.reduce((a, e) => a + Math.max(e, 0) / (Math.max(e, 0) + lambda), 0);
  assert.ok(Math.abs(degreesOfFreedom - dof) < 1e-6 * dof, `${l.name}: N̂ ${degreesOfFreedom} vs ${dof}`);
  assert.ok(l.relErr !== null && l.relErr > 0 && l.relErr < 1, `${l.name}: activation error ${l.relErr}`);
}

test('--ratio on the MLP: both hidden layers halved and compensated, the output layer kept with its inputs cut, notes say how it was calibrated', async () => {
  const r = await run('mlp.onnx', { method: 'spectral', ratio: 0.5, randomCalibration: true, samples: 20 });
  assert.deepEqual(
    r.layers.map((l) => [l.name, l.paramsBefore, l.paramsAfter]),
    [['fc1.weight', 640, 320], ['fc2.weight', 512, 128], ['fc3.weight', 160, 80]],
  );
  checkPrunedRow(r.layers[0]!, 16, 32, 'fc2.weight');
  checkPrunedRow(r.layers[1]!, 8, 16, 'fc3.weight');
  assert.deepEqual(r.layers[2], {
    name: 'fc3.weight',
    method: 'spectral',
    ratio: 0,
    paramsBefore: 160,
    paramsAfter: 80,
    relErr: null,
    skipped: false,
    reason: "own outputs kept: group 2: it reaches the graph output 'output'; its inputs shrink with the layers before it",
  });
  // 20 samples for 32 units: Σ̂ of fc1 is rank-deficient; fc2's 16 units are fewer than 20.
  assert.deepEqual(r.notes, [RANDOM_NOTE(20), 'fc1.weight: 20 calibration samples for 32 units: Σ̂ is rank-deficient; use more samples']);
  assert.deepEqual(r.layers[0]!.spectral!.eigenvalues.filter((e) => e > 1e-9).length, 20); // rank ≤ samples
  assert.deepEqual(
    [...r.plan.layers].sort((a, b) => a.name.localeCompare(b.name)),
    [{ name: 'fc1.weight', ratio: 0.5 }, { name: 'fc2.weight', ratio: 0.5 }],
  );
  assert.deepEqual([r.plan.version, r.plan.method, r.plan.centre], [1, 'spectral', 'none']);
  assert.equal(r.planned.sparseSaving, 0);
  assert.deepEqual([...r.planned.edits.replace!.keys()].sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.weight']);
});

test('--eps: each layer keeps as few units as its activation error allows, and the plan records ε; --data calibrates without the random note', async () => {
  const eps = 0.3;
  const r = await run('digits_mlp.onnx', { method: 'spectral', eps, data: fixture('npy', 'digits_calib_x.npy'), lambdaRel: 1e-2, theta: 0.2 });
  assert.ok(!r.notes.some((n) => n.startsWith('calibrated on')), r.notes.join('; '));
  const pruned = r.layers.filter((l) => l.spectral);
  assert.ok(pruned.length >= 2);
  for (const l of pruned) {
    const units = l.spectral!.eigenvalues.length;
    const kept = Math.round((1 - l.ratio) * units);
    checkPrunedRow(l, kept, units, l.spectral!.consumer, 1e-2);
    assert.ok(l.relErr! < eps, `${l.name}: ${l.relErr} ≥ ε`);
    assert.ok(kept < units, `${l.name} kept every unit`);
  }
  assert.deepEqual(r.plan.layers.map((l) => l.eps), pruned.map(() => eps));
  assert.deepEqual(new Set(r.plan.layers.map((l) => `${l.name} ${l.ratio}`)), new Set(pruned.map((l) => `${l.name} ${l.ratio}`)));
});

test('--plan: the plan is returned as given; skipped and unplanned layers get rows that say so, with their cut inputs', async () => {
  const plan = { version: 1, method: 'spectral', layers: [{ name: 'fc1.weight', ratio: 0.25 }, { name: 'fc2.weight', skip: true }] };
  const r = await run('mlp.onnx', { method: 'spectral', plan, randomCalibration: true });
  assert.deepEqual(r.plan, { version: 1, method: 'spectral', centre: 'none', layers: plan.layers });
  assert.deepEqual(r.notes, [RANDOM_NOTE(512)]);
  assert.deepEqual(r.layers.map((l) => l.name), ['fc1.weight', 'fc2.weight', 'fc3.weight']);
  checkPrunedRow(r.layers[0]!, 24, 32, 'fc2.weight');
  assert.equal(r.layers[0]!.paramsAfter, 24 * 20);
  const row = (name: string, paramsBefore: number, paramsAfter: number, reason: string): PruneLayerReport => ({ name, method: 'spectral', ratio: 0, paramsBefore, paramsAfter, relErr: null, skipped: paramsAfter === paramsBefore, reason });
  assert.deepEqual(r.layers.slice(1), [
    row('fc2.weight', 512, 16 * 24, 'skipped by the plan; its inputs shrink with the layers before it'),
    row('fc3.weight', 160, 160, 'not in the plan'),
  ]);
});

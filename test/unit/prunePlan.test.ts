/**
 * Prune plans called directly, on a committed model (test/fixtures/onnx/mlp.onnx, read with the
 * real reader): ratios from ε recomputed from independently sorted curves, the budget's smallest
 * common ε, every refusal of a plan read from JSON, and how a plan's skips and NaN layers reach
 * the layer reports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Checkpoint, WeightTensor } from '../../src/core/checkpoint.ts';
import { UsageError } from '../../src/core/errors.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { applyPlan, buildPlan, selectLayers } from '../../src/core/pruning/layerPlan.ts';
import { parsePlan, planFromBudget, planFromEps, planFromRatio } from '../../src/core/pruning/plan.ts';
import type { PruneLayerReport } from '../../src/core/pruning/types.ts';
import { canonicalShape, readCanonical } from '../../src/core/tensor/layout.ts';
import { gramEigenvalues, singularFromSquared } from '../../src/core/linalg/spectrum.ts';
import { fixture } from '../helpers.ts';

const ck = openCheckpoint(fixture('onnx', 'mlp.onnx'));
const matrices = ck.weights.filter((w) => w.layer.kind === 'dense'); // fc1 32×20, fc2 16×32, fc3 10×16

/** How many of the smallest scores can go with the error strictly below ε: sorted by hand, summed from the small end. */
function prunable(scores: number[], eps: number): number {
  const s = scores.map(Math.abs).sort((a, b) => a - b);
  const total = s.reduce((a, x) => a + x * x, 0);
  let acc = 0;
  let k = 0;
  for (const x of s) {
    acc += x * x;
    if (!(Math.sqrt(acc / total) < eps)) break;
    k++;
  }
  return k;
}

function scoresOf(w: WeightTensor, method: 'magnitude' | 'node' | 'singular', centre: 'none' | 'median'): number[] {
  const v = Array.from(readCanonical(w));
  const [m] = canonicalShape(w.layer.layout, w.shape) as [number];
  const n = v.length / m;
  if (method === 'magnitude') {
    const sorted = [...v].sort((a, b) => a - b);
    const med = centre === 'median' ? (v.length % 2 ? sorted[(v.length - 1) / 2]! : (sorted[v.length / 2 - 1]! + sorted[v.length / 2]!) / 2) : 0;
    return v.map((x) => x - med);
  }
  if (method === 'node') return Array.from({ length: m }, (_, i) => Math.hypot(...v.slice(i * n, (i + 1) * n)));
  return Array.from(singularFromSquared(gramEigenvalues(Float64Array.from(v), m, n)));
}

test('planFromEps: each layer’s ratio is the count of scores below ε over its size, for each method and centre', () => {
  for (const method of ['magnitude', 'node', 'singular'] as const) {
    for (const centre of ['none', 'median'] as const) {
      if (method !== 'magnitude' && centre === 'median') continue;
      for (const eps of [0.05, 0.2, 0.6]) {
        const plan = planFromEps(matrices, method, centre, eps);
        assert.deepEqual([plan.version, plan.method, plan.centre], [1, method, centre]);
        plan.layers.forEach((l, i) => {
          const scores = scoresOf(matrices[i]!, method, centre);
          assert.equal(l.name, matrices[i]!.name);
          assert.equal(l.eps, eps);
          assert.equal(l.ratio, prunable(scores, eps) / scores.length, `${method} ${centre} ε ${eps} ${l.name}`);
        });
      }
    }
  }
  assert.deepEqual(planFromRatio(matrices, 'node', 'none', 0.3).layers, matrices.map((w) => ({ name: w.name, ratio: 0.3 })));
});

test('planFromBudget: the smallest common ε whose ratios keep at most the budget', () => {
  const paramsKept = (method: 'magnitude' | 'node' | 'singular', eps: number) =>
    matrices.reduce((a, w) => {
      const [m, n] = [w.shape[0]!, w.size / w.shape[0]!];
      const k = prunable(scoresOf(w, method, 'none'), eps);
      if (method === 'magnitude') return a + w.size - k;
      if (method === 'node') return a + (m - k) * n;
      return a + Math.min(m * n, (Math.min(m, n) - k) * (m + n));
    }, 0);
  for (const method of ['magnitude', 'node', 'singular'] as const) {
    for (const budget of [1000, 700]) {
      const plan = planFromBudget(matrices, method, 'none', budget);
      const eps = plan.layers[0]!.eps!;
      assert.ok(plan.layers.every((l) => l.eps === eps));
      assert.ok(paramsKept(method, eps) <= budget, `${method} ${budget}`);
      // A slightly smaller ε keeps more than the budget: ε* is the smallest.
      assert.ok(paramsKept(method, eps * (1 - 1e-9)) > budget, `${method} ${budget}: ε ${eps} is not the smallest`);
      plan.layers.forEach((l, i) => assert.equal(l.ratio, prunable(scoresOf(matrices[i]!, method, 'none'), eps) / scoresOf(matrices[i]!, method, 'none').length));
    }
  }
  // A budget at or above the total prunes nothing; a tiny one prunes everything each method can.
  assert.deepEqual(planFromBudget(matrices, 'magnitude', 'none', 1312).layers.map((l) => l.ratio), [0, 0, 0]);
  for (const method of ['magnitude', 'node', 'singular'] as const) assert.equal(paramsKept(method, planFromBudget(matrices, method, 'none', 1).layers[0]!.eps!), 0, method);
});

test('parsePlan: every refusal, and what it keeps of a good plan', () => {
  const bad = (json: unknown, message: string) => assert.throws(() => parsePlan(json, ck, 'magnitude'), (e: Error) => e instanceof UsageError && e.message === message, message);
  for (const json of [null, 3, 'plan', { version: 2, layers: [] }, { version: 1 }, { version: 1, layers: {} }]) bad(json, 'the plan is not a PruneScope plan (version 1 with a layers list)');
  bad({ version: 1, method: 'node', layers: [] }, 'the plan is for --method node, not magnitude');
  bad({ version: 1, layers: [null] }, 'a plan layer has no name');
  bad({ version: 1, layers: [{ ratio: 0.5 }] }, 'a plan layer has no name');
  bad({ version: 1, layers: [{ name: 'fc9.weight', ratio: 0.5 }] }, "the plan names layer 'fc9.weight', which this model does not have");
  for (const ratio of [1, -0.1, '0.5', undefined, NaN]) bad({ version: 1, layers: [{ name: 'fc1.weight', ratio }] }, "the plan's ratio for 'fc1.weight' must be in [0, 1)");
  const layers = [{ name: 'fc1.weight', ratio: 0 }, { name: 'fc2.weight', skip: true }, { name: 'fc3.weight', ratio: 0.75 }];
  assert.deepEqual(parsePlan({ version: 1, method: 'magnitude', centre: 'median', layers }, ck, 'magnitude'), { version: 1, method: 'magnitude', centre: 'median', layers });
  assert.equal(parsePlan({ version: 1, centre: 'mean', layers }, ck, 'magnitude').centre, 'none');
});

test('selectLayers and buildPlan: --layers, the budget net of fixed parameters, plan errors as usage errors', () => {
  assert.deepEqual(selectLayers(ck, { method: 'magnitude' }).map((w) => w.name), ['fc1.weight', 'fc2.weight', 'fc3.weight']);
  assert.deepEqual(selectLayers(ck, { method: 'magnitude', layers: /fc[23]/ }).map((w) => w.name), ['fc2.weight', 'fc3.weight']);
  assert.throws(() => selectLayers(ck, { method: 'magnitude', layers: /conv/ }), { name: 'UsageError', message: '--layers conv matches no weight layer' });
  const eligible = selectLayers(ck, { method: 'magnitude', layers: /fc[12]/ });
  // Everything outside fc1 and fc2 (fc3 and the biases: 160 + 58) is fixed.
  assert.throws(() => buildPlan(ck, eligible, { method: 'magnitude', budget: 218 }), { name: 'UsageError', message: 'a budget of 218 parameters does not even cover the 218 parameters that are not pruned' });
  const byBudget = buildPlan(ck, eligible, { method: 'magnitude', budget: 1000 });
  assert.deepEqual(byBudget, planFromBudget(eligible, 'magnitude', 'none', 1000 - 218));
  assert.deepEqual(buildPlan(ck, eligible, { method: 'magnitude', eps: 0.1, centre: 'median' }), planFromEps(eligible, 'magnitude', 'median', 0.1));
  assert.deepEqual(buildPlan(ck, eligible, { method: 'node', ratio: 0.25 }), planFromRatio(eligible, 'node', 'none', 0.25));
  const plan = { version: 1, layers: [{ name: 'fc1.weight', ratio: 0.5 }] };
  assert.deepEqual(buildPlan(ck, eligible, { method: 'magnitude', plan, eps: 0.1 }), parsePlan(plan, ck, 'magnitude')); // --plan wins
  assert.throws(() => buildPlan(ck, eligible, { method: 'magnitude', plan: { version: 1, method: 'node', layers: [] } }), { name: 'UsageError', message: 'the plan is for --method node, not magnitude' });
});

test('applyPlan: skipped and unplanned layers are reported with their reason, NaN layers are not pruned', () => {
  const nan: WeightTensor = { ...matrices[0]!, name: 'broken.weight', read: () => Float32Array.from({ length: 640 }, (_, i) => (i === 7 ? NaN : 0.1)) };
  const eligible = [...matrices, nan];
  const plan = parsePlan({ version: 1, layers: [{ name: 'fc1.weight', ratio: 0.5 }, { name: 'fc2.weight', skip: true }] }, ck as Checkpoint, 'magnitude');
  plan.layers.push({ name: 'broken.weight', ratio: 0.5 });
  const layers: PruneLayerReport[] = [];
  const { kept, ratio } = applyPlan(plan, eligible, { method: 'magnitude' }, layers);
  assert.deepEqual(kept.map((w) => w.name), ['fc1.weight']);
  assert.equal(ratio('fc1.weight'), 0.5);
  assert.equal(ratio('fc3.weight'), 0);
  const skipped = (name: string, size: number, reason: string): PruneLayerReport => ({ name, method: 'magnitude', ratio: 0, paramsBefore: size, paramsAfter: size, relErr: null, skipped: true, reason });
  assert.deepEqual(layers, [skipped('fc2.weight', 512, 'skipped by the plan'), skipped('fc3.weight', 160, 'not in the plan'), skipped('broken.weight', 640, 'holds NaN values (a corrupted file?): not pruned')]);
});

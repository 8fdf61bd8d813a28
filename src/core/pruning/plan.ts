/**
 * Prune plans: per layer, a ratio (or a skip), shared as JSON by the CLI (`--plan`) and the UI.
 * A plan is built from one ratio for all layers, from a target relative error ε (each layer's
 * curve gives its ratio), or automatically from a parameter budget: the one error level ε* whose
 * per-layer ratios keep at most `budget` parameters — so layers with steeper curves (heavier tails)
 * prune more.
 */
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import { prunableCount, relErrCurve } from '../analysis/curves.ts';
import { median } from '../analysis/order.ts';
import { gramEigenvalues, singularFromSquared } from '../linalg/spectrum.ts';
import { canonicalShape, readCanonical } from '../tensor/layout.ts';
import type { Centre } from './magnitude.ts';

export type PlanMethod = 'magnitude' | 'singular' | 'node' | 'spectral';

export interface PrunePlan {
  version: 1;
  method: PlanMethod;
  centre: Centre;
  /** Per layer: the fraction of weights / singular values / units to remove. */
  layers: Array<{ name: string; ratio: number; skip?: boolean; eps?: number }>;
}

/** The curve a method's ratio is read from, and the parameters kept after removing k scores. */
function layerCurve(w: WeightTensor, method: PlanMethod, centre: Centre): { curve: Float64Array; kept: (k: number) => number } {
  const shape = canonicalShape(w.layer.layout, w.shape);
  const values = readCanonical(w);
  const m = shape[0]!;
  const n = values.length / m;
  if (method === 'magnitude') {
    const c = centre === 'median' ? median(values) : 0;
    return { curve: relErrCurve(values, c), kept: (k) => values.length - k };
  }
  if (method === 'node') {
    const norms = new Float64Array(m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) norms[i] += values[i * n + j]! ** 2;
    return { curve: relErrCurve(norms.map(Math.sqrt)), kept: (k) => (m - k) * n };
  }
  const s = singularFromSquared(gramEigenvalues(values, m, n));
  const len = s.length;
  return { curve: relErrCurve(s), kept: (k) => Math.min(m * n, (len - k) * (m + n)) };
}

/** One ratio for every layer. */
export function planFromRatio(weights: WeightTensor[], method: PlanMethod, centre: Centre, ratio: number): PrunePlan {
  return { version: 1, method, centre, layers: weights.map((w) => ({ name: w.name, ratio })) };
}

/** Each layer pruned as far as its relative error stays strictly below ε. */
export function planFromEps(weights: WeightTensor[], method: PlanMethod, centre: Centre, eps: number): PrunePlan {
  return {
    version: 1,
    method,
    centre,
    layers: weights.map((w) => {
      const { curve } = layerCurve(w, method, centre);
      const n = curve.length - 1;
      return { name: w.name, ratio: n ? prunableCount(curve, eps) / n : 0, eps };
    }),
  };
}

/**
 * The plan that keeps at most `budget` parameters in these layers with the smallest common error
 * level ε*: a bisection on ε over the layers' curves.
 */
export function planFromBudget(weights: WeightTensor[], method: PlanMethod, centre: Centre, budget: number): PrunePlan {
  const curves = weights.map((w) => ({ w, ...layerCurve(w, method, centre) }));
  const keptAt = (eps: number) => curves.reduce((a, c) => a + c.kept(prunableCount(c.curve, eps)), 0);
  const total = keptAt(0);
  if (budget >= total) return planFromRatio(weights, method, centre, 0);
  // Above ε = 1 every score is prunable (the curve ends at 1) and every method keeps 0 parameters,
  // so any budget ≥ 0 is reached by the end of the bisection.
  let lo = 0;
  let hi = 1 + 1e-12;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (keptAt(mid) <= budget) hi = mid;
    else lo = mid;
  }
  return {
    version: 1,
    method,
    centre,
    layers: curves.map((c) => {
      const n = c.curve.length - 1;
      return { name: c.w.name, ratio: n ? prunableCount(c.curve, hi) / n : 0, eps: hi };
    }),
  };
}

/** Checks a plan read from JSON against the model: known layers, ratios in [0, 1), the same method. */
export function parsePlan(json: unknown, ck: Checkpoint, method: PlanMethod): PrunePlan {
  const p = json as Partial<PrunePlan>;
  if (!p || typeof p !== 'object' || p.version !== 1 || !Array.isArray(p.layers)) throw new UsageError('the plan is not a PruneScope plan (version 1 with a layers list)');
  if (p.method !== undefined && p.method !== method) throw new UsageError(`the plan is for --method ${p.method}, not ${method}`);
  const names = new Set(ck.weights.map((w) => w.name));
  for (const l of p.layers) {
    if (!l || typeof l.name !== 'string') throw new UsageError('a plan layer has no name');
    if (!names.has(l.name)) throw new UsageError(`the plan names layer '${l.name}', which this model does not have`);
    if (!l.skip && !(typeof l.ratio === 'number' && l.ratio >= 0 && l.ratio < 1)) throw new UsageError(`the plan's ratio for '${l.name}' must be in [0, 1)`);
  }
  return { version: 1, method, centre: p.centre === 'median' ? 'median' : 'none', layers: p.layers };
}

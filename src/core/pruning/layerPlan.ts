/**
 * Per-layer plans for the methods that prune layer by layer (magnitude, singular value, TF.js
 * node): from --ratio, --eps, --budget or --plan, with NaN/Inf layers skipped.
 */
import { type Checkpoint, MATRIX_KINDS, type WeightTensor } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import { parsePlan, planFromBudget, planFromEps, planFromRatio, type PrunePlan } from './plan.ts';
import { firstNonFinite } from '../formats/samples.ts';

import type { PruneLayerReport, PruneOptions } from './types.ts';

/** The weight matrices and kernels `--layers` selects (all of them without it). */
export function selectLayers(ck: Checkpoint, o: PruneOptions): WeightTensor[] {
  const selected = ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind) && (!o.layers || o.layers.test(w.name)));
  if (o.layers && selected.length === 0) throw new UsageError(`--layers ${o.layers.source} matches no weight layer`);
  return selected;
}

/**
 * Per-layer ratios for `eligible` (and the layers a plan skips). The budget counts every parameter
 * of the model: what the pruned layers may keep is the budget minus everything else.
 */
export function buildPlan(ck: Checkpoint, eligible: WeightTensor[], o: PruneOptions): PrunePlan {
  const centre = o.centre ?? 'none';
  try {
    if (o.plan !== undefined) return parsePlan(o.plan, ck, o.method);
    if (o.eps !== undefined) return planFromEps(eligible, o.method, centre, o.eps);
    if (o.budget !== undefined) {
      const fixed = ck.weights.reduce((a, w) => a + w.size, 0) - eligible.reduce((a, w) => a + w.size, 0);
      if (o.budget <= fixed) throw new UsageError(`a budget of ${o.budget} parameters does not even cover the ${fixed} parameters that are not pruned`);
      return planFromBudget(eligible, o.method, centre, o.budget - fixed);
    }
    return planFromRatio(eligible, o.method, centre, o.ratio!);
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.message);
    throw e;
  }
}

/** Applies a plan's skips (and skips layers holding NaN/Inf) and returns each remaining layer's ratio. */
export function applyPlan(plan: PrunePlan, eligible: WeightTensor[], o: PruneOptions, layers: PruneLayerReport[]): { kept: WeightTensor[]; ratio: (name: string) => number } {
  const byName = new Map(plan.layers.map((l) => [l.name, l]));
  const kept: WeightTensor[] = [];
  const skip = (w: WeightTensor, reason: string) => layers.push({ name: w.name, method: o.method, ratio: 0, paramsBefore: w.size, paramsAfter: w.size, relErr: null, skipped: true, reason });
  for (const w of eligible) {
    const l = byName.get(w.name);
    if (!l || l.skip) {
      skip(w, l ? 'skipped by the plan' : 'not in the plan');
      continue;
    }
    const bad = firstNonFinite(w.read());
    if (bad) skip(w, `holds ${bad.value} values (a corrupted file?): not pruned`);
    else kept.push(w);
  }
  return { kept, ratio: (name) => byName.get(name)?.ratio ?? 0 };
}


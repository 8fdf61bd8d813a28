/**
 * Spectral pruning's calibration inputs, and its ONNX edits over the dependency groups with a
 * report row per layer.
 */
import { type Checkpoint, type WeightTensor } from '../checkpoint.ts';
import { SPECTRAL_DEFAULTS, type SpectralTarget, spectralPrune, type UnitChoice } from './spectralPrune.ts';
import type { Calibration } from '../runtime/captureActivations.ts';
import { readCalibration } from '../runtime/calibrationInputs.ts';
import { sizeAfter } from './onnxNodes.ts';
import { analyseStructure } from './structured/pruneNodes.ts';
import { parsePlan, type PrunePlan } from './plan.ts';

import type { PruneLayerReport, PruneOptions } from './types.ts';
import type { Planned } from './pruneOnnxModel.ts';

export const rankDeficient = (name: string, c: UnitChoice) => `${name}: ${c.samples} calibration samples for ${c.units} units: Σ̂ is rank-deficient; use more samples`;

/** The calibration inputs of spectral pruning (--data, or random with a note saying so). */
export function spectralCalibration(o: PruneOptions, notes: string[], inputDims: ReadonlyMap<string, number[]>): Calibration {
  const samples = o.samples ?? SPECTRAL_DEFAULTS.samples;
  if (o.data) return { kind: 'data', x: readCalibration(o.data, samples, o.image) };
  notes.push(`calibrated on ${samples} random inputs (data-free): the units kept reconstruct the activations of noise, not of real data, so the result is weaker than with --data`);
  return { kind: 'random', samples, seed: 0, inputDims };
}

/** Spectral pruning (ONNX): calibrate, select, compensate over the dependency groups; report rows and the plan used. */
export async function spectralEdits(ck: Checkpoint, eligible: WeightTensor[], o: PruneOptions, layers: PruneLayerReport[], inputDims: ReadonlyMap<string, number[]>): Promise<{ plan: PrunePlan; planned: Planned; notes: string[] }> {
  const notes: string[] = [];
  const calibration = spectralCalibration(o, notes, inputDims);
  let target: SpectralTarget;
  let parsed: PrunePlan | undefined;
  // Layers a plan skips or leaves out: reported as such (their inputs may still shrink).
  const planSkips = new Map<string, string>();
  if (o.eps !== undefined) target = { eps: o.eps };
  else if (o.plan !== undefined) {
    parsed = parsePlan(o.plan, ck, 'spectral');
    const byName = new Map(parsed.layers.map((l) => [l.name, l]));
    for (const w of eligible) if (!byName.get(w.name) || byName.get(w.name)!.skip) planSkips.set(w.name, byName.get(w.name) ? 'skipped by the plan' : 'not in the plan');
    target = { ratio: (name) => byName.get(name)!.ratio };
  } else target = { ratio: () => o.ratio! };
  const all = eligible;
  eligible = eligible.filter((w) => !planSkips.has(w.name));
  const a = analyseStructure(ck, o.inputShapes ?? []);
  if (a.inputs.chosen.length) notes.push(`dynamic input dims chosen for the analysis: ${a.inputs.chosen.join('; ')} (set them with --input-shape)`);
  const r = await spectralPrune(ck.file, a, new Set(eligible.map((w) => w.name)), target, { theta: o.theta ?? SPECTRAL_DEFAULTS.theta, lambdaRel: o.lambdaRel ?? SPECTRAL_DEFAULTS.lambdaRel, calibration });
  for (const x of r.late) notes.push(`group ${x.group} was left whole: ${x.reason}`);
  const byLayer = new Map(r.layers.map((l) => [l.name, l]));
  const refused = new Map(r.refused.map((x) => [x.name, x.reason]));
  for (const w of all) {
    const after = r.graphEdits ? sizeAfter(r.graphEdits, w.name, w.size) : w.size;
    const inputs = after < w.size ? '; its inputs shrink with the layers before it' : '';
    const skipped = planSkips.get(w.name);
    if (skipped) {
      layers.push({ name: w.name, method: 'spectral', ratio: 0, paramsBefore: w.size, paramsAfter: after, relErr: null, skipped: after === w.size, reason: `${skipped}${inputs}` });
      continue;
    }
    const l = byLayer.get(w.name);
    if (l) {
      if (l.samples < l.units) notes.push(rankDeficient(l.name, l));
      layers.push({
        name: l.name,
        method: 'spectral',
        ratio: 1 - l.kept.length / l.units,
        paramsBefore: w.size,
        paramsAfter: after,
        relErr: l.activationError,
        skipped: false,
        reason: `${l.kept.length} of ${l.units} units kept; N̂(λ) = ${l.degreesOfFreedom.toFixed(2)}; ${l.consumer} compensated`,
        spectral: { degreesOfFreedom: l.degreesOfFreedom, lambda: l.lambda, eigenvalues: l.eigenvalues, consumer: l.consumer },
      });
    } else {
      const why = refused.get(w.name) ?? `cut with the group of ${a.dg.groupOf.get(w.name)?.layers[0]?.stored ?? '?'}`;
      layers.push({ name: w.name, method: 'spectral', ratio: 0, paramsBefore: w.size, paramsAfter: after, relErr: null, skipped: after === w.size, reason: refused.has(w.name) ? `own outputs kept: ${why}${inputs}` : why });
    }
  }
  const plan: PrunePlan = parsed ?? { version: 1, method: 'spectral', centre: 'none', layers: r.layers.map((l) => ({ name: l.name, ratio: 1 - l.kept.length / l.units, ...(o.eps !== undefined ? { eps: o.eps } : {}) })) };
  return { plan, planned: { edits: r.edits, sparseSaving: 0 }, notes };
}


/**
 * Pruning a TF.js layers-model: per-layer plans (magnitude on any layer; node, singular and
 * spectral on the Dense layers of Sequential models), written as model.json plus one shard.
 */
import { type Checkpoint } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import { OutputTransaction, yieldToSignals } from '../io/outputTransaction.ts';
import { readModelJson } from '../formats/tfjs/readTfjs.ts';
import { SPECTRAL_DEFAULTS, type SpectralTarget, type UnitChoice } from './spectralPrune.ts';
import { planFromRatio } from './plan.ts';
import { planTfjsPruning, writeTfjsLayersModel } from './pruneTfjs.ts';
import { chooseTfjsSpectral } from './spectralTfjs.ts';
import { verifyTfjs } from '../runtime/verifyTfjs.ts';
import { type VerifyOptions } from '../runtime/verifyOnnx.ts';

import type { PruneLayerReport, PruneOptions, PruneReport } from './types.ts';
import { refuseNothingRemoved } from './pruneOptions.ts';
import { buildPlan, applyPlan, selectLayers } from './layerPlan.ts';
import { denseOutputBytes, verifyStaged } from './prunedOutput.ts';
import { rankDeficient, spectralCalibration } from './spectralEdits.ts';

export async function pruneTfjsModel(ck: Checkpoint, input: string, tx: OutputTransaction, o: PruneOptions, verifyOn: VerifyOptions | null): Promise<PruneReport> {
  const out = tx.model;
  const json = readModelJson(input) as { modelTopology: Record<string, unknown>; weightsManifest: Array<{ weights: unknown[] }> };
  if (json.weightsManifest.reduce((a, g) => a + g.weights.length, 0) !== ck.weights.length) throw new UsageError('the model has non-float weights, which the TF.js writer does not carry over yet');
  const selected = selectLayers(ck, o);
  const layers: PruneLayerReport[] = [];
  const notes: string[] = [];
  // Spectral: ε is an activation-error target, not a curve level; the plan is written afterwards.
  const prunePlan = o.method === 'spectral' && o.eps !== undefined ? planFromRatio(selected, 'spectral', 'none', 0) : buildPlan(ck, selected, o);
  const { kept, ratio } = applyPlan(prunePlan, selected, o, layers);
  let spectral: Map<string, UnitChoice> | undefined;
  if (o.method === 'spectral') {
    const calibration = spectralCalibration(o, notes, new Map());
    const target: SpectralTarget = o.eps !== undefined ? { eps: o.eps } : { ratio };
    spectral = await chooseTfjsSpectral(ck, json.modelTopology, kept, target, { theta: o.theta ?? SPECTRAL_DEFAULTS.theta, lambdaRel: o.lambdaRel ?? SPECTRAL_DEFAULTS.lambdaRel, calibration });
    for (const [name, c] of spectral) {
      if (c.samples < c.units) notes.push(rankDeficient(name, c));
      const entry = prunePlan.layers.find((l) => l.name === name);
      if (entry) entry.ratio = 1 - c.kept.length / c.units;
    }
  }
  const plan = planTfjsPruning(ck, json.modelTopology, o, kept, ratio, layers, spectral);
  refuseNothingRemoved(o, layers);
  await yieldToSignals(o.signal);
  writeTfjsLayersModel({ file: input, json }, tx, plan.topology, plan.weights);
  const verify = await verifyStaged(verifyOn, (on) => verifyTfjs(input, tx.stagedModel, on), o.signal);
  await tx.commit(o.signal);
  const paramsBefore = ck.weights.reduce((a, w) => a + w.size, 0);
  return {
    input,
    output: out,
    method: o.method,
    paramsBefore,
    paramsAfter: paramsBefore - plan.removed,
    bytes: await denseOutputBytes(ck.files, tx.files),
    notes,
    layers,
    plan: prunePlan,
    multiplyAdds: null,
    verify,
  };
}


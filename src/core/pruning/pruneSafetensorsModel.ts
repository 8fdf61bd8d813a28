/**
 * Pruning safetensors: no graph, so node pruning is refused and singular-value pruning writes the
 * dense rank-r reconstruction; every other tensor and the metadata are carried over.
 */
import { type Checkpoint } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import { OutputTransaction, yieldToSignals } from '../io/outputTransaction.ts';
import { canonicalShape, fromCanonical, readCanonical } from '../tensor/layout.ts';
import { writeSafetensors } from '../formats/safetensors/writeSafetensors.ts';
import { pruneSingular, reconstruct } from './singular.ts';
import { encodeFloats } from '../tensor/dtype.ts';
import { pruneMagnitude, pruneMagnitudeGlobal } from './magnitude.ts';

import type { PruneLayerReport, PruneOptions, PruneReport } from './types.ts';
import { refuseNothingRemoved } from './pruneOptions.ts';
import { buildPlan, applyPlan, selectLayers } from './layerPlan.ts';
import { denseOutputBytes, staged } from './prunedOutput.ts';

/**
 * safetensors: no graph, so node pruning (which must shrink consumers) is refused; magnitude and
 * singular-value pruning (as the dense rank-r reconstruction) rewrite tensors in place of shape.
 * Every tensor of the source, including non-float ones, is written to one output file.
 */
export function checkSafetensorsOptions(input: string, o: PruneOptions): void {
  if (o.method === 'node') throw new UsageError('node pruning needs a graph to shrink the next layers; safetensors has none (use magnitude or singular)');
  if (o.verify || o.data) throw new UsageError('--verify needs a runnable model; safetensors holds weights only');
  if (input.endsWith('.index.json')) throw new UsageError('pruning sharded safetensors is not implemented yet (single .safetensors files are)');
}

export async function pruneSafetensorsModel(ck: Checkpoint, input: string, tx: OutputTransaction, o: PruneOptions): Promise<PruneReport> {
  const out = tx.model;
  const selected = selectLayers(ck, o);
  const layers: PruneLayerReport[] = [];
  const prunePlan = buildPlan(ck, selected, o);
  const { kept, ratio } = applyPlan(prunePlan, selected, o, layers);
  const newValues = new Map<string, ArrayLike<number>>();
  let removed = 0;
  if (o.method === 'magnitude') {
    const pruned = o.global ? pruneMagnitudeGlobal(kept.map((w) => w.read()), o.ratio!, o.centre) : kept.map((w) => pruneMagnitude(w.read(), { ratio: ratio(w.name) }, o.centre));
    kept.forEach((w, i) => {
      const p = pruned[i]!;
      newValues.set(w.name, p.values);
      removed += p.k;
      layers.push({ name: w.name, method: o.method, ratio: p.k / p.n, paramsBefore: p.n, paramsAfter: p.n - p.k, relErr: p.relErr, skipped: false });
    });
  } else {
    for (const w of kept) {
      const shape = canonicalShape(w.layer.layout, w.shape);
      const m = shape[0]!;
      const n = w.size / m;
      const f = pruneSingular(readCanonical(w), m, n, ratio(w.name), o.centre);
      newValues.set(w.name, fromCanonical(w.layer.layout, w.shape, reconstruct(f, m, n)));
      layers.push({ name: w.name, method: o.method, ratio: 1 - f.keep / Math.min(m, n), paramsBefore: w.size, paramsAfter: w.size, relErr: f.relErr, skipped: false, reason: `dense rank-${f.rank} reconstruction (safetensors has no graph to factorise into)` });
    }
  }
  const tensors = [
    ...ck.weights.map((w) => {
      const values = newValues.get(w.name);
      return { name: w.name, dtype: w.dtype, shape: w.shape, bytes: values ? encodeFloats(values, w.dtype as 'float32') : w.readBytes() };
    }),
    // Stryker disable next-line ArrayDeclaration: the safetensors reader always sets `carried` (non-float tensors)
    ...(ck.carried ?? []).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.readBytes() })),
  ];
  refuseNothingRemoved(o, layers);
  await yieldToSignals(o.signal);
  writeSafetensors(tx, tensors, { ...ck.metadata, pruned_by: `prunescope ${o.method}` });
  await staged(o.signal);
  await tx.commit(o.signal);
  const paramsBefore = ck.weights.reduce((a, w) => a + w.size, 0);
  return {
    input,
    output: out,
    method: o.method,
    paramsBefore,
    paramsAfter: paramsBefore - removed,
    bytes: await denseOutputBytes(ck.files, tx.files),
    notes: [],
    layers,
    plan: prunePlan,
    multiplyAdds: null,
    verify: null,
  };
}


/**
 * Pruning of TF.js layers-models. Magnitude pruning works on any layers-model; node and
 * singular-value pruning on the Dense layers of Sequential models (node: units removed and the next
 * Dense / BatchNormalization shrunk; singular: a Dense becomes two Dense layers).
 */
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { type KerasLayer, sequentialLayers } from '../formats/tfjs/kerasTopology.ts';
import { type TfjsQuantization, type TfjsWeightOut, writeTfjsLayersModel } from '../formats/tfjs/writeTfjs.ts';
import { pruneMagnitude, pruneMagnitudeGlobal } from './magnitude.ts';
import { pruneSingular, reconstruct } from './singular.ts';
import { transpose2d } from '../tensor/layout.ts';
import { multiplyAlongAxis } from '../tensor/axes.ts';
import type { PruneLayerReport, PruneOptions } from './pruneModel.ts';
import type { UnitChoice } from './spectralPrune.ts';

const PASS = new Set(['Activation', 'Dropout', 'ReLU', 'LeakyReLU', 'ELU', 'Softmax', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

export interface TfjsPlan {
  topology: unknown;
  weights: TfjsWeightOut[];
  removed: number;
}

function quantizationOf(w: WeightTensor, float32: boolean): TfjsQuantization {
  if (float32) return undefined;
  if (w.dtype === 'uint8' || w.dtype === 'uint16' || w.dtype === 'float16') return w.dtype;
  return undefined;
}

/**
 * Where a Dense layer's units go in a Sequential model: through pass-through layers and
 * BatchNormalization (whose vectors shrink with it) to the next Dense kernel, or why not.
 */
export function denseChain(seq: readonly KerasLayer[], at: number, has: (weight: string) => boolean): { vectors: string[]; next: string; nextLayer: string } | { reason: string } {
  const layer = seq[at]!;
  const vectors = has(`${layer.config.name}/bias`) ? [`${layer.config.name}/bias`] : [];
  for (let j = at + 1; j < seq.length; j++) {
    const next = seq[j]!;
    if (PASS.has(next.class_name)) continue;
    if (next.class_name === 'BatchNormalization') {
      for (const p of ['gamma', 'beta', 'moving_mean', 'moving_variance']) if (has(`${next.config.name}/${p}`)) vectors.push(`${next.config.name}/${p}`);
      continue;
    }
    if (next.class_name === 'Dense') return { vectors, next: `${next.config.name}/kernel`, nextLayer: next.config.name };
    return { reason: `its output feeds ${next.class_name} layer ${next.config.name}, which node pruning does not understand` };
  }
  return { reason: "its output is the model's output" };
}

export function planTfjsPruning(
  ck: Checkpoint,
  sourceTopology: Record<string, unknown>,
  o: PruneOptions & { float32?: boolean },
  eligible: WeightTensor[],
  ratioOf: (name: string) => number,
  layers: PruneLayerReport[],
  spectral?: ReadonlyMap<string, UnitChoice>,
): TfjsPlan {
  const topology = structuredClone(sourceTopology);
  const values = new Map<string, { shape: number[]; values: ArrayLike<number> }>(ck.weights.map((w) => [w.name, { shape: w.shape, values: w.read() }]));
  const order = ck.weights.map((w) => w.name);
  let removed = 0;
  const report = (w: WeightTensor, extra: Partial<PruneLayerReport>) => layers.push({ name: w.name, method: o.method, ratio: 0, paramsBefore: w.size, paramsAfter: w.size, relErr: null, skipped: false, ...extra });

  if (o.method === 'magnitude') {
    const pruned = o.global ? pruneMagnitudeGlobal(eligible.map((w) => values.get(w.name)!.values), o.ratio!, o.centre ?? 'none') : eligible.map((w) => pruneMagnitude(values.get(w.name)!.values, { ratio: ratioOf(w.name) }, o.centre ?? 'none'));
    eligible.forEach((w, i) => {
      const p = pruned[i]!;
      values.set(w.name, { shape: w.shape, values: p.values });
      removed += p.k;
      report(w, { ratio: p.k / p.n, paramsAfter: p.n - p.k, relErr: p.relErr });
    });
  } else {
    const seq = sequentialLayers(topology);
    for (const w of eligible) {
      const refuse = (reason: string) => report(w, { skipped: true, reason });
      if (!seq) {
        refuse('node and singular-value pruning of TF.js models need a Sequential model');
        continue;
      }
      const at = seq.findIndex((l) => l.config.name === w.layer.op);
      const layer = seq[at];
      if (!layer || layer.class_name !== 'Dense' || !w.name.endsWith('/kernel')) {
        refuse(`${w.layer.opType} layers are not ${o.method}-pruned in TF.js models yet`);
        continue;
      }
      const [inDim, units] = w.shape as [number, number];
      const kernel = values.get(w.name)!.values;
      if (o.method === 'node' || o.method === 'spectral') {
        const chain = denseChain(seq, at, (n) => values.has(n));
        if ('reason' in chain) {
          refuse(chain.reason);
          continue;
        }
        const shrinkVectors = chain.vectors;
        const shrinkRows = [chain.next];
        const norms = new Float64Array(units);
        for (let i = 0; i < kernel.length; i++) norms[i % units] += kernel[i]! ** 2;
        const k = Math.floor(ratioOf(w.name) * units + 1e-9);
        if (k >= units) throw new Error(`pruning '${w.name}' would remove all ${units} units; refused`);
        const byScore = Array.from(norms.keys()).sort((a, b) => norms[a]! - norms[b]!); // stable: ties keep index order
        const chosen = spectral?.get(w.name);
        if (o.method === 'spectral' && !chosen) {
          refuse('its activations were not captured');
          continue;
        }
        const kept = chosen ? chosen.kept : byScore.slice(k).sort((a, b) => a - b);
        const keepCols = (name: string) => {
          const t = values.get(name)!;
          const [r, c] = t.shape as [number, number];
          const v = new Float64Array(r * kept.length);
          for (let i = 0; i < r; i++) kept.forEach((u, q) => (v[i * kept.length + q] = t.values[i * c + u]!));
          removed += r * c - v.length;
          values.set(name, { shape: [r, kept.length], values: v });
        };
        const keepRows = (name: string) => {
          const t = values.get(name)!;
          const c = t.shape[t.shape.length - 1]!;
          const v = new Float64Array(kept.length * c);
          kept.forEach((u, q) => v.set(Array.from({ length: c }, (_, x) => t.values[u * c + x]!), q * c));
          removed += t.values.length - v.length;
          values.set(name, { shape: [kept.length, c], values: v });
        };
        const keepVector = (name: string) => {
          const t = values.get(name)!;
          removed += t.values.length - kept.length;
          values.set(name, { shape: [kept.length], values: kept.map((u) => t.values[u]!) });
        };
        keepCols(w.name);
        shrinkVectors.forEach(keepVector);
        if (chosen) {
          // Spectral: the next layer reads Â φ_J instead of φ: its kernel rows become Âᵀ K.
          const t = values.get(chain.next)!;
          const c = multiplyAlongAxis(t.values, t.shape, 0, chosen.a, kept.length);
          removed += t.values.length - c.values.length;
          values.set(chain.next, c);
        } else shrinkRows.forEach(keepRows);
        layer.config['units'] = kept.length;
        if (chosen) {
          report(w, { ratio: 1 - kept.length / units, paramsAfter: inDim * kept.length, relErr: chosen.activationError, reason: `${kept.length} of ${units} units kept; N̂(λ) = ${chosen.degreesOfFreedom.toFixed(2)}; ${chain.next} compensated` });
          continue;
        }
        const removedEnergy = byScore.slice(0, k).reduce((a, u) => a + norms[u]!, 0);
        const total = byScore.reduce((a, u) => a + norms[u]!, 0);
        report(w, { ratio: k / units, paramsAfter: inDim * kept.length, relErr: total ? Math.sqrt(removedEnergy / total) : 0, reason: `${kept.length} of ${units} units kept; shrinks ${[...shrinkVectors, ...shrinkRows].join(', ')}` });
      } else {
        // Canonical W = kernelᵀ (units × in); x·kernel = x·Rᵀ·Lᵀ.
        const f = pruneSingular(transpose2d(Float64Array.from(kernel), inDim, units), units, inDim, ratioOf(w.name), o.centre ?? 'none');
        if (f.rank * (units + inDim) < units * inDim) {
          const firstName = `${layer.config.name}_svd_in`;
          const first: KerasLayer = { class_name: 'Dense', config: { name: firstName, units: f.rank, activation: 'linear', use_bias: false, trainable: true, dtype: 'float32', kernel_initializer: layer.config['kernel_initializer'] ?? null, kernel_regularizer: null, kernel_constraint: null, bias_initializer: { class_name: 'Zeros', config: {} }, bias_regularizer: null, bias_constraint: null, activity_regularizer: null } };
          if (layer.config['batch_input_shape']) {
            first.config['batch_input_shape'] = layer.config['batch_input_shape'];
            delete layer.config['batch_input_shape'];
          }
          seq.splice(at, 0, first);
          values.set(`${firstName}/kernel`, { shape: [inDim, f.rank], values: transpose2d(f.right, f.rank, inDim) });
          values.set(w.name, { shape: [f.rank, units], values: transpose2d(f.left, units, f.rank) });
          order.splice(order.indexOf(w.name), 0, `${firstName}/kernel`);
          removed += units * inDim - f.rank * (units + inDim);
          report(w, { ratio: 1 - f.keep / Math.min(units, inDim), paramsAfter: f.rank * (units + inDim), relErr: f.relErr, reason: `factorised into Dense ${firstName} (${inDim}×${f.rank}) and ${layer.config.name} (${f.rank}×${units})` });
        } else {
          values.set(w.name, { shape: [inDim, units], values: transpose2d(reconstruct(f, units, inDim), units, inDim) });
          report(w, { ratio: 1 - f.keep / Math.min(units, inDim), relErr: f.relErr, reason: `dense rank-${f.rank} reconstruction written: it would not save parameters` });
        }
      }
    }
    // A kernel also loses the input rows of units its producer dropped: each row counts what is written.
    if (o.method !== 'singular') for (const row of layers) row.paramsAfter = values.get(row.name)?.values.length ?? row.paramsAfter;
  }
  const byName = new Map(ck.weights.map((w) => [w.name, w]));
  const weights = order.map((name) => {
    const t = values.get(name)!;
    const src = byName.get(name) ?? byName.get(name.replace(/_svd_in\/kernel$/, '/kernel'));
    return { name, shape: t.shape, values: t.values, quantization: src ? quantizationOf(src, o.float32 === true) : undefined };
  });
  return { topology, weights, removed };
}

export { writeTfjsLayersModel };

/**
 * Spectral pruning of an ONNX graph (our implementation of Suzuki et al., spec §3.3–3.5): for each
 * layer that node pruning's dependency analysis accepts, capture Σ̂ of the units the next layer
 * reads, pick the units that best reconstruct all of them (greedy, objective θ·L^A + (1−θ)·L^B),
 * keep those rows, and fold the reconstruction Â into the next layer (W^{ℓ+1} ← W^{ℓ+1} Â).
 * Layers are processed back to front, so a layer's output-aware weight is the next layer's
 * already-pruned matrix.
 *
 * Defaults (documented in the README): θ = 0.5; λ = 1e-3 · Tr(Σ̂)/m; τ_j = λ for every unit.
 */
import type { GraphOp, WeightTensor } from '../checkpoint.ts';
import type { InitializerReplacement } from '../formats/onnx/writeOnnx.ts';
import { type Calibration, captureSecondMoments } from '../runtime/captureActivations.ts';
import { encodeFloats } from '../tensor/dtype.ts';
import { axisToColumns, gatherAxes, multiplyAlongAxis } from '../tensor/axes.ts';
import { type NodePlan, planNodePruning } from './nodeDependencies.ts';
import { compensationMatrix, degreesOfFreedom, eigenvaluesDescending, greedySpectralSelection, objectiveWeight, type SecondMoment } from './spectral.ts';

export interface SpectralSettings {
  theta: number;
  /** λ = lambdaRel · Tr(Σ̂)/m. */
  lambdaRel: number;
  calibration: Calibration;
}

export const SPECTRAL_DEFAULTS = { theta: 0.5, lambdaRel: 1e-3, samples: 512 } as const;

/** One layer's spectral choice: the units kept and the map Â that rebuilds all of them. */
export interface UnitChoice {
  units: number;
  /** Kept units, ascending. */
  kept: number[];
  /** Â = Σ̂_FJ (Σ̂_JJ + I_τ)⁻¹, units × kept, row-major. */
  a: Float64Array;
  /** √(L^A(J)/Tr Σ̂): relative error of reconstructing the layer's activations from the kept units. */
  activationError: number;
  lambda: number;
  degreesOfFreedom: number;
  /** Eigenvalues of Σ̂, descending. */
  eigenvalues: number[];
  /** Samples in Σ̂ (inputs × spatial positions). */
  samples: number;
}

export interface SpectralLayer extends UnitChoice {
  name: string;
  consumer: string;
}

/**
 * Chooses one layer's units (spec §3.3–3.5): λ = lambdaRel·Tr(Σ̂)/m, τ_j = λ, G from the next layer's
 * weight given as (rows × m) columns, the greedy selection up to the target, and Â.
 */
export function chooseUnits(moment: SecondMoment, next: { data: Float64Array; rows: number }, name: string, target: SpectralTarget, s: Pick<SpectralSettings, 'theta' | 'lambdaRel'>): UnitChoice {
  const m = moment.m;
  const sigma = moment.matrix();
  let trace = 0;
  for (let i = 0; i < m; i++) trace += sigma[i * m + i]!;
  const lambda = (s.lambdaRel * (trace > 0 ? trace : 1)) / m;
  const tau = new Float64Array(m).fill(lambda);
  const keep = 'ratio' in target ? m - Math.floor(target.ratio(name) * m + 1e-9) : m;
  if (keep < 1) throw new Error(`pruning '${name}' would remove all ${m} units; refused`);
  const stop = 'eps' in target ? (err: number) => trace <= 0 || err / trace <= target.eps ** 2 : undefined;
  const sel = greedySpectralSelection(sigma, objectiveWeight(m, s.theta, [next]), tau, m, keep, stop);
  const kept = [...sel.order].sort((x, y) => x - y);
  const eigenvalues = eigenvaluesDescending(sigma, m);
  const err = sel.activationError[sel.order.length]!;
  return {
    units: m,
    kept,
    a: compensationMatrix(sigma, m, kept, tau),
    activationError: trace > 0 ? Math.sqrt(Math.max(0, err) / trace) : 0,
    lambda,
    degreesOfFreedom: degreesOfFreedom(eigenvalues, lambda),
    eigenvalues: Array.from(eigenvalues),
    samples: moment.samples,
  };
}

export interface SpectralResult {
  replace: Map<string, InitializerReplacement>;
  staleValues: Set<string>;
  removed: number;
  layers: SpectralLayer[];
  refused: Array<{ name: string; reason: string }>;
  inputs: number;
}

/** Units to keep: a fraction removed (`ratio`), or the smallest set with relative activation error ≤ ε. */
export type SpectralTarget = { ratio: (name: string) => number } | { eps: number };

export async function spectralPrune(file: string, ops: readonly GraphOp[], all: readonly WeightTensor[], eligible: readonly WeightTensor[], target: SpectralTarget, s: SpectralSettings): Promise<SpectralResult> {
  const byName = new Map(all.map((w) => [w.name, w]));
  const opIndex = new Map(ops.map((o, i) => [o.name, i]));
  const plans: Array<Extract<NodePlan, { ok: true }> & { weight: WeightTensor }> = [];
  const refused: SpectralResult['refused'] = [];
  for (const w of eligible) {
    const p = planNodePruning(w, ops, byName);
    if (p.ok) plans.push({ ...p, weight: w });
    else refused.push({ name: w.name, reason: p.reason });
  }
  const result: SpectralResult = { replace: new Map(), staleValues: new Set(), removed: 0, layers: [], refused, inputs: 0 };
  if (plans.length === 0) return result;
  const captured = await captureSecondMoments(file, plans.map((p) => ({ tensor: p.activation, units: p.units })), s.calibration);
  result.inputs = captured.inputs;
  // Working copies of every tensor that changes (a tensor can be shrunk by one layer and compensated by another).
  const work = new Map<string, { values: Float64Array; shape: number[] }>();
  const current = (name: string) => {
    let t = work.get(name);
    if (!t) {
      const w = byName.get(name)!;
      t = { values: Float64Array.from(w.read()), shape: [...w.shape] };
      work.set(name, t);
    }
    return t;
  };
  plans.sort((a, b) => opIndex.get(b.weight.layer.op)! - opIndex.get(a.weight.layer.op)!); // back to front
  for (const p of plans) {
    const consumer = p.shrinks[p.shrinks.length - 1]!;
    const z = current(consumer.tensor);
    const c = chooseUnits(captured.moments.get(p.activation)!, axisToColumns(z.values, z.shape, consumer.axis), p.weight.name, target, s);
    for (const sh of p.shrinks.slice(0, -1)) {
      const t = current(sh.tensor);
      work.set(sh.tensor, gatherAxes(t.values, t.shape, new Map([[sh.axis, c.kept]])));
    }
    work.set(consumer.tensor, multiplyAlongAxis(z.values, z.shape, consumer.axis, c.a, c.kept.length));
    for (const v of p.staleValues) result.staleValues.add(v);
    result.layers.push({ ...c, name: p.weight.name, consumer: consumer.tensor });
  }
  for (const [name, t] of work) {
    const w = byName.get(name)!;
    result.removed += w.size - t.values.length;
    result.replace.set(name, { dims: t.shape, dataType: w.onnx!.dataType, raw: encodeFloats(t.values, w.dtype as 'float32') });
  }
  return result;
}

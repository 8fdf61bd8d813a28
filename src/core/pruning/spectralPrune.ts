/**
 * Spectral pruning of an ONNX graph (our implementation of Suzuki et al., spec §3.3–3.5) over the
 * dependency groups of node pruning: for each group whose units every consumer reads from one
 * activation, capture Σ̂ there, pick the units that best reconstruct all of them (greedy,
 * objective θ·L^A + (1−θ)·L^B, with G from every consumer's weight), cut the others from the whole
 * group, and fold the reconstruction Â into every consumer (W ← W Â). Groups are processed back
 * to front, so a group's output-aware weights are its consumers' already-pruned matrices.
 *
 * Defaults (documented in the README): θ = 0.5; λ = 1e-3 · Tr(Σ̂)/m; τ_j = λ for every unit.
 */
import type { OnnxEdits } from '../formats/onnx/writeOnnx.ts';
import { type Cut, type GraphEdits, planGroupEdits, type ValueSource } from '../graph/pruneGroups.ts';
import { type Calibration, captureSecondMoments } from '../runtime/captureActivations.ts';
import { axisToColumns, gatherAxes, multiplyAlongAxis } from '../tensor/axes.ts';
import { toOnnxEdits } from './structured/onnxGraphEdits.ts';
import { layerRefusal, type StructureAnalysis } from './structured/pruneNodes.ts';
import { spectralGroup, type SpectralGroup } from './structured/spectralGroups.ts';
import { degreesOfFreedom, eigenvaluesDescending, type SecondMoment } from '../linalg/secondMoment.ts';
import { compensationMatrix, greedySpectralSelection, objectiveWeight } from './spectral.ts';

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
  /** The group edits (units cut, consumers compensated), as ONNX writer edits and as graph edits. */
  edits: OnnxEdits;
  graphEdits: GraphEdits | undefined;
  layers: SpectralLayer[];
  refused: Array<{ name: string; reason: string }>;
  inputs: number;
  /** Groups given up while applying the edits (the shape arithmetic could not follow). */
  late: Array<{ group: number; reason: string }>;
}

/** Units to keep: a fraction removed (`ratio`), or the smallest set with relative activation error ≤ ε. */
export type SpectralTarget = { ratio: (name: string) => number } | { eps: number };

/** Constant values with some tensors replaced (consumers compensated, at their full size). */
class Compensated implements ValueSource {
  readonly work = new Map<string, Float64Array>();
  constructor(private readonly base: ValueSource) {}
  read(name: string): Float64Array | undefined {
    return this.work.get(name) ?? this.base.read(name);
  }
}

export async function spectralPrune(file: string, a: StructureAnalysis, eligible: ReadonlySet<string>, target: SpectralTarget, s: SpectralSettings): Promise<SpectralResult> {
  const result: SpectralResult = { edits: { replace: new Map() }, graphEdits: undefined, layers: [], refused: [], inputs: 0, late: [] };
  const groups: SpectralGroup[] = [];
  for (const w of eligible) {
    const gr = a.dg.groupOf.get(w);
    const why = layerRefusal(a, w);
    if (why || !gr) {
      result.refused.push({ name: w, reason: why ?? 'no group' });
      continue;
    }
    if (groups.some((x) => x.planned.group === gr)) continue;
    const sg = spectralGroup(a, a.planned.find((p) => p.group === gr)!);
    if (typeof sg === 'string') result.refused.push({ name: w, reason: `group ${gr.id}: ${sg}` });
    else groups.push(sg);
  }
  if (groups.length === 0) return result;
  const captured = await captureSecondMoments(file, groups.map((x) => ({ tensor: x.tensor, units: x.units, axis: x.axis })), s.calibration);
  result.inputs = captured.inputs;
  const values = new Compensated(a.values);
  const cuts: Cut[] = [];
  // Back to front: a group's consumers have had their own units chosen (and their rows removed) first.
  const position = (t: string) => a.g.tensor(t).producer?.index ?? -1;
  groups.sort((x, y) => position(y.tensor) - position(x.tensor));
  const removedOn = (tensor: string, axis: number): Set<number> => {
    const out = new Set<number>();
    for (const c of cuts) for (const m of c.group.members.values()) if (m.slot.tensor === tensor && m.slot.axis === axis) for (const cls of c.remove) for (const u of c.group.classes[cls]!) for (const j of m.images[u]!) out.add(j);
    return out;
  };
  for (const sg of groups) {
    // G from every consumer: its weight as (rows × m), without the rows later groups removed.
    const parts = sg.consumers.map((c) => {
      const dims = a.shapes.shape.get(c.weight)!;
      const v = values.read(c.weight)!;
      const keep = new Map<number, number[]>();
      dims.forEach((d, ax) => {
        if (ax === c.axis) return;
        const gone = removedOn(c.weight, ax);
        if (gone.size) keep.set(ax, Array.from({ length: d }, (_, i) => i).filter((i) => !gone.has(i)));
      });
      const cut = gatherAxes(v, dims, keep);
      return axisToColumns(cut.values, cut.shape, c.axis);
    });
    const rows = parts.reduce((n, p) => n + p.rows, 0);
    const data = new Float64Array(rows * sg.units);
    let at = 0;
    for (const p of parts) {
      data.set(p.data, at);
      at += p.data.length;
    }
    const c = chooseUnits(captured.moments.get(sg.tensor)!, { data, rows }, sg.layer, target, s);
    const keptSet = new Set(c.kept);
    const remove = sg.planned.group.classes.map((cls, i) => [cls[0]!, i] as const).filter(([u]) => !keptSet.has(u)).map(([, i]) => i);
    cuts.push({ group: sg.planned.group, remove });
    // Â on every consumer, written back at full size into the kept columns (the cut keeps exactly those).
    for (const con of sg.consumers) {
      const dims = a.shapes.shape.get(con.weight)!;
      const v = values.read(con.weight)!;
      const mixed = multiplyAlongAxis(v, dims, con.axis, c.a, c.kept.length);
      const full = Float64Array.from(v);
      const inner = dims.slice(con.axis + 1).reduce((x, y) => x * y, 1);
      const outer = dims.slice(0, con.axis).reduce((x, y) => x * y, 1);
      const m = dims[con.axis]!;
      for (let o = 0; o < outer; o++) c.kept.forEach((u, j) => full.set(mixed.values.subarray((o * c.kept.length + j) * inner, (o * c.kept.length + j + 1) * inner), (o * m + u) * inner));
      values.work.set(con.weight, full);
    }
    result.layers.push({ ...c, name: sg.layer, consumer: sg.consumers.map((x) => x.weight).join(', ') });
  }
  const out = planGroupEdits(a.dg, cuts, values, a.shapes2);
  for (const r of out.refused) result.late.push({ group: r.group.id, reason: r.reason });
  result.edits = toOnnxEdits(a.g, out.edits);
  result.graphEdits = out.edits;
  return result;
}

/**
 * Group importance (spec §4, after DepGraph with p = 2): for each pruning unit (class) of a group,
 * the squared L2 norm of its slice in every scored member, averaged over the members. Scored
 * members are the weight matrices and kernels (their output and their input sides) and the
 * normalisation scales γ; biases, BatchNorm statistics, β and quantization parameters are cut but
 * not scored. Scores are also given divided by their mean over the group's units (the scale a
 * global threshold compares on).
 */
import type { ConstantValues } from './constantValues.ts';
import type { Group, Member } from './dependency.ts';
import type { Shapes } from './shapeInference.ts';

const SCALES = new Set(['BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization']);

export interface GroupScores {
  /** Per class. */
  raw: Float64Array;
  /** raw / mean(raw). */
  normalized: Float64Array;
  /** Members scored. */
  scored: number;
  /** Energy of each class summed over the scored members (for the group's error curve), and the total. */
  energy: Float64Array;
  totalEnergy: number;
}

function scored(m: Member): boolean {
  if (m.pseudo || !m.constant) return false;
  if (m.matrix) return true;
  return m.use !== undefined && m.use.index === 1 && SCALES.has(m.use.node.op);
}

/** Squared norms of every index's slice, for every axis at once (one pass over the values). */
export function axisEnergies(values: ArrayLike<number>, dims: readonly number[]): Float64Array[] {
  const out = dims.map((d) => new Float64Array(d));
  const r = dims.length;
  if (r === 0) return out;
  const idx = new Array<number>(r).fill(0);
  const last = dims[r - 1]!;
  const lastE = out[r - 1]!;
  for (let i = 0; i < values.length; ) {
    // One row of the innermost axis: its sum goes to the outer axes' current indices.
    let row = 0;
    for (let k = 0; k < last; k++, i++) {
      const x = values[i]!;
      const e = x * x;
      lastE[k] += e;
      row += e;
    }
    for (let a = 0; a < r - 1; a++) out[a]![idx[a]!] += row;
    for (let a = r - 2; a >= 0; a--) {
      if (++idx[a]! < dims[a]!) break;
      idx[a] = 0;
    }
  }
  return out;
}

/** Per-axis energies of the tensors scored so far (a weight is scored by the groups of both its sides). */
export type EnergyCache = Map<string, Float64Array[]>;

export function groupImportance(group: Group, values: ConstantValues, shapes: Shapes, cache: EnergyCache = new Map()): GroupScores {
  const k = group.classes.length;
  const raw = new Float64Array(k);
  const energy = new Float64Array(k);
  let totalEnergy = 0;
  let count = 0;
  for (const m of group.members.values()) {
    if (!scored(m)) continue;
    const dims = shapes.shape.get(m.slot.tensor);
    if (!dims) continue;
    let all = cache.get(m.slot.tensor);
    if (!all) {
      const v = values.readOnce(m.slot.tensor);
      if (!v) continue;
      all = axisEnergies(v, dims);
      cache.set(m.slot.tensor, all);
    }
    const e = all[m.slot.axis]!;
    count++;
    group.classes.forEach((units, c) => {
      const idx = new Set<number>();
      for (const u of units) for (const j of m.images[u]!) idx.add(j);
      let s = 0;
      for (const j of idx) s += e[j]!;
      raw[c] += s;
      energy[c] += s;
    });
    for (const x of e) totalEnergy += x;
  }
  if (count) for (let c = 0; c < k; c++) raw[c] /= count;
  const mean = raw.reduce((a, b) => a + b, 0) / Math.max(1, k);
  return { raw, normalized: raw.map((x) => (mean > 0 ? x / mean : 0)), scored: count, energy, totalEnergy };
}

/** Classes to keep for ratio r: max(1, ceil((1 − r)·classes)). */
export function keptClasses(classes: number, ratio: number): number {
  return Math.max(1, Math.ceil((1 - ratio) * classes - 1e-9));
}

/** The lowest-scoring classes, `count` of them (ties by index). */
export function lowest(scores: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[a]! - scores[b]! || a - b)
    .slice(0, Math.max(0, count));
}

/**
 * The group's node curve: relative weight error √(removed energy / total) after removing the j
 * lowest-scoring classes, j = 0 … classes (what export removes, over all its scored slices).
 */
export function groupCurve(s: GroupScores): Float64Array {
  const order = lowest(s.raw, s.raw.length);
  const out = new Float64Array(order.length + 1);
  let acc = 0;
  order.forEach((c, j) => {
    acc += s.energy[c]!;
    out[j + 1] = s.totalEnergy > 0 ? Math.sqrt(Math.min(1, acc / s.totalEnergy)) : 0;
  });
  return out;
}

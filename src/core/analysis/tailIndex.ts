/**
 * Per-layer tail indices (heavy-tails.md §2.2–2.3): the MMO α-stable estimator in its three forms
 * (multivariate on rows, univariate on entries, univariate on row norms) and Hill, in paper or
 * robust mode.
 */
import type { Matrix } from './layerMatrix.ts';
import { estimateMmo, mmoCandidates, truncationCandidates } from './mmo.ts';
import { columnMedians, median } from './order.ts';
import { estimateOrder, sortedAbs } from './orderStatistics.ts';
import { Mulberry32, permutation } from './prng.ts';

export type AnalysisMode = 'robust' | 'paper';

export interface TailOptions {
  mode: AnalysisMode;
  /** Seed of this layer's permutations. */
  seed: number;
  permutations: number;
  minSamples: number;
}

export interface StableDiagnostics {
  /** Samples used (after dropping zeros in robust mode). */
  N: number;
  d: number;
  zeroFraction: number;
  candidates: number[];
  /** Per-candidate estimates of the first permutation. */
  perCandidate: number[];
  /** The capped estimate of each permutation (the result is their median). */
  perPermutation: number[];
  truncated: boolean;
}

export type Estimate<D> = { value: number; diagnostics: D } | { value: null; reason: string; diagnostics?: Partial<D> };

export interface TailIndexResult {
  multivariate: Estimate<StableDiagnostics>;
  entries: Estimate<StableDiagnostics>;
  norms: Estimate<StableDiagnostics>;
  hill: Estimate<{ N: number; candidates: number[]; perCandidate: number[] }>;
  alternatives: { moment: number | null; momentRatio: number | null; pickands: number | null; paulauskas: number | null };
}

/** Runs every tail estimator on one layer's `tail` matricisation (values must be finite). */
export function estimateTailIndices(a: Matrix, opts: TailOptions): TailIndexResult {
  const robust = opts.mode === 'robust';
  // Robust mode drops all-zero rows (multivariate, norms) and exact zeros (entries).
  let rows = a.rows;
  let data = a.data;
  const zeroCount = countZeros(a.data);
  if (robust) {
    const keep: number[] = [];
    for (let i = 0; i < a.rows; i++) {
      let nz = false;
      for (let j = 0; j < a.cols && !nz; j++) nz = a.data[i * a.cols + j] !== 0;
      if (nz) keep.push(i);
    }
    if (keep.length !== a.rows) {
      data = new Float64Array(keep.length * a.cols);
      keep.forEach((r, k) => data.set(a.data.subarray(r * a.cols, (r + 1) * a.cols), k * a.cols));
      rows = keep.length;
    }
  }
  const cols = a.cols;
  const colMed = columnMedians(data, rows, cols);
  const centered = new Float64Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) centered[i * cols + j] = data[i * cols + j]! - colMed[j]!;

  const zeroFraction = a.data.length ? zeroCount / a.data.length : 0;
  const rng = new Mulberry32(opts.seed);
  const multivariate = runStable(centered, rows, cols, zeroFraction, opts, rng, true);

  // Entries: the column-centred values (robust: those that were not exact zeros), minus their median.
  let entries: Float64Array;
  if (robust && zeroCount > 0) {
    const kept: number[] = [];
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) kept.push(centered[i]!);
    entries = Float64Array.from(kept);
  } else entries = centered.slice();
  subtractMedian(entries);
  const entriesEstimate = runStable(entries, entries.length, 1, zeroFraction, opts, rng, false);

  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let q = 0;
    for (let j = 0; j < cols; j++) q += centered[i * cols + j]! ** 2;
    norms[i] = Math.sqrt(q);
  }
  subtractMedian(norms);
  const normsEstimate = runStable(norms, rows, 1, zeroFraction, opts, rng, false);

  return { multivariate, entries: entriesEstimate, norms: normsEstimate, ...orderEstimates(entries, opts) };
}

function runStable(
  x: Float64Array,
  n: number,
  d: number,
  zeroFraction: number,
  opts: TailOptions,
  rng: Mulberry32,
  multivariate: boolean,
): Estimate<StableDiagnostics> {
  const base = { N: n, d, zeroFraction };
  if (n < opts.minSamples) return { value: null, reason: `too few samples (N = ${n} < ${opts.minSamples})`, diagnostics: base };
  const perPermutation: number[] = [];
  let first: ReturnType<typeof estimateMmo> | undefined;
  const scratch = multivariate ? undefined : new Float64Array(n);
  for (let p = 0; p < opts.permutations; p++) {
    const order = permutation(n, rng);
    let r;
    try {
      if (multivariate) r = estimateMmo(x, n, d, { allowTruncation: opts.mode === 'robust', order });
      else {
        for (let i = 0; i < n; i++) scratch![i] = x[order[i]!]!; // sequential access for the block sums
        r = estimateMmo(scratch!, n, 1, { allowTruncation: opts.mode === 'robust' });
      }
    } catch (e) {
      return { value: null, reason: `paper mode: ${(e as Error).message}; the authors' code fails here (robust mode truncates)`, diagnostics: base };
    }
    first ??= r;
    perPermutation.push(r.alpha);
  }
  const value = median(perPermutation);
  const diagnostics = { ...base, candidates: first!.candidates, perCandidate: first!.perCandidate, perPermutation, truncated: first!.truncated };
  if (!Number.isFinite(value)) return { value: null, reason: 'constant or identical samples: the block sums do not grow', diagnostics };
  return { value, diagnostics };
}

function orderEstimates(entries: Float64Array, opts: TailOptions): Pick<TailIndexResult, 'hill' | 'alternatives'> {
  const n = entries.length;
  if (n < opts.minSamples) {
    const reason = `too few samples (N = ${n} < ${opts.minSamples})`;
    return { hill: { value: null, reason }, alternatives: { moment: null, momentRatio: null, pickands: null, paulauskas: null } };
  }
  let candidates = mmoCandidates(n);
  if (candidates.includes(1)) candidates = truncationCandidates(n);
  const sorted = sortedAbs(entries);
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const hill = estimateOrder('hill', entries, sorted, candidates);
  return {
    hill: Number.isFinite(hill.alpha)
      ? { value: hill.alpha, diagnostics: { N: n, candidates, perCandidate: hill.perCandidate } }
      : { value: null, reason: 'constant samples: no tail to fit' },
    alternatives: {
      moment: finite(estimateOrder('moment', entries, sorted, candidates).alpha),
      momentRatio: finite(estimateOrder('momentRatio', entries, sorted, candidates).alpha),
      pickands: finite(estimateOrder('pickands', entries, sorted, candidates).alpha),
      paulauskas: finite(estimateOrder('paulauskas', entries, sorted, candidates).alpha),
    },
  };
}

function countZeros(x: Float64Array): number {
  let z = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === 0) z++;
  return z;
}

function subtractMedian(x: Float64Array): void {
  const m = median(x);
  for (let i = 0; i < x.length; i++) x[i] -= m;
}

/**
 * Per-layer tail indices (heavy-tails.md §2.2–2.3): the MMO α-stable estimator in its three forms
 * (multivariate on rows, univariate on entries, univariate on row norms) and Hill, in paper or
 * robust mode.
 */
import type { Matrix } from './layerMatrix.ts';
import { blockSizes, estimateMmo, mmoCandidates, RUNNING_SUM_SPAN, sumLogNorms, truncationCandidates } from './mmo.ts';
import { columnMedians, median, selectKth } from './order.ts';
import { estimateOrder } from './orderStatistics.ts';
import { interleavedPermutationInto, Mulberry32, permutation, shuffleInto } from './prng.ts';

export type AnalysisMode = 'robust' | 'paper';

export interface TailOptions {
  mode: AnalysisMode;
  /** Seed of this layer's permutations. */
  seed: number;
  permutations: number;
  minSamples: number;
  /**
   * How the univariate entries are permuted. 'uniform': uniformly random permutations (Fisher–Yates,
   * or its cache-friendly Rao–Sandelius form above 2¹⁶ samples). 'interleaved': interleavedPermutationInto.
   * Default: interleaved in robust mode above INTERLEAVE_MIN_SAMPLES entries, uniform otherwise (paper mode
   * keeps the spec's permutations).
   */
  permutation?: 'uniform' | 'interleaved';
}

/** Entries above which robust mode interleaves them (below, Fisher–Yates is cheap, and exactly the spec's). */
export const INTERLEAVE_MIN_SAMPLES = 1 << 16;

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
  /** How the samples were permuted: uniformly, or by chunk interleaving (robust mode, entries above 2¹⁶). */
  permutation: 'uniform' | 'interleaved';
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

/**
 * Runs every tail estimator on one layer's `tail` matricisation (values must be finite).
 * Consumes `a.data`: it is centred in place and then reused as scratch; the entries sample lives in
 * `work` when given. A layer thus costs two copies of itself in memory, not five.
 */
export function estimateTailIndices(a: Matrix, opts: TailOptions, work?: Float64Array): TailIndexResult {
  const robust = opts.mode === 'robust';
  const cols = a.cols;
  const zeroCount = countZeros(a.data);
  const zeroFraction = a.data.length ? zeroCount / a.data.length : 0;
  // Robust mode drops all-zero rows (multivariate, norms): compact the kept rows in place.
  let rows = a.rows;
  let data = a.data;
  // Stryker disable next-line EqualityOperator: with no zeros there is no all-zero row, and compaction keeps every row
  if (robust && zeroCount > 0) {
    let kept = 0;
    for (let i = 0; i < a.rows; i++) {
      let nz = false;
      for (let j = 0; j < cols && !nz; j++) nz = data[i * cols + j] !== 0;
      if (!nz) continue;
      // Stryker disable next-line ConditionalExpression: copying a row onto itself changes nothing
      if (kept !== i) data.copyWithin(kept * cols, i * cols, (i + 1) * cols);
      kept++;
    }
    rows = kept;
    data = data.subarray(0, rows * cols);
  }
  const colMed = columnMedians(data, rows, cols);
  // Entries: the column-centred values (robust: those that were not exact zeros), minus their median.
  let count = 0;
  const entriesLength = robust ? data.length - countZeros(data) : data.length;
  const entries = work && work.length >= entriesLength ? work.subarray(0, entriesLength) : new Float64Array(entriesLength);
  // Stryker disable next-line EqualityOperator: one step past the end reads undefined and writes past `entries`' end, which typed arrays drop
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (robust && v === 0) continue;
    entries[count++] = v - colMed[i % cols]!;
  }
  // Centre the matrix in place for the row-based forms.
  // Stryker disable next-line EqualityOperator: a write past a typed array's end is dropped
  for (let i = 0; i < data.length; i++) data[i] -= colMed[i % cols]!;
  const norms = new Float64Array(rows);
  // Stryker disable next-line EqualityOperator: norms[rows] is past the end and dropped
  for (let i = 0; i < rows; i++) {
    let q = 0;
    for (let j = 0; j < cols; j++) q += data[i * cols + j]! ** 2;
    norms[i] = Math.sqrt(q);
  }
  subtractMedian(norms);

  const rng = new Mulberry32(opts.seed);
  const multivariate = runStable(data, rows, cols, zeroFraction, opts, rng);
  // The matrix is no longer needed: it becomes the scratch buffer of the univariate forms.
  const scratch = a.data;
  subtractMedian(entries, scratch);
  const entriesEstimate = runStable(entries, entries.length, 1, zeroFraction, opts, rng, scratch);
  const normsEstimate = runStable(norms, rows, 1, zeroFraction, opts, rng, scratch);
  return { multivariate, entries: entriesEstimate, norms: normsEstimate, ...orderEstimates(entries, opts, scratch) };
}

/**
 * MMO over `opts.permutations` seeded permutations; the result is their median. Multivariate
 * samples are visited through a row permutation; univariate ones are copied into `scratch` and
 * shuffled there, so the block sums read memory sequentially.
 */
function runStable(
  x: Float64Array,
  n: number,
  d: number,
  zeroFraction: number,
  opts: TailOptions,
  rng: Mulberry32,
  scratch?: Float64Array,
): Estimate<StableDiagnostics> {
  const base = { N: n, d, zeroFraction };
  if (n < opts.minSamples) return { value: null, reason: `too few samples (N = ${n} < ${opts.minSamples})`, diagnostics: base };
  // Identical samples centre to exact zeros: L_Y − L_X is then rounding noise, and α̂ any number.
  if (allZero(x, n * d)) return { value: null, reason: 'constant or identical samples: the block sums do not grow', diagnostics: base };
  const perPermutation: number[] = [];
  let first: ReturnType<typeof estimateMmo> | undefined;
  const allowTruncation = opts.mode === 'robust';
  const logSum = sumLogNorms(x, n, d); // L_X is the same for every permutation
  const interleaved = opts.permutation ? opts.permutation === 'interleaved' : allowTruncation && n > INTERLEAVE_MIN_SAMPLES;
  // Without truncation L_X needs only the total, so the permutation may write running sums instead of the samples.
  let summable = false;
  try {
    summable = interleaved && !blockSizes(n, allowTruncation).truncated;
  } catch {
    // the paper rule refuses this N: estimateMmo below says so
  }

  for (let p = 0; p < opts.permutations; p++) {
    let r;
    try {
      // Rows are visited through a permutation; so is a one-column matrix (a 1×1 conv's kernel rows),
      // which has no scratch buffer. Both consume the generator as Fisher–Yates does.
      // Stryker disable next-line EqualityOperator: Fisher–Yates over indices and shuffleInto draw the same permutation up to 2^16 samples, and a uniform one beyond
      if (d > 1 || !scratch) r = estimateMmo(x, n, d, { allowTruncation, order: permutation(n, rng), sumLogNorms: logSum });
      else if (summable) {
        // The permutation writes the running sums the block sums read: one pass fewer.
        const sums = interleavedPermutationInto(x, scratch!.subarray(0, n), rng, RUNNING_SUM_SPAN);
        r = estimateMmo(sums, n, 1, { allowTruncation, sumLogNorms: logSum, summed: true });
      } else {
        const permuted = (interleaved ? interleavedPermutationInto : shuffleInto)(x, scratch!.subarray(0, n), rng);
        r = estimateMmo(permuted, n, 1, { allowTruncation, sumLogNorms: logSum, consume: true });
      }
    } catch (e) {
      // Only the paper rule refuses (prime N); anything else is a defect, not a reason to report.
      if (allowTruncation) throw e;
      return { value: null, reason: `paper mode: ${(e as Error).message}; the authors' code fails here (robust mode truncates)`, diagnostics: base };
    }
    first ??= r;
    perPermutation.push(r.alpha);
  }
  const value = median(perPermutation);
  // Finite: the samples are not all zero, and a candidate whose block sums do not grow gives ∞, capped to 2.
  const how = interleaved && d === 1 && scratch ? 'interleaved' : 'uniform';
  return { value, diagnostics: { ...base, candidates: first!.candidates, perCandidate: first!.perCandidate, perPermutation, permutation: how, truncated: first!.truncated } };
}

function orderEstimates(entries: Float64Array, opts: TailOptions, scratch: Float64Array): Pick<TailIndexResult, 'hill' | 'alternatives'> {
  const n = entries.length;
  if (n < opts.minSamples) {
    const reason = `too few samples (N = ${n} < ${opts.minSamples})`;
    return { hill: { value: null, reason }, alternatives: NO_ALTERNATIVES };
  }
  // All-zero entries are the one case without a tail; otherwise Hill is finite (a zero mean excess gives ∞, capped to 2).
  if (allZero(entries, n)) return { hill: { value: null, reason: 'constant samples: no tail to fit' }, alternatives: NO_ALTERNATIVES };
  let candidates = mmoCandidates(n);
  if (candidates.includes(1)) candidates = truncationCandidates(n);
  const sorted = scratch.subarray(0, n);
  // Stryker disable next-line EqualityOperator: sorted[n] is past the end and dropped
  for (let i = 0; i < n; i++) sorted[i] = Math.abs(entries[i]!);
  // The estimators read only the k_max + 1 largest values: select them, then sort only those (O(N), not O(N log N)).
  const top = Math.min(n, Math.max(...candidates) + 1);
  selectKth(sorted, n - top);
  sorted.subarray(n - top).sort();
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  const hill = estimateOrder('hill', entries, sorted, candidates);
  return {
    hill: { value: hill.alpha, diagnostics: { N: n, candidates, perCandidate: hill.perCandidate } },
    alternatives: {
      moment: finite(estimateOrder('moment', entries, sorted, candidates).alpha),
      momentRatio: finite(estimateOrder('momentRatio', entries, sorted, candidates).alpha),
      pickands: finite(estimateOrder('pickands', entries, sorted, candidates).alpha),
      paulauskas: finite(estimateOrder('paulauskas', entries, sorted, candidates).alpha),
    },
  };
}

const NO_ALTERNATIVES = { moment: null, momentRatio: null, pickands: null, paulauskas: null };

function allZero(x: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (x[i] !== 0) return false;
  return true;
}

function countZeros(x: Float64Array): number {
  let z = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === 0) z++;
  return z;
}

function subtractMedian(x: Float64Array, scratch?: Float64Array): void {
  const m = median(x, scratch);
  for (let i = 0; i < x.length; i++) x[i] -= m;
}

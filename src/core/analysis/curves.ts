/**
 * ℓ2-compressibility curves (heavy-tails.md §2.1): every pruning method's relative error is the
 * same computation on a non-negative score vector — sort |v| ascending, accumulate energy.
 */
import { partitionAtRanks, selectKth } from './order.ts';

/** e[k] = sqrt(Σ_{j≤k} s_j² / Σ s_j²), s = |v − offset| ascending, k = 0..n (0 everywhere for v = offset). */
export function relErrCurve(v: ArrayLike<number>, offset = 0): Float64Array {
  // One buffer: |v − offset| sorted in e[1..n], then turned into the cumulative curve in place.
  const n = v.length;
  const e = new Float64Array(n + 1);
  // Stryker disable next-line EqualityOperator: e[n + 1] is past the end and dropped
  for (let i = 0; i < n; i++) e[i + 1] = Math.abs(v[i]! - offset);
  return curveFromAbs(e);
}

/** Turns e = [_, |v_1|, …, |v_n|] (any order) into the curve, in place. */
export function curveFromAbs(e: Float64Array): Float64Array {
  const n = e.length - 1;
  e[0] = 0;
  e.subarray(1).sort();
  let acc = 0;
  for (let i = 1; i <= n; i++) {
    // Stryker disable next-line AssignmentOperator: a negated running sum divided by a negated total is the same ratio
    acc += e[i]! * e[i]!;
    e[i] = acc;
  }
  if (acc === 0) return e.fill(0);
  for (let k = 1; k <= n; k++) e[k] = Math.sqrt(e[k]! / acc);
  return e;
}

/** What analysis keeps of a curve: its values at the ratio grid and k*(ε) out of n. */
export interface CurveSummary {
  samples: number[];
  k: number;
  n: number;
}

/**
 * sampleCurve and prunableCount of curveFromAbs(e), without sorting all of e (which may be
 * reordered in place). Large inputs go through a histogram (summarizeCurveByBuckets); small ones,
 * and inputs whose values crowd into few buckets, through rank partitioning. The sums differ from
 * the sorted ones by rounding only.
 */
export function summarizeCurveFromAbs(e: Float64Array, ratios: readonly number[], eps: number): CurveSummary {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: both paths give the same summary; the threshold only sets the speed
  if (e.length - 1 >= BUCKETED_MIN) return summarizeCurveByBuckets(e, ratios, eps) ?? summarizeCurveByPartition(e, ratios, eps);
  return summarizeCurveByPartition(e, ratios, eps);
}

/** Scores from which summarizeCurveFromAbs uses the histogram. */
const BUCKETED_MIN = 1 << 16;
/** Buckets by the top 18 bits of a non-negative double (11 of exponent, 7 of mantissa): 2¹⁸ buckets, each 1/128 of a binade. */
const BUCKET_SHIFT = 13;
const BUCKETS = 1 << (31 - BUCKET_SHIFT);

/**
 * The histogram form of the summary, for large n: one pass counts the values and sums their
 * squares per bucket of the float's top bits (a monotone key for non-negative doubles), so every
 * rank's energy is known up to the one bucket the rank falls in; a second pass gathers the values
 * of those buckets only (the grid's and the one where the curve crosses ε, except buckets of exact
 * zeros, which add nothing to any sum), which are sorted. Two
 * passes instead of partitioning at 41 ranks (about six). Returns undefined when those buckets hold
 * more than n/8 values (values crowded together, e.g. quantized weights), for the partition form.
 */
export function summarizeCurveByBuckets(e: Float64Array, ratios: readonly number[], eps: number): CurveSummary | undefined {
  const n = e.length - 1;
  const v = e.subarray(1);
  const high = new Uint32Array(v.buffer, v.byteOffset, 2 * n); // high word of value i at 2i + 1 (little-endian)
  // Count and energy of bucket b side by side (at 2b, 2b + 1): one cache line per value, not two.
  const histogram = new Float64Array(2 * BUCKETS);
  for (let i = 0; i < n; i++) {
    const b = (high[2 * i + 1]! >>> BUCKET_SHIFT) << 1;
    histogram[b]++;
    histogram[b + 1] += v[i]! * v[i]!;
  }
  const count = (b: number) => histogram[2 * b]!;
  const energy = (b: number) => histogram[2 * b + 1]!;
  // Prefixes: before[b] values and below[b] energy lie in buckets < b.
  const before = new Float64Array(BUCKETS + 1);
  const below = new Float64Array(BUCKETS + 1);
  for (let b = 0; b < BUCKETS; b++) {
    before[b + 1] = before[b]! + count(b);
    below[b + 1] = below[b]! + energy(b);
  }
  const total = below[BUCKETS]!;
  const curveAt = (s: number) => (total === 0 ? 0 : Math.sqrt(s / total));
  // The bucket holding the value of rank k (0-based), by binary search on the counts.
  const bucketOf = (k: number) => {
    let lo = 0;
    let hi = BUCKETS - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (before[mid]! <= k) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const at = ratios.map((r) => Math.floor(r * n + 1e-9));
  // k*: the first bucket whose end reaches ε; the count ends inside it (or at n).
  let crossing = -1;
  for (let b = 0; b < BUCKETS; b++) {
    if (count(b) && !(curveAt(below[b + 1]!) < eps)) {
      crossing = b;
      break;
    }
  }
  // Buckets of exact zeros (no energy) need no values: any part of them adds nothing.
  const wanted = new Set(at.filter((k) => k > 0 && k < n).map((k) => bucketOf(k)));
  if (crossing >= 0) wanted.add(crossing);
  for (const b of wanted) if (energy(b) === 0) wanted.delete(b);
  let gathered = 0;
  for (const b of wanted) gathered += count(b);
  if (gathered > n / 8) return undefined;
  // Gather the wanted buckets' values (at most 42 buckets: slot 255 means not wanted), bucket after bucket.
  const slot = new Uint8Array(BUCKETS).fill(255);
  const starts: number[] = [];
  let offset = 0;
  for (const b of [...wanted].sort((p, q) => p - q)) {
    slot[b] = starts.length;
    starts.push(offset);
    offset += count(b);
  }
  const values = new Float64Array(gathered);
  const cursor = Int32Array.from(starts);
  for (let i = 0; i < n; i++) {
    const k = slot[high[2 * i + 1]! >>> BUCKET_SHIFT]!;
    if (k !== 255) values[cursor[k]!++] = v[i]!;
  }
  const part = (b: number) => (slot[b] === 255 ? undefined : values.subarray(starts[slot[b]!]!, starts[slot[b]!]! + count(b)));
  // Σ of the squares of the k smallest values: the j smallest of rank k's bucket are selected, not sorted.
  const energyOfRanks = (k: number) => {
    if (k <= 0) return 0;
    if (k >= n) return total;
    const b = bucketOf(k);
    const values = part(b);
    let s = below[b]!;
    if (!values) return s; // zeros
    const j = k - before[b]!;
    if (j > 0 && j < values.length) selectKth(values, j);
    for (let i = 0; i < j; i++) s += values[i]! * values[i]!;
    return s;
  };
  const samples = at.map((k) => curveAt(energyOfRanks(k)));
  // No bucket reaches ε: every score is prunable. A bucket of zeros reaches ε only from its start
  // (ε ≤ 0), and then none of it is.
  const k = crossing < 0 ? n : countBelow(part(crossing)?.sort() ?? new Float64Array(0), before[crossing]!, below[crossing]!, n, total, eps);
  return { samples, k, n };
}

/**
 * k*(ε) from the part of the sorted scores where the curve crosses ε: the count of scores before
 * it (`k`, whose energy is `s`), plus those of `part` (ascending) that keep the curve below ε.
 */
function countBelow(part: Float64Array, k: number, s: number, n: number, total: number, eps: number): number {
  const curveAt = (x: number) => (total === 0 ? 0 : Math.sqrt(x / total));
  for (let j = 0; j < part.length; j++) {
    s += part[j]! * part[j]!;
    // k = n is the whole energy by definition (curve 1), whatever the order of summation left in s.
    if (!(curveAt(k + 1 === n ? total : s) < eps)) break;
    k++;
  }
  return k;
}

/**
 * The partition form of the summary: the ranks of the ratio grid are selected (partitionAtRanks),
 * the energy of each part between two ranks is summed, and only the part where the curve crosses
 * ε is sorted to find k*. O(n log r) for the 41-point grid instead of O(n log n).
 */
export function summarizeCurveByPartition(e: Float64Array, ratios: readonly number[], eps: number): CurveSummary {
  const n = e.length - 1;
  const v = e.subarray(1);
  const at = ratios.map((r) => Math.floor(r * n + 1e-9));
  const ranks = [...new Set(at)].filter((k) => k > 0 && k < n).sort((a, b) => a - b);
  partitionAtRanks(v, ranks);
  const bounds = [0, ...ranks, n];
  // energy[i] = Σ of the squares of the bounds[i] smallest values
  const energy = new Float64Array(bounds.length);
  for (let i = 1; i < bounds.length; i++) {
    let s = energy[i - 1]!;
    for (let j = bounds[i - 1]!; j < bounds[i]!; j++) s += v[j]! * v[j]!;
    energy[i] = s;
  }
  const total = energy[bounds.length - 1]!;
  const curveAt = (s: number) => (total === 0 ? 0 : Math.sqrt(s / total));
  const samples = at.map((k) => curveAt(energy[bounds.indexOf(k)]!));
  // k*: the last bound below ε, then the values of the next part in order until the curve reaches ε.
  let i = 0;
  while (i + 1 < bounds.length && curveAt(energy[i + 1]!) < eps) i++;
  // Past the last bound the part is empty; with ε ≤ 0 the first value already stops the count.
  const k = countBelow(v.subarray(bounds[i]!, bounds[i + 1]).sort(), bounds[i]!, energy[i]!, n, total, eps);
  return { samples, k, n };
}

/** summarizeCurveFromAbs of the scores |v − offset| (v is not modified). */
export function summarizeCurve(v: ArrayLike<number>, ratios: readonly number[], eps: number, offset = 0): CurveSummary {
  const e = new Float64Array(v.length + 1);
  // Stryker disable next-line EqualityOperator: e[n + 1] is past the end and dropped
  for (let i = 0; i < v.length; i++) e[i + 1] = Math.abs(v[i]! - offset);
  return summarizeCurveFromAbs(e, ratios, eps);
}

/** k*(ε): the number of k in 1..n with e[k] < ε (strict), i.e. how many scores can be pruned. */
export function prunableCount(e: Float64Array, eps: number): number {
  let lo = 1;
  // Stryker disable next-line ArithmeticOperator: probes past the end read undefined, which is never < ε
  let hi = e.length - 1; // e is non-decreasing: binary search for the last e[k] < eps
  let ans = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (e[mid]! < eps) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/** The fixed ratio grid of stored curves: 0, 0.025, …, 1. */
export const CURVE_RATIOS: readonly number[] = Array.from({ length: 41 }, (_, i) => Math.round(i * 25) / 1000);

/** Curve values at pruning ratios r (k = ⌊r·n⌋ scores pruned, as the paper's operators do). */
export function sampleCurve(e: Float64Array, ratios: readonly number[]): number[] {
  const n = e.length - 1;
  return ratios.map((r) => e[Math.floor(r * n + 1e-9)]!);
}

// ── Gaussian reference (closed form, [DERIVED]) ────────────────────────────────────────────

const SQRT2PI = Math.sqrt(2 * Math.PI);

function normalPdf(t: number): number {
  return Math.exp(-0.5 * t * t) / SQRT2PI;
}

/** Standard normal CDF through the Chebyshev erfc approximation of Numerical Recipes (|rel err| < 1.2e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  // Stryker disable next-line EqualityOperator: at x = 0 both branches give ½ (to the approximation's 1e-7)
  return x >= 0 ? 1 - 0.5 * r : 0.5 * r;
}

/** Φ⁻¹(p) by bisection on the CDF (accurate to the CDF's 1e-7: ample for a reference curve). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  let lo = -40;
  let hi = 40;
  // Stryker disable next-line EqualityOperator: the interval is below one ulp long before 100 halvings
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    // Stryker disable next-line EqualityOperator: a tie with p moves the bracket by nothing measurable
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Relative ℓ2 error of pruning the fraction r of smallest |x| from i.i.d. N(0,1): ε² = r − 2tφ(t). */
export function gaussianRelErr(r: number): number {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: at r = 0 the formula gives 0 as well (t = 0)
  if (r <= 0) return 0;
  if (r >= 1) return 1;
  const t = normalQuantile((1 + r) / 2);
  return Math.sqrt(Math.max(0, r - 2 * t * normalPdf(t)));
}

/** The prunable fraction at ε for Gaussian data (inverse of gaussianRelErr). */
export function gaussianPrunableAt(eps: number): number {
  let lo = 0;
  let hi = 1;
  // Stryker disable next-line EqualityOperator: one more halving moves the result by 2⁻⁶¹
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    // Stryker disable next-line EqualityOperator: a tie with ε moves the bracket by nothing measurable
    if (gaussianRelErr(mid) < eps) lo = mid;
    else hi = mid;
  }
  return lo;
}

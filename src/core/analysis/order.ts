/**
 * Medians with numpy semantics (mean of the two middle values for even length), by in-place
 * selection (Floyd–Rivest): O(n) instead of a full sort. Inputs must be NaN-free.
 */

/**
 * Reorders a[left..right] so that a[k] is the k-th smallest, everything before it ≤ and everything
 * after it ≥ (Floyd & Rivest, 1975, Algorithm 489). Ranges above 600 values first select within a
 * window of about n^(2/3) values around k, so the pivot lands within a few √n ranks of k and one
 * partition pass leaves little to do: about n + o(n) comparisons instead of quickselect's ~3n.
 */
function select(a: Float64Array, k: number, left = 0, right = a.length - 1): number {
  while (right > left) {
    // Stryker disable next-line all: the sampling step only sets the speed; any window containing k leaves a correct selection
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      select(a, k, Math.max(left, Math.floor(k - (m * s) / n + sd)), Math.min(right, Math.floor(k + ((n - m) * s) / n + sd)));
    }
    const t = a[k]!;
    let i = left;
    let j = right;
    swap(a, left, k);
    if (a[right]! > t) swap(a, left, right);
    while (i < j) {
      swap(a, i, j);
      i++;
      j--;
      while (a[i]! < t) i++;
      while (a[j]! > t) j--;
    }
    if (a[left] === t) swap(a, left, j);
    else {
      j++;
      swap(a, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
  return a[k]!;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** The k-th smallest value (0-based) of `a`, reordering it (no copy). */
export function selectKth(a: Float64Array, k: number): number {
  return select(a, k);
}

/**
 * Reorders `a` so that, for every rank k in `ranks` (ascending, each in 1..n−1), a[0..k−1] hold
 * the k smallest values: one quickselect per rank, each on the part between its neighbours, so
 * the cost is O(n log r) for r ranks instead of a full sort's O(n log n).
 */
export function partitionAtRanks(a: Float64Array, ranks: readonly number[], lo = 0, hi = a.length, first = 0, last = ranks.length - 1): void {
  if (first > last) return;
  const mid = (first + last) >> 1;
  const k = ranks[mid]!;
  select(a.subarray(lo, hi), k - lo);
  partitionAtRanks(a, ranks, lo, k, first, mid - 1);
  partitionAtRanks(a, ranks, k, hi, mid + 1, last);
}

/** Median of `a`, reordering it (no copy). */
export function medianInPlace(a: Float64Array): number {
  const n = a.length;
  // Stryker disable next-line ConditionalExpression: without it the result is (−∞ + undefined) / 2, NaN too
  if (n === 0) return NaN;
  const hi = select(a, n >> 1);
  if (n % 2) return hi;
  // the lower middle is the largest value left of position n/2
  let lo = -Infinity;
  // Stryker disable next-line EqualityOperator: taking an equal value again changes nothing
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** Median of `values` (copied into `scratch` when given, else into a new buffer). */
export function median(values: ArrayLike<number>, scratch?: Float64Array): number {
  const buf = scratch ? scratch.subarray(0, values.length) : new Float64Array(values.length);
  buf.set(values as ArrayLike<number>);
  return medianInPlace(buf);
}

/** Columns copied out together by columnMedians: 64 doubles = 512 contiguous bytes of every row. */
const COLUMN_TILE = 64;

/**
 * Per-column medians of a row-major rows × cols matrix (median over rows, for each column). The
 * columns are copied out a tile of 64 at a time, so each row is read as one contiguous run instead
 * of one cache line (and often one page) per value.
 */
export function columnMedians(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  const tile = new Float64Array(rows * Math.min(COLUMN_TILE, cols));
  for (let j0 = 0; j0 < cols; j0 += COLUMN_TILE) {
    const w = Math.min(COLUMN_TILE, cols - j0);
    // tile[c·rows + i] = a[i, j0 + c]
    for (let i = 0; i < rows; i++) {
      const r = i * cols + j0;
      for (let c = 0; c < w; c++) tile[c * rows + i] = a[r + c]!;
    }
    for (let c = 0; c < w; c++) out[j0 + c] = medianInPlace(tile.subarray(c * rows, (c + 1) * rows));
  }
  return out;
}

/** Per-row medians (median over the columns of each row). */
export function rowMedians(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  const row = new Float64Array(cols);
  // Stryker disable next-line EqualityOperator: row `rows` is an empty subarray and out[rows] is dropped
  for (let i = 0; i < rows; i++) {
    row.set(a.subarray(i * cols, (i + 1) * cols));
    out[i] = medianInPlace(row);
  }
  return out;
}

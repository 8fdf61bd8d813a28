/** Median with numpy semantics (mean of the two middle values for even length). Input must be NaN-free. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Per-column medians of a row-major rows × cols matrix (median over rows, for each column). */
export function columnMedians(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  const col = new Float64Array(rows);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) col[i] = a[i * cols + j]!;
    col.sort();
    out[j] = rows % 2 ? col[(rows - 1) / 2]! : (col[rows / 2 - 1]! + col[rows / 2]!) / 2;
  }
  return out;
}

/** Per-row medians (median over the columns of each row). */
export function rowMedians(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = median(a.subarray(i * cols, (i + 1) * cols));
  return out;
}

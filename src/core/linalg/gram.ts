/**
 * The smaller Gram matrix of a row-major m × n matrix, in float64, lower triangle only:
 * AᵀA (n × n) when m ≥ n, else AAᵀ (m × m). Rows are consumed four at a time so each pass over the
 * triangle does four multiply-adds per load.
 */
export function smallerGram(a: Float64Array | Float32Array, m: number, n: number): { g: Float64Array; size: number } {
  if (m >= n) return { g: gramOfColumns(a, m, n), size: n };
  return { g: gramOfRows(a, m, n), size: m };
}

/** AᵀA for row-major m × n `a`: sum of rank-1 updates a_r a_rᵀ, lower triangle. */
function gramOfColumns(a: Float64Array | Float32Array, m: number, n: number): Float64Array {
  const g = new Float64Array(n * n);
  const r0 = new Float64Array(n);
  const r1 = new Float64Array(n);
  const r2 = new Float64Array(n);
  const r3 = new Float64Array(n);
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    for (let j = 0; j < n; j++) {
      r0[j] = a[r * n + j]!;
      r1[j] = a[(r + 1) * n + j]!;
      r2[j] = a[(r + 2) * n + j]!;
      r3[j] = a[(r + 3) * n + j]!;
    }
    for (let i = 0; i < n; i++) {
      const x0 = r0[i]!;
      const x1 = r1[i]!;
      const x2 = r2[i]!;
      const x3 = r3[i]!;
      const row = i * n;
      for (let j = 0; j <= i; j++) g[row + j] += x0 * r0[j]! + x1 * r1[j]! + x2 * r2[j]! + x3 * r3[j]!;
    }
  }
  for (; r < m; r++) {
    for (let i = 0; i < n; i++) {
      const x = a[r * n + i]!;
      const row = i * n;
      for (let j = 0; j <= i; j++) g[row + j] += x * a[r * n + j]!;
    }
  }
  return g;
}

/** AAᵀ for row-major m × n `a`: dot products of rows, lower triangle. */
function gramOfRows(a: Float64Array | Float32Array, m: number, n: number): Float64Array {
  const g = new Float64Array(m * m);
  const rows = Array.from({ length: m }, (_, i) => Float64Array.from(a.subarray(i * n, (i + 1) * n)));
  for (let i = 0; i < m; i++) {
    const ri = rows[i]!;
    for (let j = 0; j <= i; j++) {
      const rj = rows[j]!;
      let s = 0;
      for (let k = 0; k < n; k++) s += ri[k]! * rj[k]!;
      g[i * m + j] = s;
    }
  }
  return g;
}

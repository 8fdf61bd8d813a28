/**
 * Stage 1's trailing update (linalg/bandReduction.ts's TrailingUpdate) written out in plain
 * TypeScript, term by term: the statement the onnxruntime graph (runtime/ortLinalg.ts) is tested
 * against, and the update the TypeScript-only tests of the two stages run on.
 */
export async function trailingUpdateReference(a: Float64Array, h: number, v: Float64Array, t: Float64Array, r: number, out: Float64Array): Promise<void> {
  const mul = (x: (i: number, j: number) => number, y: (i: number, j: number) => number, rows: number, inner: number, cols: number) => {
    const o = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) for (let q = 0; q < inner; q++) for (let j = 0; j < cols; j++) o[i * cols + j] += x(i, q) * y(q, j);
    return o;
  };
  const vt = mul((i, q) => v[i * r + q]!, (q, j) => t[q * r + j]!, h, r, r);
  const x = mul((i, q) => a[i * h + q]!, (q, j) => vt[q * r + j]!, h, h, r);
  const m = mul((i, q) => vt[q * r + i]!, (q, j) => x[q * r + j]!, r, h, r); // (VT)ᵀ X
  const vm = mul((i, q) => v[i * r + q]!, (q, j) => m[q * r + j]!, h, r, r);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < h; j++) {
      let s2 = a[i * h + j]!;
      for (let q = 0; q < r; q++) s2 -= (x[i * r + q]! - 0.5 * vm[i * r + q]!) * v[j * r + q]! + v[i * r + q]! * (x[j * r + q]! - 0.5 * vm[j * r + q]!);
      out[i * h + j] = s2;
    }
  }
}

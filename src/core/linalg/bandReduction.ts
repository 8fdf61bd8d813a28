/**
 * Eigenvalues of a dense symmetric matrix in two stages (as LAPACK's dsytrd_sy2sb + dsbtrd, and
 * PLASMA / ELPA, do): (1) orthogonal reduction to a band of half-width b, panel by panel, where a
 * panel's QR is b columns of Householder work here and the trailing two-sided update is a
 * matrix-matrix product handed to `update` (onnxruntime's float64 GEMM, runtime/ortLinalg.ts);
 * (2) the band to tridiagonal form by Givens rotations that chase each bulge off the end, in
 * O(n²b) work on a band of n × (b + 2) values; then the tridiagonal QL of symmetricEigenvalues.ts.
 * Unlike the one-stage reduction, whose every column is a pass over the trailing matrix, almost
 * all of stage 1's flops are GEMM, so it runs at GEMM speed rather than at memory speed.
 */
import { tridiagonalEigenvalues } from './symmetricEigenvalues.ts';

/**
 * One trailing update of stage 1: with A (h × h, row-major, both triangles), V (h × r, row-major,
 * unit lower trapezoidal) and T (r × r, upper triangular), Q = I − V T Vᵀ, it writes QᵀAQ into
 * `out` (h × h) computed as A − Z Vᵀ − V Zᵀ with X = A V T and Z = X − ½ V (Tᵀ Vᵀ X).
 */
export type TrailingUpdate = (a: Float64Array, h: number, v: Float64Array, t: Float64Array, r: number, out: Float64Array) => Promise<void>;

/** The band of a symmetric matrix, lower side: band[c·width + d] = A[c + d][c], d < width. */
export interface SymmetricBand {
  n: number;
  width: number;
  band: Float64Array;
}

/**
 * Householder QR of the h × k panel p (column-major: entry (i, j) at p[j·h + i]), in place: R is
 * left on and above the diagonal. Returns the r = min(h, k) reflectors as V (h × r, row-major, with
 * the implicit unit diagonal and zeros above it written out) and T (r × r, row-major) such that
 * H₀H₁…H_{r−1} = I − V T Vᵀ (LAPACK's dgeqrf + dlarft, forward and columnwise).
 */
export function panelQr(p: Float64Array, h: number, k: number): { v: Float64Array; t: Float64Array; r: number } {
  const r = Math.min(h, k);
  const tau = new Float64Array(r);
  // The reflectors are built in place below the diagonal (contiguous columns, as LAPACK keeps them).
  for (let j = 0; j < r; j++) {
    const col = j * h;
    let tail = 0;
    for (let i = j + 1; i < h; i++) tail += p[col + i]! * p[col + i]!;
    if (tail === 0) continue; // H_j = I (τ = 0): nothing below the diagonal to remove
    const alpha = p[col + j]!;
    const beta = -Math.sign(alpha || 1) * Math.sqrt(alpha * alpha + tail);
    const tj = (beta - alpha) / beta;
    tau[j] = tj;
    const scale = 1 / (alpha - beta);
    for (let i = j + 1; i < h; i++) p[col + i] *= scale;
    p[col + j] = beta;
    // H_j = I − τ v vᵀ on the panel's later columns (v = [1, p[col + j + 1 …]])
    for (let c = j + 1; c < k; c++) {
      const cc = c * h;
      let w = p[cc + j]!;
      for (let i = j + 1; i < h; i++) w += p[col + i]! * p[cc + i]!;
      w *= tj;
      p[cc + j] -= w;
      for (let i = j + 1; i < h; i++) p[cc + i] -= w * p[col + i]!;
    }
  }
  // T: T[j][j] = τ_j, T[0:j, j] = −τ_j · T[0:j, 0:j] · V[:, 0:j]ᵀ v_j
  const t = new Float64Array(r * r);
  const y = new Float64Array(r);
  for (let j = 0; j < r; j++) {
    t[j * r + j] = tau[j]!;
    if (tau[j] === 0) continue;
    const vj = j * h;
    for (let c = 0; c < j; c++) {
      const vc = c * h;
      let s = p[vc + j]!; // v_j[j] = 1
      for (let i = j + 1; i < h; i++) s += p[vc + i]! * p[vj + i]!;
      y[c] = -tau[j]! * s;
    }
    for (let c = 0; c < j; c++) {
      let s = 0;
      for (let q = c; q < j; q++) s += t[c * r + q]! * y[q]!;
      t[c * r + j] = s;
    }
  }
  // V row-major for the products, and R alone left in the panel.
  const v = new Float64Array(h * r);
  for (let j = 0; j < r; j++) {
    const col = j * h;
    v[j * r + j] = 1;
    for (let i = j + 1; i < h; i++) {
      v[i * r + j] = p[col + i]!;
      p[col + i] = 0;
    }
  }
  return { v, t, r };
}

/**
 * Stage 1: the band of half-width b of an orthogonally similar matrix. `a` (n × n, row-major, both
 * triangles) is consumed. Each step stores the leading b × b block and the panel's R in the band,
 * packs the trailing block to the front of its buffer and has `update` transform it into the other
 * buffer, until at most b + 1 rows are left. The two buffers (`a` and `spare`, n² values each, for
 * one solve after another) are all the memory the products use.
 */
export async function reduceToBand(a: Float64Array, n: number, b: number, update: TrailingUpdate, spare: Float64Array = new Float64Array(n * n)): Promise<SymmetricBand> {
  const width = b + 2; // one more than the band: the bulge of stage 2
  const band = new Float64Array(n * width);
  let s: Float64Array = a;
  let other: Float64Array = spare;
  let size = n;
  let offset = 0;
  // Entry (rowOffset + i, j) of the current trailing matrix, for i ≤ last(j), into the band.
  const keep = (cols: number, first: (j: number) => number, last: (j: number) => number, at: (i: number, j: number) => number, rowOffset: number) => {
    for (let j = 0; j < cols; j++) for (let i = first(j); i <= last(j); i++) band[(offset + j) * width + rowOffset + i - j] = at(i, j);
  };
  while (size > b + 1) {
    const h = size - b;
    keep(b, (j) => j, () => b - 1, (i, j) => s[i * size + j]!, 0); // the leading b × b block's lower triangle
    const p = new Float64Array(h * b);
    for (let i = 0; i < h; i++) for (let j = 0; j < b; j++) p[j * h + i] = s[(b + i) * size + j]!;
    const { v, t, r } = panelQr(p, h, b);
    keep(b, () => 0, (j) => Math.min(j, h - 1), (i, j) => p[j * h + i]!, b); // R, upper trapezoidal: A[b + i][j] for i ≤ j
    // A = s[b:, b:] packed to the front of s, row by row (each row moves to a lower index)
    for (let i = 0; i < h; i++) s.copyWithin(i * h, (b + i) * size + b, (b + i) * size + size);
    await update(s.subarray(0, h * h), h, v, t, r, other.subarray(0, h * h));
    [s, other] = [other, s];
    offset += b;
    size = h;
  }
  keep(size, (j) => j, () => size - 1, (i, j) => s[i * size + j]!, 0);
  return { n, width, band };
}

/**
 * Stage 2: the tridiagonal form (d, e; e[i] couples rows i − 1 and i) of a symmetric band matrix of
 * half-width width − 2, by Schwarz's Givens reduction: each element below the subdiagonal is
 * rotated away from the bottom of its column up, and the bulge each rotation leaves b + 1 below the
 * diagonal is chased down by further rotations. The band is overwritten.
 */
export function bandToTridiagonal({ n, width, band }: SymmetricBand): { d: Float64Array; e: Float64Array } {
  const b = width - 2;
  const w1 = width - 1; // A[r][c] is band[c·width + r − c] = band[r·w1 + c·1 + … ]: stepping c by 1 steps the index by w1
  // The rotation in the plane (q − 1, q) that zeroes A[q][k] against A[q − 1][k], applied on both sides.
  const rotate = (q: number, k: number) => {
    const p = q - 1;
    const kp = k * width + p - k; // A[p][k]; A[q][k] is the next entry
    const x = band[kp]!;
    const y = band[kp + 1]!;
    if (y === 0) return;
    // The Gram is scaled into [2⁻¹⁰⁰, 2¹⁰⁰] (linalg/spectrum.ts), so x² + y² neither overflows nor underflows.
    const hyp = Math.sqrt(x * x + y * y);
    const c = x / hyp;
    const sn = y / hyp;
    band[kp] = hyp;
    band[kp + 1] = 0;
    // columns j < p, j ≠ k: A[p][j] and A[q][j] are adjacent, at j·width + p − j
    const first = Math.max(0, q - w1);
    for (let j = first, i = j * width + p - j; j < p; j++, i += w1) {
      if (j === k) continue;
      const u = band[i]!;
      const v = band[i + 1]!;
      band[i] = c * u + sn * v;
      band[i + 1] = c * v - sn * u;
    }
    // the 2 × 2 block: A[p][p], A[q][p] adjacent, A[q][q] at q·width
    const pp = p * width;
    const qq = q * width;
    const app = band[pp]!;
    const apq = band[pp + 1]!;
    const aqq = band[qq]!;
    band[pp] = c * c * app + 2 * c * sn * apq + sn * sn * aqq;
    band[qq] = sn * sn * app - 2 * c * sn * apq + c * c * aqq;
    band[pp + 1] = (c * c - sn * sn) * apq + c * sn * (aqq - app);
    // rows j > q: A[j][p] at pp + j − p and A[j][q] at qq + j − q, both contiguous in j
    const count = Math.min(n - 1, p + w1) - q;
    for (let t = 1, ip = pp + 2, iq = qq + 1; t <= count; t++, ip++, iq++) {
      const u = band[ip]!;
      const v = band[iq]!;
      band[ip] = c * u + sn * v;
      band[iq] = c * v - sn * u;
    }
  };
  for (let k = 0; k < n - 2; k++) {
    for (let r = Math.min(n - 1, k + b); r >= k + 2; r--) {
      rotate(r, k);
      // chase the bulge at (q + b, q − 1) down the band
      for (let q = r + b, col = r - 1; q < n; col = q - 1, q += b) rotate(q, col);
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = band[i * width]!;
  for (let i = 1; i < n; i++) e[i] = band[(i - 1) * width + 1]!;
  return { d, e };
}

/** Eigenvalues (ascending) of the n × n symmetric matrix `a` (both triangles; consumed) by the two stages. */
export async function twoStageEigenvalues(a: Float64Array, n: number, b: number, update: TrailingUpdate, spare?: Float64Array): Promise<Float64Array> {
  if (n === 0) return new Float64Array(0);
  const { d, e } = bandToTridiagonal(await reduceToBand(a, n, b, update, spare));
  return tridiagonalEigenvalues(d, e);
}

/**
 * The smaller Gram matrix of a row-major m × n matrix, in float64, lower triangle only:
 * AᵀA (n × n) when m ≥ n, else AAᵀ (m × m). Blocked as a GEMM is: the long dimension is cut into
 * panels of GRAM_PANEL (a panel of 768 × 64 values fits the L2 cache; for AAᵀ the rows' segments
 * are packed together first) and each panel is added to G by 4 × 4 register tiles, each of which
 * loads 8 values per 16 multiply-adds. G is read and written once per panel, not once per row.
 */
export function smallerGram(a: Float64Array | Float32Array, m: number, n: number): { g: Float64Array; size: number } {
  const size = Math.min(m, n);
  const depth = Math.max(m, n);
  const g = new Float64Array(size * size);
  const panel = new Float64Array(m >= n ? 0 : size * Math.min(GRAM_PANEL, depth));
  for (let k0 = 0; k0 < depth; k0 += GRAM_PANEL) {
    const kc = Math.min(GRAM_PANEL, depth - k0);
    if (m >= n) {
      // AᵀA: the panel is kc whole rows of A, contiguous already: entry (i, t) = a[(k0 + t)·n + i]
      addPanelGram(g, a, k0 * n, 1, n, size, kc);
    } else {
      // AAᵀ: pack the rows' segments k0 … k0 + kc − 1 together: entry (i, t) = panel[i·kc + t]
      for (let i = 0; i < size; i++) {
        const row = i * n + k0;
        for (let t = 0; t < kc; t++) panel[i * kc + t] = a[row + t]!;
      }
      addPanelGram(g, panel, 0, kc, 1, size, kc);
    }
  }
  return { g, size };
}

/** Depth of a packed panel: 64 values per row, so 768 rows take 384 KiB. */
const GRAM_PANEL = 64;

/** g += P Pᵀ (lower triangle) for the size × kc panel P whose entry (i, t) is p[offset + i·si + t·st]. */
function addPanelGram(g: Float64Array, p: Float64Array | Float32Array, offset: number, si: number, st: number, size: number, kc: number): void {
  const full = size - (size % 4);
  for (let i = 0; i < full; i += 4) {
    const p0 = offset + i * si;
    const p1 = p0 + si;
    const p2 = p1 + si;
    const p3 = p2 + si;
    for (let j = 0; j <= i; j += 4) {
      const q0 = offset + j * si;
      const q1 = q0 + si;
      const q2 = q1 + si;
      const q3 = q2 + si;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = 0, o = 0; t < kc; t++, o += st) {
        const x0 = p[p0 + o]!;
        const x1 = p[p1 + o]!;
        const x2 = p[p2 + o]!;
        const x3 = p[p3 + o]!;
        const y0 = p[q0 + o]!;
        const y1 = p[q1 + o]!;
        const y2 = p[q2 + o]!;
        const y3 = p[q3 + o]!;
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const r0 = i * size + j;
      const r1 = r0 + size;
      const r2 = r1 + size;
      const r3 = r2 + size;
      g[r0] += c00;
      g[r1] += c10;
      g[r1 + 1] += c11;
      g[r2] += c20;
      g[r2 + 1] += c21;
      g[r2 + 2] += c22;
      g[r3] += c30;
      g[r3 + 1] += c31;
      g[r3 + 2] += c32;
      g[r3 + 3] += c33;
      if (j < i) {
        // an off-diagonal tile: its upper part is below the diagonal too
        g[r0 + 1] += c01;
        g[r0 + 2] += c02;
        g[r0 + 3] += c03;
        g[r1 + 2] += c12;
        g[r1 + 3] += c13;
        g[r2 + 3] += c23;
      }
    }
  }
  // The last size mod 4 rows, against every row up to themselves.
  for (let i = full; i < size; i++) {
    const pi = offset + i * si;
    for (let j = 0; j <= i; j++) {
      const pj = offset + j * si;
      let s = 0;
      for (let t = 0, o = 0; t < kc; t++, o += st) s += p[pi + o]! * p[pj + o]!;
      g[i * size + j] += s;
    }
  }
}

/**
 * Eigenvalues of a real symmetric matrix in float64: Householder reduction to tridiagonal form
 * (working on the lower triangle only, row-major, so every inner loop is contiguous), then the
 * implicit QL algorithm with Wilkinson shifts. No eigenvectors. O(4/3·n³) + O(n²).
 */

/**
 * Reduces the symmetric n×n matrix `a` (row-major; only the lower triangle is read, and it is
 * overwritten) to tridiagonal form. Returns the diagonal `d` and the sub-diagonal `e` (e[0] = 0).
 *
 * Each step's rank-2 update A22 −= v wᵀ + w vᵀ is applied in the same pass over the trailing
 * triangle as the next step's product A22·v (only the next column is brought up to date first,
 * since the next reflector is built from it): one pass per step instead of two, so each entry is
 * loaded and stored once per step. The pass takes two rows at a time, so the vectors' entries are
 * loaded once per two rows.
 */
export function tridiagonalize(a: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  let v = new Float64Array(n);
  let p = new Float64Array(n);
  // The previous step's update, not yet applied past its first column: A −= pv pwᵀ + pw pvᵀ.
  let pv = new Float64Array(n);
  let pw = new Float64Array(n);
  let pending = false;
  for (let k = 0; k < n - 2; k++) {
    if (pending) for (let i = k; i < n; i++) a[i * n + k] -= pv[i]! * pw[k]! + pw[i]! * pv[k]!;
    // x = a[k+1.., k]; Householder v with v[k+1] = 1 so that (I − β v vᵀ) x = −sign·‖x‖ e1
    let sigma = 0;
    for (let i = k + 2; i < n; i++) sigma += a[i * n + k]! * a[i * n + k]!;
    const x0 = a[(k + 1) * n + k]!;
    d[k] = a[k * n + k]!;
    if (sigma === 0) {
      e[k + 1] = x0;
      if (pending) applyUpdate(a, n, k + 1, pv, pw);
      pending = false;
      continue;
    }
    const norm = Math.sqrt(x0 * x0 + sigma);
    const alpha = x0 <= 0 ? norm : -norm; // new sub-diagonal entry is −alpha
    const v0 = x0 - alpha;
    const beta = -v0 / alpha; // = 2 / (vᵀv) with v scaled so v[k+1] = 1
    v[k + 1] = 1;
    for (let i = k + 2; i < n; i++) v[i] = a[i * n + k]! / v0;
    e[k + 1] = alpha;
    // p = A22 · v over the lower triangle of the trailing block (rows/cols k+1..n−1), each entry
    // first brought up to date with the pending update.
    p.fill(0, k + 1, n);
    let i = k + 1;
    // Two rows at a time: v[j], p[j] and the pending update's entries are loaded once for both.
    for (; i + 1 < n; i += 2) {
      const row = i * n;
      const next = row + n;
      const vi = v[i]!;
      const vn = v[i + 1]!;
      let s = 0;
      let t = 0;
      let aii;
      let ani; // a[i+1][i]
      let ann;
      if (pending) {
        const pvi = pv[i]!;
        const pwi = pw[i]!;
        const pvn = pv[i + 1]!;
        const pwn = pw[i + 1]!;
        for (let j = k + 1; j < i; j++) {
          const pvj = pv[j]!;
          const pwj = pw[j]!;
          const vj = v[j]!;
          const aij = a[row + j]! - (pvi * pwj + pwi * pvj);
          const anj = a[next + j]! - (pvn * pwj + pwn * pvj);
          a[row + j] = aij;
          a[next + j] = anj;
          s += aij * vj;
          t += anj * vj;
          p[j] += aij * vi + anj * vn;
        }
        aii = a[row + i]! - 2 * pvi * pwi;
        ani = a[next + i]! - (pvn * pwi + pwn * pvi);
        ann = a[next + i + 1]! - 2 * pvn * pwn;
        a[row + i] = aii;
        a[next + i] = ani;
        a[next + i + 1] = ann;
      } else {
        for (let j = k + 1; j < i; j++) {
          const vj = v[j]!;
          const aij = a[row + j]!;
          const anj = a[next + j]!;
          s += aij * vj;
          t += anj * vj;
          p[j] += aij * vi + anj * vn;
        }
        aii = a[row + i]!;
        ani = a[next + i]!;
        ann = a[next + i + 1]!;
      }
      p[i] += s + aii * vi + ani * vn;
      p[i + 1] += t + ani * vi + ann * vn;
    }
    // The last row when the trailing block has an odd number of rows.
    for (; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      let s = 0;
      let aii;
      if (pending) {
        const pvi = pv[i]!;
        const pwi = pw[i]!;
        for (let j = k + 1; j < i; j++) {
          const aij = a[row + j]! - (pvi * pw[j]! + pwi * pv[j]!);
          a[row + j] = aij;
          s += aij * v[j]!;
          p[j] += aij * vi;
        }
        aii = a[row + i]! - 2 * pvi * pwi;
        a[row + i] = aii;
      } else {
        for (let j = k + 1; j < i; j++) {
          const aij = a[row + j]!;
          s += aij * v[j]!;
          p[j] += aij * vi;
        }
        aii = a[row + i]!;
      }
      p[i] += s + aii * vi;
    }
    let pTv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] *= beta;
      pTv += p[i]! * v[i]!;
    }
    // w = p − (β/2)(pᵀv) v: this step's update, applied during the next step's pass
    const c = 0.5 * beta * pTv;
    for (let i = k + 1; i < n; i++) p[i] -= c * v[i]!;
    [pv, v] = [v, pv];
    [pw, p] = [p, pw];
    pending = true;
  }
  if (pending) applyUpdate(a, n, n - 2, pv, pw);
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)]!;
    e[n - 1] = a[(n - 1) * n + (n - 2)]!;
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + (n - 1)]!;
  return { d, e };
}

/** A −= v wᵀ + w vᵀ on the lower triangle of rows/cols from..n−1. */
function applyUpdate(a: Float64Array, n: number, from: number, v: Float64Array, w: Float64Array): void {
  for (let i = from; i < n; i++) {
    const row = i * n;
    const vi = v[i]!;
    const wi = w[i]!;
    for (let j = from; j <= i; j++) a[row + j] -= vi * w[j]! + wi * v[j]!;
  }
}

/**
 * Eigenvalues of the symmetric tridiagonal matrix (diagonal d, sub-diagonal e with e[i] between
 * rows i−1 and i; e[0] unused), ascending: implicit QL with Wilkinson shifts, or, if QL stalls
 * (it can on strongly graded matrices, e.g. one weight 1e37 among values near 1), Sturm-sequence
 * bisection, which converges on any finite input. Non-finite input is the caller's bug.
 */
export function tridiagonalEigenvalues(dIn: Float64Array, eIn: Float64Array): Float64Array {
  for (let i = 0; i < dIn.length; i++) {
    if (!Number.isFinite(dIn[i]!) || !Number.isFinite(eIn[i]!)) throw new RangeError('tridiagonalEigenvalues: the matrix has NaN or Inf entries (check the input first)');
  }
  return qlImplicit(dIn, eIn) ?? bisectionEigenvalues(dIn, eIn);
}

/** Implicit QL; undefined when an eigenvalue takes more than 60 iterations. */
export function qlImplicit(dIn: Float64Array, eIn: Float64Array): Float64Array | undefined {
  const n = dIn.length;
  const d = Float64Array.from(dIn);
  const e = new Float64Array(n);
  for (let i = 1; i < n; i++) e[i - 1] = eIn[i]!;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (++iter > 60) return undefined;
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      for (; i >= l; i--) {
        let f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        f = 0;
      }
      if (r === 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return d.sort();
}

/**
 * Number of eigenvalues of the tridiagonal matrix below x (Sturm sequence of the LDLᵀ pivots of
 * T − xI). `e2[i]` = e[i]²; a zero pivot is nudged to −pivmin.
 */
function countBelow(d: Float64Array, e2: Float64Array, x: number, pivmin: number): number {
  let count = 0;
  let q = d[0]! - x;
  if (Math.abs(q) < pivmin) q = -pivmin;
  if (q < 0) count++;
  for (let i = 1; i < d.length; i++) {
    q = d[i]! - x - e2[i]! / q;
    if (Math.abs(q) < pivmin) q = -pivmin;
    if (q < 0) count++;
  }
  return count;
}

/** All eigenvalues by bisection on Sturm counts, each to within 4·eps·‖T‖ (as accurate as QL's). */
export function bisectionEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const e2 = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  let maxE2 = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) e2[i] = e[i]! * e[i]!;
    maxE2 = Math.max(maxE2, e2[i]!);
    const r = (i > 0 ? Math.abs(e[i]!) : 0) + (i + 1 < n ? Math.abs(e[i + 1]!) : 0); // Gershgorin radius
    lo = Math.min(lo, d[i]! - r);
    hi = Math.max(hi, d[i]! + r);
  }
  const norm = Math.max(Math.abs(lo), Math.abs(hi));
  const tol = 4 * Number.EPSILON * norm;
  const pivmin = Number.MIN_VALUE * Math.max(1, maxE2) + Number.MIN_VALUE;
  lo -= tol;
  hi += tol;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // The (k+1)-th smallest: the x where the count passes k.
    let a = k > 0 ? Math.max(lo, out[k - 1]! - tol) : lo;
    let b = hi;
    for (let it = 0; it < 200 && b - a > tol; it++) {
      const mid = a + (b - a) / 2;
      if (mid === a || mid === b) break;
      if (countBelow(d, e2, mid, pivmin) > k) b = mid;
      else a = mid;
    }
    out[k] = a + (b - a) / 2;
  }
  return out;
}

/** Eigenvalues (ascending) of a symmetric matrix; `a` is overwritten. */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  if (n === 0) return new Float64Array(0);
  const { d, e } = tridiagonalize(a, n);
  return tridiagonalEigenvalues(d, e);
}

/**
 * WeightWatcher-style power-law fit of the empirical spectral density (heavy-tails.md §5.2):
 * eigenvalues λ = σ² of WᵀW, those ≤ 1e-5 dropped, continuous power-law MLE for every candidate
 * xmin, keeping the one with the smallest Kolmogorov–Smirnov distance. Its α (`alphaEsd`) is a
 * density exponent, typically 2–6: a different quantity from the stable index `alphaStable`.
 */

export const EVALS_THRESHOLD = 1e-5;
export const MIN_EVALS = 10;

export interface EsdFit {
  alpha: number;
  xmin: number;
  D: number;
  sigma: number;
  /** Eigenvalues in the fitted tail (≥ xmin). */
  numTail: number;
  /** Eigenvalues used (after dropping those ≤ 1e-5). */
  numEvals: number;
  lambdaMax: number;
  alphaWeighted: number;
  logAlphaNorm: number;
  logNorm: number;
  logSpectralNorm: number;
  stableRank: number;
  warning?: 'over-trained' | 'under-trained';
}

export type EsdResult = { ok: true; fit: EsdFit } | { ok: false; reason: string };

/** Fits the ESD tail of the given eigenvalues (any order). */
export function fitEsdPowerLaw(eigenvalues: ArrayLike<number>, minEvals = MIN_EVALS): EsdResult {
  const kept: number[] = [];
  for (let i = 0; i < eigenvalues.length; i++) {
    const v = eigenvalues[i]!;
    if (!Number.isFinite(v)) return { ok: false, reason: 'non-finite eigenvalue' };
    if (v > EVALS_THRESHOLD) kept.push(v);
  }
  if (kept.length < minEvals) {
    return { ok: false, reason: `only ${kept.length} eigenvalues above ${EVALS_THRESHOLD} (need ${minEvals})` };
  }
  const x = Float64Array.from(kept).sort();
  const n = x.length;
  const logs = x.map(Math.log);
  // suffix sums of ln x_t
  const suffix = new Float64Array(n + 1);
  for (let t = n - 1; t >= 0; t--) suffix[t] = suffix[t + 1]! + logs[t]!;
  let best = { D: Infinity, alpha: NaN, i: -1 };
  for (let i = 0; i < n - 1; i++) {
    const tail = n - i;
    const sumLog = suffix[i]! - tail * logs[i]!;
    // All tail values equal xmin: sumLog is 0, or rounding noise that would give α ≈ 10¹⁶.
    if (x[n - 1] === x[i] || !(sumLog > 0)) continue;
    const alpha = 1 + tail / sumLog;
    let D = 0;
    const xmin = x[i]!;
    for (let t = i; t < n; t++) {
      const d = Math.abs(1 - Math.pow(x[t]! / xmin, 1 - alpha) - (t - i) / tail);
      if (d > D) D = d;
    }
    if (D < best.D) best = { D, alpha, i };
  }
  if (best.i < 0) return { ok: false, reason: 'all eigenvalues are equal' };
  const lambdaMax = x[n - 1]!;
  let sum = 0;
  let sumAlpha = 0;
  for (let t = 0; t < n; t++) {
    sum += x[t]!;
    sumAlpha += Math.pow(x[t]!, best.alpha);
  }
  const numTail = n - best.i;
  const fit: EsdFit = {
    alpha: best.alpha,
    xmin: x[best.i]!,
    D: best.D,
    sigma: (best.alpha - 1) / Math.sqrt(numTail),
    numTail,
    numEvals: n,
    lambdaMax,
    alphaWeighted: best.alpha * Math.log10(lambdaMax),
    logAlphaNorm: Math.log10(sumAlpha),
    logNorm: Math.log10(sum),
    logSpectralNorm: Math.log10(lambdaMax),
    stableRank: sum / lambdaMax,
  };
  if (best.alpha < 2) fit.warning = 'over-trained';
  else if (best.alpha > 6) fit.warning = 'under-trained';
  return { ok: true, fit };
}

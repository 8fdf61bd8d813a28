import type { Verification } from '../runtime/outputComparison.ts';

/** One line saying how a pruned model was verified and how far its outputs moved (CLI and webview). */
export function describeVerification(v: Verification): string {
  const on = v.data === 'random' ? `${v.samples} random inputs${v.inputs ? ` (${v.inputs})` : ''}` : `${v.samples} samples of ${v.data.split(/[\\/]/).pop()}`;
  const outputs = v.outputs !== undefined && v.outputs > 1 ? ` over ${v.outputs} outputs` : '';
  const top1 = v.top1Agreement === null ? '' : `, top-1 agreement ${(100 * v.top1Agreement).toFixed(1)}%`;
  return `verified in ${v.runtime} on ${on}: max |Δ| ${v.maxAbs.toExponential(3)}, relative error ${v.relErr.toExponential(3)}${outputs}, cosine ${v.cosine.toFixed(6)}${top1}`;
}

/**
 * Whether the pruned model still does what the original did, by the measures that apply: the
 * outputs point the same way (cosine ≥ 0.99), the top class mostly agrees (≥ 90%), and the accuracy
 * on labelled data fell by at most one point. Otherwise why not, for a warning instead of a green line.
 */
export function verificationConcern(v: Verification): string | null {
  if (!Number.isFinite(v.maxAbs)) return 'the pruned model produced NaN or infinite outputs';
  if (v.accuracyBefore !== null && v.accuracyAfter !== null && v.accuracyAfter < v.accuracyBefore - 0.01) return `accuracy fell from ${(100 * v.accuracyBefore).toFixed(1)}% to ${(100 * v.accuracyAfter).toFixed(1)}%`;
  if (v.top1Agreement !== null && v.top1Agreement < 0.9) return `the top class agrees on only ${(100 * v.top1Agreement).toFixed(1)}% of the inputs`;
  if (v.cosine < 0.99) return `the outputs moved a lot (cosine ${v.cosine.toFixed(3)})`;
  return null;
}

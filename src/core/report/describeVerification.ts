import type { Verification } from '../runtime/outputComparison.ts';

/** One line saying how a pruned model was verified and how far its outputs moved (CLI and webview). */
export function describeVerification(v: Verification): string {
  const on = v.data === 'random' ? `${v.samples} random inputs${v.inputs ? ` (${v.inputs})` : ''}` : `${v.samples} samples of ${v.data.split(/[\\/]/).pop()}`;
  const outputs = v.outputs !== undefined && v.outputs > 1 ? ` over ${v.outputs} outputs` : '';
  const top1 = v.top1Agreement === null ? '' : `, top-1 agreement ${(100 * v.top1Agreement).toFixed(1)}%`;
  return `verified in ${v.runtime} on ${on}: max |Δ| ${v.maxAbs.toExponential(3)}, relative error ${v.relErr.toExponential(3)}${outputs}, cosine ${v.cosine.toFixed(6)}${top1}`;
}

/**
 * The prune panel's live preview: what a plan would keep and cost, read from the report alone (no
 * weights are read). Node and spectral pruning of ONNX models run the export's group planner on
 * the report's dependency groups (previewStructured.ts), so their counts are the export's; the
 * other methods read the sampled curves and histograms. Pure; bundled into the webview.
 */
import type { LayerResult } from '../analysis/analyzeLayer.ts';
import type { AnalysisReport } from '../report/report.ts';
import { previewStructured } from './previewStructured.ts';
import type { PruneMethod } from './types.ts';

/** The methods the panel previews: every prune method. */
export type PreviewMethod = PruneMethod;
export type PreviewTarget = { kind: 'ratio'; ratio: number } | { kind: 'eps'; eps: number } | { kind: 'budget'; params: number };

export interface PreviewRequest {
  method: PreviewMethod;
  target: PreviewTarget;
  /** With a ratio: one threshold over all selected layers (magnitude: |w|; node on ONNX: group scores) instead of one ratio per layer. */
  global: boolean;
  /** Prune only layers whose α-stable is below this (heavy-tailed, i.e. compressible); null = all layers. */
  alphaBelow: number | null;
}

export interface LayerPreview {
  name: string;
  /** Fraction of the layer's weights / units / singular values removed. */
  ratio: number;
  /** Relative ℓ2 weight error at that ratio (from the curve). */
  relErr: number;
  paramsBefore: number;
  paramsAfter: number;
  /** Why the layer is left as it is. */
  skip?: string;
  /** Node/spectral on ONNX: the dependency group its own outputs are pruned with. */
  group?: { id: number; coupled: string[]; approximate: boolean };
  /** Something else about the layer (e.g. only its inputs shrink). */
  note?: string;
}

export interface PlanPreview {
  layers: LayerPreview[];
  paramsBefore: number;
  paramsAfter: number;
  bytesBefore: number;
  /** Dense bytes after pruning (magnitude keeps shapes: unchanged). */
  bytesAfter: number;
  /** Magnitude only: COO-encoded size (value + int64 index per non-zero) where smaller. */
  bytesSparse: number | null;
  /** Layers that will be pruned, as the regular expression `--layers` takes. */
  layersPattern: string | null;
  /** Why the request cannot be met (e.g. a budget below what the method reaches). */
  problem: string | null;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Linear interpolation of a sampled curve at ratio r. */
export function curveAt(ratios: readonly number[], curve: readonly number[], r: number): number {
  if (r <= ratios[0]!) return curve[0]!;
  for (let i = 1; i < ratios.length; i++) {
    if (r <= ratios[i]!) {
      const t = (r - ratios[i - 1]!) / (ratios[i]! - ratios[i - 1]!);
      return curve[i - 1]! + t * (curve[i]! - curve[i - 1]!);
    }
  }
  return curve[curve.length - 1]!;
}

/** The largest sampled ratio whose error stays below ε (curves are non-decreasing). */
export function ratioForEps(ratios: readonly number[], curve: readonly number[], eps: number): number {
  let best = 0;
  for (let i = 0; i < ratios.length; i++) if (curve[i]! < eps && ratios[i]! < 1) best = ratios[i]!;
  return best;
}

/**
 * Spectral pruning's preview error: √(Σ_{j>k} μ_j / Σ μ_j), the best any k kept units can do at
 * rebuilding the activations (the greedy choice is at or above it).
 */
export function spectralErrorBound(eigenvalues: readonly number[], keep: number): number {
  let total = 0;
  let tail = 0;
  eigenvalues.forEach((mu, j) => {
    const v = Math.max(0, mu);
    total += v;
    if (j >= keep) tail += v;
  });
  return total > 0 ? Math.sqrt(tail / total) : 0;
}

/** A sampled "curve" of the spectral bound at the report's ratios, so spectral previews like the others. */
function spectralCurve(l: LayerResult): number[] | null {
  const a = l.activationSpectrum;
  if (!a) return null;
  return l.curves.ratios.map((r) => spectralErrorBound(a.eigenvalues, a.units - Math.floor(r * a.units + 1e-9)));
}

function keptParams(l: LayerResult, method: PreviewMethod, ratio: number): number {
  if (method === 'spectral' && l.activationSpectrum) {
    const m = l.activationSpectrum.units;
    return Math.round((l.params / m) * (m - Math.floor(ratio * m + 1e-9)));
  }
  if (method !== 'singular') return Math.round(l.params * (1 - ratio));
  const m = l.shape[0]!;
  const n = l.params / m;
  const full = l.singularValues?.length ?? Math.min(m, n);
  const rank = Math.max(1, Math.round(full * (1 - ratio)));
  return rank * (m + n) < m * n ? rank * (m + n) : l.params;
}

/** Fraction of |w| below a threshold, from the layer's histogram (uniform within bins). */
function fractionBelow(l: LayerResult, t: number): number {
  const h = l.histogram!;
  const width = (h.max - h.min) / h.counts.length;
  let below = 0;
  h.counts.forEach((c, b) => {
    const lo = h.min + b * width;
    const hi = lo + width;
    // the part of [lo, hi) with |x| < t
    const a = Math.max(lo, -t);
    const z = Math.min(hi, t);
    if (z > a) below += width > 0 ? (c * (z - a)) / width : c;
  });
  return below / l.params;
}

export function previewPlan(report: AnalysisReport, req: PreviewRequest): PlanPreview {
  // ONNX node and spectral pruning plan over the dependency groups, as the export does.
  if ((req.method === 'node' || req.method === 'spectral') && report.structure) return previewStructured(report, report.structure, req);
  const bytesPerParam = report.model.params ? report.model.size / report.model.params : 4;
  const out: LayerPreview[] = [];
  const candidates: LayerResult[] = [];
  const curveOf = (l: LayerResult) => (req.method === 'spectral' ? spectralCurve(l) : l.curves[req.method]);
  for (const l of report.layers) {
    const base = { name: l.name, ratio: 0, relErr: 0, paramsBefore: l.params, paramsAfter: l.params };
    const curve = curveOf(l);
    const alpha = l.alphaStable.multivariate;
    if (!curve && req.method === 'spectral') out.push({ ...base, skip: l.reasons.find((r) => r.startsWith('activation spectrum:'))?.slice(21) ?? 'no activation spectrum (set prunescope.calibrationData)' });
    else if (!curve) out.push({ ...base, skip: `no ${req.method} curve (${l.status === 'ok' ? 'spectra skipped' : l.reasons[0] ?? l.status})` });
    else if (req.alphaBelow !== null && !(alpha !== null && alpha < req.alphaBelow)) out.push({ ...base, skip: `α-stable ${alpha === null ? 'unknown' : alpha.toFixed(2)} is not below ${req.alphaBelow}` });
    else candidates.push(l);
  }
  let problem: string | null = req.method === 'spectral' && req.target.kind === 'budget' ? 'spectral pruning takes a ratio or ε, not a budget' : null;
  const ratioOf = new Map<string, number>();
  const t = req.target;
  if (t.kind === 'ratio' && req.global && req.method === 'magnitude' && candidates.every((l) => l.histogram)) {
    // One threshold τ over all selected layers: bisection on τ for the total pruned fraction.
    const total = candidates.reduce((a, l) => a + l.params, 0);
    let lo = 0;
    let hi = Math.max(0, ...candidates.map((l) => Math.max(Math.abs(l.histogram!.min), Math.abs(l.histogram!.max))));
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      const pruned = candidates.reduce((a, l) => a + fractionBelow(l, mid) * l.params, 0);
      if (pruned / total < t.ratio) lo = mid;
      else hi = mid;
    }
    for (const l of candidates) ratioOf.set(l.name, Math.min(fractionBelow(l, hi), 0.999));
  } else if (t.kind === 'ratio') {
    for (const l of candidates) ratioOf.set(l.name, t.ratio);
  } else if (t.kind === 'eps') {
    for (const l of candidates) ratioOf.set(l.name, ratioForEps(l.curves.ratios, curveOf(l)!, t.eps));
  } else if (!problem) {
    // The smallest common ε whose per-layer ratios keep the whole model within the budget.
    const fixed = report.model.params - candidates.reduce((a, l) => a + l.params, 0);
    const keptAt = (eps: number) => fixed + candidates.reduce((a, l) => a + keptParams(l, req.method, ratioForEps(l.curves.ratios, curveOf(l)!, eps)), 0);
    if (keptAt(1 + 1e-9) > t.params) {
      problem = `a budget of ${t.params.toLocaleString()} parameters is below what ${req.method} pruning of these layers reaches (${keptAt(1 + 1e-9).toLocaleString()})`;
    } else {
      let lo = 0;
      let hi = 1 + 1e-9;
      for (let i = 0; i < 50; i++) {
        const mid = (lo + hi) / 2;
        if (keptAt(mid) <= t.params) hi = mid;
        else lo = mid;
      }
      for (const l of candidates) ratioOf.set(l.name, ratioForEps(l.curves.ratios, curveOf(l)!, hi));
    }
  }
  for (const l of candidates) {
    const ratio = ratioOf.get(l.name) ?? 0;
    out.push({ name: l.name, ratio, relErr: curveAt(l.curves.ratios, curveOf(l)!, ratio), paramsBefore: l.params, paramsAfter: keptParams(l, req.method, ratio) });
  }
  const order = new Map(report.layers.map((l, i) => [l.name, i]));
  out.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  const removed = out.reduce((a, l) => a + l.paramsBefore - l.paramsAfter, 0);
  const paramsAfter = report.model.params - removed;
  const bytesBefore = report.model.size;
  const sparseSaving = req.method === 'magnitude' ? out.reduce((a, l) => a + Math.max(0, l.paramsBefore * bytesPerParam - l.paramsAfter * (bytesPerParam + 8)), 0) : 0;
  const pruned = out.filter((l) => !l.skip && l.ratio > 0);
  return {
    layers: out,
    paramsBefore: report.model.params,
    paramsAfter,
    bytesBefore,
    bytesAfter: req.method === 'magnitude' ? bytesBefore : Math.round(bytesBefore - removed * bytesPerParam),
    bytesSparse: req.method === 'magnitude' ? Math.round(bytesBefore - sparseSaving) : null,
    layersPattern: candidates.length === report.layers.length ? null : candidates.length ? `^(${candidates.map((l) => escapeRegExp(l.name)).join('|')})$` : null,
    problem: problem ?? (pruned.length === 0 ? 'nothing would be pruned with these settings' : null),
  };
}

/**
 * Everything PruneScope computes for one weight layer: elementwise statistics, tail indices,
 * compressibility curves for the three pruning methods, the spectrum and its ESD power-law fit.
 */
import { MATRIX_KINDS, type WeightTensor } from '../checkpoint.ts';
import { canonicalShape, toCanonical } from '../tensor/layout.ts';
import { type DenseKernels, gramEigenvaluesOn, gramEigenvaluesRawAndCentredOn, singularFromSquared } from '../linalg/spectrum.ts';
import { ortLinalg } from '../runtime/ortLinalg.ts';
import { CURVE_RATIOS, type CurveSummary, gaussianRelErr, summarizeCurve, summarizeCurveFromAbs } from './curves.ts';
import { type EsdFit, fitEsdPowerLaw } from './esd.ts';
import { convSlices, layerMatrices, type Matrix } from './layerMatrix.ts';
import { columnMedians, medianInPlace, rowMedians } from './order.ts';
import { hashString } from './prng.ts';
import { type WeightHistogram, weightHistogram } from './histogram.ts';
import type { ActivationSpectrum } from './activationSpectra.ts';
import { type AnalysisMode, estimateTailIndices, type TailIndexResult } from './tailIndex.ts';

export interface AnalysisSettings {
  mode: AnalysisMode;
  seed: number;
  /** Target relative ℓ2 error for "prunable at ε" (non-squared). */
  eps: number;
  /** Node scores: 'columns' = the paper's FCN convention (input units), 'rows' = output units (2024 follow-up). */
  nodeConvention: 'columns' | 'rows';
  spectra: boolean;
  /** Skip spectra of matrices whose smaller side exceeds this. */
  maxSpectrumDim: number;
  /** Minimum number of samples for a tail estimate. */
  minSamples: number;
}

export const DEFAULT_SETTINGS: AnalysisSettings = {
  mode: 'robust',
  seed: 0,
  eps: 0.1,
  nodeConvention: 'columns',
  spectra: true,
  maxSpectrumDim: 4096,
  minSamples: 100,
};

export type LayerStatus = 'ok' | 'partial' | 'invalid';

export interface LayerStats {
  count: number;
  zeroFraction: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  absMax: number;
}

type Method = 'magnitude' | 'node' | 'singular';

export interface LayerResult {
  name: string;
  kind: string;
  op: string;
  shape: number[];
  params: number;
  dtype: string;
  quantized: boolean;
  status: LayerStatus;
  reasons: string[];
  stats: LayerStats | null;
  alphaStable: { multivariate: number | null; entries: number | null; norms: number | null };
  alphaHill: number | null;
  alphaAlternatives: TailIndexResult['alternatives'] | null;
  diagnostics: {
    mode: AnalysisMode;
    seed: number;
    stable?: { multivariate: unknown; entries: unknown; norms: unknown };
    hill?: unknown;
    transposedClassifier: boolean;
  };
  /** 64 equal-width bins of the raw weights over [stats.min, stats.max]. */
  histogram: WeightHistogram | null;
  esd: (EsdFit & { eigenvalues: number[] }) | null;
  singularValues: number[] | null;
  prunableAtEps: Record<Method, number | null>;
  /** Exact k*(ε) and the number of scores n for each method. */
  kStar: Record<Method, { k: number; n: number } | null>;
  curves: { ratios: number[]; magnitude: number[] | null; node: number[] | null; singular: number[] | null; gaussian: number[] };
  /** With calibration data (`analyze --data`): the spectrum of the layer's activations, N̂(λ); null if it could not be captured. */
  activationSpectrum?: ActivationSpectrum | null;
  ms: number;
}

/**
 * Two float64 buffers per thread, reused from layer to layer. Reallocating them per layer leaves
 * freed blocks resident in malloc's per-thread arenas, so a pool's RSS would grow with every layer
 * analysed; reusing them bounds it by twice the largest layer. Call releaseLayerScratch() when done.
 */
const scratch = { values: new Float64Array(0), work: new Float64Array(0) };

function takeScratch(kind: keyof typeof scratch, n: number): Float64Array {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: reallocating a buffer that is large enough only costs time (it is zero-filled either way)
  if (scratch[kind].length < n) {
    scratch[kind] = new Float64Array(0); // let the old buffer go before the larger one is allocated
    scratch[kind] = new Float64Array(n);
  }
  return scratch[kind].subarray(0, n).fill(0);
}

/** Drops the per-thread scratch buffers (after an in-thread analysis). */
// Stryker disable next-line BlockStatement: only memory: the next layer reuses or regrows the buffers either way
export function releaseLayerScratch(): void {
  scratch.values = new Float64Array(0);
  scratch.work = new Float64Array(0);
}

export function isAnalysable(w: WeightTensor): boolean {
  return MATRIX_KINDS.has(w.layer.kind) && w.shape.length >= 2 && w.size > 0;
}

/**
 * Analyses one layer. `isClassifier` marks the model's last dense layer (transposed in paper mode).
 * Spectra run on `kernels`: by default onnxruntime's (runtime/ortLinalg.ts), null for TypeScript only.
 */
export function analyzeLayer(w: WeightTensor, settings: AnalysisSettings, isClassifier = false, kernels?: DenseKernels | null): Promise<LayerResult> {
  // One layer at a time per thread: they share the scratch buffers, and a layer awaiting its
  // spectrum's products must not have them overwritten by another.
  const run = lane.then(() => analyzeLayerNow(w, settings, isClassifier, kernels));
  lane = run.catch(() => undefined);
  return run;
}

let lane: Promise<unknown> = Promise.resolve();

async function analyzeLayerNow(w: WeightTensor, settings: AnalysisSettings, isClassifier: boolean, kernels: DenseKernels | null | undefined): Promise<LayerResult> {
  const t0 = performance.now();
  const shape = canonicalShape(w.layer.layout, w.shape);
  const transposedClassifier = settings.mode === 'paper' && isClassifier && shape.length === 2;
  const seed = (settings.seed ^ hashString(w.name)) >>> 0;
  const result: LayerResult = {
    name: w.name,
    kind: w.layer.kind,
    op: w.layer.opType,
    shape,
    params: w.size,
    dtype: w.dtype,
    quantized: w.quantized !== undefined,
    status: 'ok',
    reasons: [],
    stats: null,
    alphaStable: { multivariate: null, entries: null, norms: null },
    alphaHill: null,
    alphaAlternatives: null,
    diagnostics: { mode: settings.mode, seed, transposedClassifier },
    histogram: null,
    esd: null,
    singularValues: null,
    prunableAtEps: { magnitude: null, node: null, singular: null },
    kStar: { magnitude: null, node: null, singular: null },
    curves: { ratios: [...CURVE_RATIOS], magnitude: null, node: null, singular: null, gaussian: CURVE_RATIOS.map(gaussianRelErr) },
    ms: 0,
  };
  const finish = () => {
    result.ms = performance.now() - t0;
    return result;
  };
  if (w.dtype !== 'float32' && w.dtype !== 'float64') result.reasons.push(`stored as ${w.dtype}${result.quantized ? ' (quantized)' : ''}: dequantized before estimation, which creates ties that can bias tail estimates`);

  const values = takeScratch('values', w.size);
  const inOrder = w.layer.layout.kind === 'identity' || w.layer.layout.kind === 'merge-leading' || w.layer.layout.kind === 'none';
  // Stryker disable next-line ConditionalExpression: where readInto fits (the layouts above) toCanonical(read()) gives the same values; the chunked read only saves memory
  if (inOrder && w.readInto) w.readInto(values); // chunked: no full-size stored copy at all
  else values.set(toCanonical(w.layer.layout, w.shape, w.read())); // the stored copy is garbage from here
  const stats = elementwiseStats(values);
  if (stats.nonFinite > 0) {
    result.status = 'invalid';
    result.reasons.push(`${stats.nonFinite} NaN/Inf values: nothing can be estimated`);
    return finish();
  }
  result.stats = stats.stats;
  if (stats.stats.absMax === 0) {
    result.status = 'invalid';
    result.reasons.push('all weights are zero: no tail index, curve or spectrum is defined');
    return finish();
  }
  if (stats.stats.min === stats.stats.max) {
    result.status = 'invalid';
    result.reasons.push('all weights are equal: after centring nothing is left to estimate');
    return finish();
  }
  result.histogram = weightHistogram(values, stats.stats.min, stats.stats.max);

  const { tail, filters, isConv } = layerMatrices(values, shape, w.layer.kind, transposedClassifier);
  // Curves and spectra read `values`; the tail estimators run last and consume it as scratch.
  // Magnitude: |vec(W) − median|.
  // One work buffer per layer: first the magnitude curve's storage, later the tail estimators' samples.
  const work = takeScratch('work', values.length + 1);
  setCurve(result, 'magnitude', magnitudeCurve(values, work, settings.eps));
  // Node scores.
  // The paper's CNN convention scores 2-D kernel slices (kernel-rows); the output-unit convention scores whole filters.
  setCurve(result, 'node', summarizeCurve(nodeScores(isConv && settings.nodeConvention === 'columns' ? tail : filters, isConv, settings.nodeConvention), CURVE_RATIOS, settings.eps));

  if (!settings.spectra) {
    result.reasons.push('spectra skipped (--no-spectra)');
  } else if (Math.min(filters.rows, filters.cols) > settings.maxSpectrumDim) {
    result.reasons.push(`spectra skipped: min(${filters.rows}, ${filters.cols}) exceeds maxSpectrumDim ${settings.maxSpectrumDim}`);
  } else {
    // heavy-tails.md §2.4 (e): paper mode decomposes the transposed classifier (centred by W's row medians).
    const a = transposedClassifier ? tail : filters;
    const med = columnMedians(a.data, a.rows, a.cols);
    const on = kernels === undefined ? await ortLinalg() : (kernels ?? undefined);
    let esdEigen: Float64Array;
    if (isConv) {
      esdEigen = await pooledSliceEigenvalues(values, shape, on);
      const { centred } = await gramEigenvaluesRawAndCentredOn(on, filters.data, filters.rows, filters.cols, med);
      result.singularValues = Array.from(singularFromSquared(centred));
    } else {
      const { raw: rawEig, centred } = await gramEigenvaluesRawAndCentredOn(on, a.data, a.rows, a.cols, med);
      esdEigen = rawEig;
      result.singularValues = Array.from(singularFromSquared(centred));
    }
    setCurve(result, 'singular', summarizeCurve(result.singularValues, CURVE_RATIOS, settings.eps));
    const fit = fitEsdPowerLaw(esdEigen);
    if (fit.ok) result.esd = { ...fit.fit, eigenvalues: Array.from(esdEigen).filter((v) => v > 1e-5) };
    else result.reasons.push(`esd: ${fit.reason}`);
  }
  // Last: the tail estimators consume `tail.data` (which is `values`, or the transposed copy) as scratch.
  const tailResult = estimateTailIndices(tail, { mode: settings.mode, seed, permutations: 5, minSamples: settings.minSamples }, work);
  for (const [form, est] of Object.entries({ multivariate: tailResult.multivariate, entries: tailResult.entries, norms: tailResult.norms })) {
    result.alphaStable[form as 'entries'] = est.value;
    if (est.value === null) result.reasons.push(`alphaStable.${form}: ${est.reason}`);
  }
  result.alphaHill = tailResult.hill.value;
  if (tailResult.hill.value === null) result.reasons.push(`alphaHill: ${tailResult.hill.reason}`);
  result.alphaAlternatives = tailResult.alternatives;
  result.diagnostics.stable = {
    multivariate: tailResult.multivariate.diagnostics,
    entries: tailResult.entries.diagnostics,
    norms: tailResult.norms.diagnostics,
  };
  if (tailResult.hill.value !== null) result.diagnostics.hill = tailResult.hill.diagnostics;

  if (result.reasons.some((r) => /^(alphaStable|alphaHill|esd|spectra)/.test(r))) result.status = 'partial';
  return finish();
}

/** The curve of |vec(W) − median| in one buffer: the median is selected in the curve's own storage. */
function magnitudeCurve(values: Float64Array, e: Float64Array, eps: number): CurveSummary {
  const body = e.subarray(1);
  body.set(values);
  const m = medianInPlace(body);
  for (let i = 0; i < body.length; i++) body[i] = Math.abs(body[i]! - m);
  return summarizeCurveFromAbs(e, CURVE_RATIOS, eps);
}

function setCurve(result: LayerResult, method: Method, { samples, k, n }: CurveSummary): void {
  result.curves[method] = samples;
  result.kStar[method] = { k, n };
  result.prunableAtEps[method] = n ? k / n : null;
}

/**
 * Node scores (heavy-tails.md §2.4 d). Dense, 'columns' (the paper's FCN code): subtract each row's
 * median, score = column norms. Conv (the paper's CNN code): kernel-rows with column medians
 * subtracted, score = row norms. 'rows' (2024 follow-up): no centring, norms of output units.
 */
function nodeScores(a: Matrix, isConv: boolean, convention: 'columns' | 'rows'): Float64Array {
  const { data, rows, cols } = a;
  if (convention === 'rows') {
    const s = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let q = 0;
      for (let j = 0; j < cols; j++) q += data[i * cols + j]! ** 2;
      s[i] = Math.sqrt(q);
    }
    return s;
  }
  if (isConv) {
    const med = columnMedians(data, rows, cols);
    const s = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let q = 0;
      for (let j = 0; j < cols; j++) q += (data[i * cols + j]! - med[j]!) ** 2;
      s[i] = Math.sqrt(q);
    }
    return s;
  }
  const med = rowMedians(data, rows, cols);
  const q = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) q[j] += (data[i * cols + j]! - med[i]!) ** 2;
  return q.map(Math.sqrt);
}

/** WeightWatcher pools the eigenvalues of every (kh, kw) slice of a conv kernel. */
async function pooledSliceEigenvalues(values: Float64Array, shape: readonly number[], kernels: DenseKernels | undefined): Promise<Float64Array> {
  const parts: Float64Array[] = [];
  for (const s of convSlices(values, shape)) parts.push(await gramEigenvaluesOn(kernels, s.data, s.rows, s.cols));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.sort();
}

/**
 * One pass: count, zeros, mean/std, min/max. Sums are shifted by the first value (so the variance
 * does not cancel); a NaN/Inf anywhere makes the sum non-finite, and only then is a second pass
 * spent counting them — so the common case has no per-element finiteness test.
 */
export function elementwiseStats(x: Float64Array | Float32Array): { stats: LayerStats; nonFinite: number } {
  const n = x.length;
  const shift = n ? x[0]! : 0;
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    const d = v - shift;
    sum += d;
    sumSq += d * d;
    // Stryker disable next-line EqualityOperator: on a tie min and max keep the same value
    min = v < min ? v : min; // branch-free forms: 2–4× faster than if-statements here
    // Stryker disable next-line EqualityOperator: on a tie min and max keep the same value
    max = v > max ? v : max;
    zeros += v === 0 ? 1 : 0;
  }
  let nonFinite = 0;
  // Stryker disable next-line ConditionalExpression,LogicalOperator,BooleanLiteral: a NaN/Inf anywhere makes sum and sumSq non-finite (a non-finite shift makes both NaN), so any of the three decides alike, and counting when all are finite finds 0
  if (!Number.isFinite(sum) || !Number.isFinite(sumSq) || !Number.isFinite(shift)) {
    for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]!)) nonFinite++;
  }
  const mean = n ? shift + sum / n : 0;
  const variance = n ? Math.max(0, sumSq / n - (sum / n) ** 2) : 0;
  return {
    stats: { count: n, zeroFraction: n ? zeros / n : 0, mean, std: Math.sqrt(variance), min, max, absMax: Math.max(Math.abs(min), Math.abs(max)) },
    nonFinite,
  };
}

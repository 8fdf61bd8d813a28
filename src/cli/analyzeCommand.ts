import * as path from 'node:path';
import { analyzeModel } from '../core/analysis/analyzeModel.ts';
import type { ImageInputOptions } from '../core/runtime/calibrationInputs.ts';
import type { LayerResult } from '../core/analysis/analyzeLayer.ts';
import { CheckpointError, UsageError } from '../core/errors.ts';
import { parseInputShape } from '../core/graph/inputDims.ts';
import { openCheckpoint } from '../core/formats/openCheckpoint.ts';
import { InputFiles } from '../core/io/inputFiles.ts';
import { writeFileAtomic } from '../core/io/writeFileAtomic.ts';
import { renderHtmlReport } from '../core/report/renderHtmlReport.ts';
import type { AnalysisReport } from '../core/report/report.ts';
import type { StructureReport } from '../core/report/structure.ts';
import { formatCount, formatTable } from './formatTable.ts';

/** Parsed command-line values (node:util parseArgs; --input-shape repeats). */
export type CliValues = Record<string, string | boolean | string[] | undefined>;

export interface AnalyzeCliOptions {
  json?: string;
  html?: string;
  mode: 'robust' | 'paper';
  seed: number;
  eps: number;
  layers?: RegExp;
  spectra: boolean;
  workers?: number;
  /** --memory-budget in MiB, as bytes. */
  memoryBudget?: number;
  nodeConvention: 'columns' | 'rows';
  progress: boolean;
  data?: string;
  samples?: number;
  image?: ImageInputOptions;
  inputShapes?: Array<{ name: string | null; dims: number[] }>;
}

/** --input-shape name=1x16000 (repeatable). */
export function parseInputShapes(v: Record<string, unknown>): Array<{ name: string | null; dims: number[] }> | undefined {
  const raw = v['input-shape'];
  if (raw === undefined) return undefined;
  return (Array.isArray(raw) ? raw : [raw]).map((s) => parseInputShape(String(s)));
}

/** --layers <regex>, checked. */
export function parseLayersOption(v: CliValues): RegExp | undefined {
  if (typeof v['layers'] !== 'string') return undefined;
  try {
    return new RegExp(v['layers']);
  } catch {
    throw new UsageError(`--layers is not a valid regular expression: '${v['layers']}'`);
  }
}

/** --image-size HxW [--mean a,b,c] [--std a,b,c] [--layout nchw|nhwc], for a folder of calibration images. */
export function parseImageOptions(v: CliValues): ImageInputOptions | undefined {
  if (v['image-size'] === undefined) {
    for (const k of ['mean', 'std', 'layout']) if (v[k] !== undefined) throw new UsageError(`--${k} describes calibration images: give --image-size HxW too`);
    return undefined;
  }
  const m = /^(\d+)x(\d+)$/.exec(String(v['image-size']));
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UsageError(`--image-size must be HxW, e.g. 224x224, not '${v['image-size']}'`);
  const triple = (k: string): [number, number, number] | undefined => {
    if (v[k] === undefined) return undefined;
    const xs = String(v[k]).split(',').map(Number);
    if (xs.length !== 3 || !xs.every(Number.isFinite) || (k === 'std' && !xs.every((x) => x > 0))) throw new UsageError(`--${k} must be three numbers (R,G,B)${k === 'std' ? ' > 0' : ''}, not '${v[k]}'`);
    return xs as [number, number, number];
  };
  const layout = v['layout'] ?? 'nchw';
  if (layout !== 'nchw' && layout !== 'nhwc') throw new UsageError(`--layout must be nchw or nhwc`);
  const mean = triple('mean');
  const std = triple('std');
  return { height: Number(m[1]), width: Number(m[2]), layout, ...(mean ? { mean } : {}), ...(std ? { std } : {}) };
}

function positiveInteger(v: string | boolean | string[], name: string): number {
  const x = Number(v);
  if (!(Number.isSafeInteger(x) && x > 0)) throw new UsageError(`${name} must be a positive integer, not '${v}'`);
  return x;
}

export function parseAnalyzeOptions(v: CliValues, progress: boolean): AnalyzeCliOptions {
  const mode = (v['mode'] as string | undefined) ?? 'robust';
  if (mode !== 'robust' && mode !== 'paper') throw new UsageError(`--mode must be robust or paper, not '${mode}'`);
  const seed = v['seed'] === undefined ? 0 : Number(v['seed']);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, not '${v['seed']}'`);
  const eps = v['eps'] === undefined ? 0.1 : Number(v['eps']);
  if (!(eps > 0 && eps < 1)) throw new UsageError(`--eps must be a number in (0, 1), not '${v['eps']}'`);
  const workers = v['workers'] === undefined ? undefined : Number(v['workers']);
  if (workers !== undefined && !(Number.isSafeInteger(workers) && workers >= 0)) throw new UsageError(`--workers must be a non-negative integer`);
  const memoryBudget = v['memory-budget'] === undefined ? undefined : positiveInteger(v['memory-budget'], '--memory-budget') * 2 ** 20;
  const layers = parseLayersOption(v);
  const node = (v['node-convention'] as string | undefined) ?? 'columns';
  if (node !== 'columns' && node !== 'rows') throw new UsageError(`--node-convention must be columns or rows`);
  return {
    ...(typeof v['json'] === 'string' ? { json: v['json'] } : {}),
    ...(typeof v['html'] === 'string' ? { html: v['html'] } : {}),
    mode,
    seed,
    eps,
    ...(layers ? { layers } : {}),
    spectra: v['no-spectra'] !== true,
    ...(workers !== undefined ? { workers } : {}),
    ...(memoryBudget !== undefined ? { memoryBudget } : {}),
    nodeConvention: node,
    progress,
    ...(typeof v['data'] === 'string' ? { data: v['data'] } : {}),
    ...(v['samples'] !== undefined ? { samples: positiveInteger(v['samples'], '--samples') } : {}),
    ...(parseImageOptions(v) ? { image: parseImageOptions(v)! } : {}),
    ...(parseInputShapes(v) ? { inputShapes: parseInputShapes(v)! } : {}),
  };
}

export async function runAnalyze(file: string, o: AnalyzeCliOptions, signal?: AbortSignal, progress: (text: string) => void = (t) => void process.stderr.write(t)): Promise<string> {
  const model = path.resolve(file);
  const ck = openCheckpoint(model);
  ck.close();
  const inputs = new InputFiles().add(model, 'the model itself').addAll(ck.files.slice(1), 'a file of the model');
  if (o.data) inputs.add(o.data, 'the --data input');
  for (const out of [o.json, o.html]) {
    const input = out && inputs.match(out);
    if (input) throw new CheckpointError(out, `refusing to write the report over ${input}`);
  }
  const report = await analyzeModel(model, {
    mode: o.mode,
    seed: o.seed,
    eps: o.eps,
    spectra: o.spectra,
    nodeConvention: o.nodeConvention,
    ...(o.layers ? { layers: o.layers } : {}),
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.memoryBudget !== undefined ? { memoryBudget: o.memoryBudget } : {}),
    ...(signal ? { signal } : {}),
    ...(o.data ? { data: o.data } : {}),
    ...(o.samples ? { samples: o.samples } : {}),
    ...(o.image ? { image: o.image } : {}),
    ...(o.inputShapes ? { inputShapes: o.inputShapes } : {}),
    onLayer: (l, done, total) => {
      if (o.progress) progress(`\r[${done}/${total}] ${l.name.slice(0, 60).padEnd(60)}`);
    },
  });
  if (o.progress) progress('\r' + ' '.repeat(70) + '\r');
  if (o.json) writeFileAtomic(o.json, JSON.stringify(report, null, 1) + '\n', inputs);
  if (o.html) writeFileAtomic(o.html, renderHtmlReport(report), inputs);
  return analyzeText(report);
}

const f = (v: number | null, d = 3) => (v === null ? '—' : v.toFixed(d));
const p = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(1)}%`);

/** One line on the dependency groups: how many, how many layers' own outputs node pruning can cut, what was refused most. */
function structureLine(st: StructureReport, layers: number): string {
  const prunable = st.groups.filter((g) => !g.refused);
  const own = prunable.reduce((n, g) => n + g.layers.length, 0);
  const approximate = prunable.filter((g) => g.approximate.length > 0).length;
  const reasons = new Map<string, number>();
  for (const why of Object.values(st.refusals)) {
    const key = why.replace(/^group \d+: /, '');
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  const top = [...reasons].sort((a, b) => b[1] - a[1])[0];
  return [
    `dependency groups (structured pruning): ${st.groups.length}, ${prunable.length} prunable${approximate ? ` (${approximate} approximate: normalisation statistics change)` : ''}; ${own} of ${layers} layers can lose their own output units`,
    ...(top ? [`; most common refusal (${top[1]} layer${top[1] === 1 ? '' : 's'}): ${top[0]}`] : []),
    ...(st.inputsChosen.length ? [`; dynamic input dims chosen: ${st.inputsChosen.join('; ')} (set them with --input-shape)`] : []),
    ` (${st.ms} ms)`,
  ].join('');
}

export function analyzeText(r: AnalysisReport): string {
  const withSpectra = r.calibration !== undefined;
  const rows = r.layers.map((l: LayerResult) => [
    l.name,
    l.kind,
    l.shape.join('×'),
    formatCount(l.params),
    f(l.alphaStable.multivariate),
    f(l.alphaHill),
    l.esd ? f(l.esd.alpha, 2) : '—',
    p(l.prunableAtEps.magnitude),
    p(l.prunableAtEps.node),
    p(l.prunableAtEps.singular),
    ...(withSpectra ? [l.activationSpectrum ? `${f(l.activationSpectrum.degreesOfFreedom[1]!, 1)} / ${l.activationSpectrum.units}` : '—'] : []),
    l.status,
  ]);
  const s = r.summary;
  const lines = [
    `${path.basename(r.model.path)}: ${r.model.format}, ${formatCount(r.model.params)} params, ${r.layers.length} weight layers analysed (mode ${r.settings.mode}, seed ${r.settings.seed}, ε = ${r.settings.eps})`,
    '',
    formatTable(
      ['layer', 'kind', 'shape', 'params', 'α-stable', 'α-Hill', 'α-ESD', `mag@ε`, `node@ε`, `SV@ε`, ...(withSpectra ? ['N̂(λ)/units'] : []), 'status'],
      rows,
      new Set(withSpectra ? [3, 4, 5, 6, 7, 8, 9, 10] : [3, 4, 5, 6, 7, 8, 9]),
    ),
    '',
    `summary: α-stable median ${f(s.alphaStableMedian)}, parameter-weighted ${f(s.alphaStableWeighted)}; α-ESD median ${f(s.alphaEsdMedian, 2)}`,
    `prunable at ε = ${r.settings.eps} (parameter-weighted): magnitude ${p(s.prunableAtEps.magnitude)}, node ${p(s.prunableAtEps.node)}, singular value ${p(s.prunableAtEps.singular)}`,
  ];
  for (const l of r.layers.filter((x) => x.status !== 'ok')) lines.push(`${l.status}: ${l.name}: ${l.reasons.filter((x) => !x.startsWith('stored as')).join('; ')}`);
  if (r.structure) lines.push(structureLine(r.structure, r.layers.length));
  if (r.calibration) lines.push(`activation spectra from ${r.calibration.inputs} samples of ${path.basename(r.calibration.data)}; N̂(λ) at λ = 1e-3·Tr(Σ̂)/m (small = fast eigenvalue decay = compressible by spectral pruning)`);
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

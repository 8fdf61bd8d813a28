import { readRegularFile } from '../core/io/byteSource.ts';
import { parseJsonFile } from '../core/io/parseJson.ts';
import * as path from 'node:path';
import { type PruneOptions, type PruneReport, pruneModel } from '../core/pruning/pruneModel.ts';
import { UsageError } from '../core/errors.ts';
import { formatBytes, formatCount, formatTable } from './formatTable.ts';
import { type CliValues, parseImageOptions, parseInputShapes, parseLayersOption } from './analyzeCommand.ts';
import { describeVerification, verificationConcern } from '../core/report/describeVerification.ts';

export function parsePruneOptions(v: CliValues): { options: PruneOptions; output: string; json: boolean } {
  const method = (v['method'] as string | undefined) ?? '';
  if (!['magnitude', 'singular', 'node', 'spectral'].includes(method)) throw new UsageError(`--method must be magnitude, singular, node or spectral`);
  const output = v['output'];
  if (typeof output !== 'string') throw new UsageError('-o <out> is required: the pruned model is never written over the input');
  const num = (k: string) => {
    if (v[k] === undefined) return undefined;
    const x = Number(v[k]);
    if (!Number.isFinite(x)) throw new UsageError(`--${k} must be a number, not '${v[k]}'`);
    return x;
  };
  const layers = parseLayersOption(v);
  if (v['dtype'] !== undefined && v['dtype'] !== 'float32') throw new UsageError('--dtype takes float32 (keep the source quantization by leaving it out)');
  const centre = (v['center'] as string | undefined) ?? 'none';
  if (centre !== 'none' && centre !== 'median') throw new UsageError('--center must be none or median');
  const ratio = num('ratio');
  const eps = num('eps');
  const budget = num('budget');
  let plan: unknown;
  if (typeof v['plan'] === 'string') plan = parseJsonFile(v['plan'], readRegularFile(v['plan'], 64 << 20).toString('utf8'), 'the plan');
  return {
    output,
    json: v['json'] === true || v['json'] === '',
    options: {
      method: method as PruneOptions['method'],
      ...(ratio !== undefined ? { ratio } : {}),
      ...(eps !== undefined ? { eps } : {}),
      ...(budget !== undefined ? { budget } : {}),
      ...(plan !== undefined ? { plan: (plan as { plan?: unknown }).plan ?? plan } : {}),
      global: v['global'] === true,
      ...(layers ? { layers } : {}),
      centre,
      force: v['force'] === true,
      verify: v['verify'] === true,
      sparse: v['sparse'] === true,
      ...(v['external-data'] === true ? { externalData: 'always' as const } : {}),
      float32: v['dtype'] === 'float32',
      ...(typeof v['data'] === 'string' ? { data: v['data'] } : {}),
      ...(typeof v['labels'] === 'string' ? { labels: v['labels'] } : {}),
      ...(num('theta') !== undefined ? { theta: num('theta')! } : {}),
      ...(num('lambda-rel') !== undefined ? { lambdaRel: num('lambda-rel')! } : {}),
      ...(num('samples') !== undefined ? { samples: num('samples')! } : {}),
      ...(v['random-calibration'] === true ? { randomCalibration: true } : {}),
      ...(parseImageOptions(v) ? { image: parseImageOptions(v)! } : {}),
      ...(typeof v['plan'] === 'string' ? { inputFiles: [v['plan']] } : {}),
      ...(parseInputShapes(v) ? { inputShapes: parseInputShapes(v)! } : {}),
    },
  };
}

export async function runPrune(file: string, args: ReturnType<typeof parsePruneOptions>, signal?: AbortSignal): Promise<string> {
  const report: PruneReport = await pruneModel(file, args.output, { ...args.options, ...(signal ? { signal } : {}) });
  if (args.json) {
    const { input: _i, output: _o, method: _m, ...rest } = report;
    void _i, _o, _m;
    return JSON.stringify({ ...rest, layers: report.layers.map(({ relErr: _r, ...l }) => (void _r, l)), relErr: Object.fromEntries(report.layers.map((l) => [l.name, l.relErr])) }, null, 2);
  }
  const rows = report.layers.map((l) => [
    l.name,
    l.skipped ? 'skipped' : `${(100 * l.ratio).toFixed(1)}%`,
    formatCount(l.paramsBefore),
    formatCount(l.paramsAfter),
    l.relErr === null ? '—' : l.relErr.toFixed(4),
    l.reason ?? '',
  ]);
  const b = report.bytes;
  const lines = [
    `${path.basename(report.input)} → ${path.basename(report.output)}: ${report.method} pruning`,
    '',
    formatTable(['layer', 'pruned', 'params before', 'after', 'rel. error', 'note'], rows, new Set([1, 2, 3, 4])),
    '',
    `params: ${formatCount(report.paramsBefore)} → ${formatCount(report.paramsAfter)}${report.method === 'magnitude' ? ' non-zero' : ''} (${(100 * (1 - report.paramsAfter / report.paramsBefore)).toFixed(1)}% removed)`,
    report.method === 'magnitude'
      ? b.afterSparseIsEstimate
        ? `size: ${formatBytes(b.before)} → ${formatBytes(b.after)} dense (shapes kept, zeros stored); ${formatBytes(b.afterGzip)} gzipped; ≈ ${formatBytes(b.afterSparse)} if sparse-encoded (estimate; --sparse writes it)`
        : `size: ${formatBytes(b.before)} → ${formatBytes(b.after)} with sparse initializers (loaded by onnxruntime); ${formatBytes(b.afterGzip)} gzipped`
      : `size: ${formatBytes(b.before)} → ${formatBytes(b.after)}; ${formatBytes(b.afterGzip)} gzipped`,
  ];
  for (const n of report.notes) lines.push(`note: ${n}`);
  const f = report.multiplyAdds;
  // No line when the main graph has no weight layer to count (weights only in If/Loop bodies).
  if (f && (f.before > 0 || f.unknownLayers.length > 0)) {
    lines.push(`multiply-adds per sample: ${formatCount(f.before)} → ${formatCount(f.after)}${f.unknownLayers.length ? ` (not counted, shapes unknown: ${f.unknownLayers.join(', ')})` : ''}`);
  }
  const v = report.verify;
  if (v) {
    if (v.accuracyBefore !== null) lines.push(`accuracy: ${(100 * v.accuracyBefore).toFixed(1)}% → ${(100 * v.accuracyAfter!).toFixed(1)}%`);
    lines.push(describeVerification(v));
    const concern = verificationConcern(v);
    if (concern) lines.push(`warning: ${concern}: check the pruned model before you use it (a smaller ratio, spectral pruning, or fine-tuning)`);
  }
  return lines.join('\n');
}

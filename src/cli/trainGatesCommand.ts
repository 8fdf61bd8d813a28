import type { CliValues } from './analyzeCommand.ts';
import * as path from 'node:path';
import { InputFiles } from '../core/io/inputFiles.ts';
import { writeFileAtomic } from '../core/io/writeFileAtomic.ts';
import { renderTrainingHtml } from '../core/report/renderTrainingHtml.ts';
import type { EpochLog } from '../core/training/gatedNetwork.ts';
import { type TrainGatesLog, trainGates, type TrainGatesOptions } from '../core/training/trainGates.ts';
import { UsageError } from '../core/errors.ts';

export interface TrainGatesCli {
  output: string;
  log?: string;
  html?: string;
  options: TrainGatesOptions;
}

export function parseTrainGatesOptions(v: CliValues): TrainGatesCli {
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const output = str('output');
  if (!output) throw new UsageError('-o <out> is required: the trained model is never written over the input');
  const data = str('data');
  const labels = str('labels');
  if (!data || !labels) throw new UsageError('--data x.npy and --labels y.npy are required: gate training retrains the model');
  if (!!str('val-data') !== !!str('val-labels')) throw new UsageError('give --val-data and --val-labels together');
  const num = (k: string, check: (x: number) => boolean, what: string) => {
    if (v[k] === undefined) return undefined;
    const x = Number(v[k]);
    if (!check(x)) throw new UsageError(`--${k} must be ${what}, not '${v[k]}'`);
    return x;
  };
  const int = (x: number) => Number.isSafeInteger(x) && x > 0;
  const pos = (x: number) => x > 0 && Number.isFinite(x);
  const opts: Record<string, number | undefined> = {
    epochs: num('epochs', int, 'a positive integer'),
    batchSize: num('batch-size', int, 'a positive integer'),
    learningRate: num('lr', pos, 'a positive number'),
    gateLearningRate: num('gate-lr', pos, 'a positive number'),
    strength: num('strength', (x) => x >= 0 && Number.isFinite(x), 'a number ≥ 0'),
    unitCost: num('unit-cost', (x) => x >= 0 && Number.isFinite(x), 'a number ≥ 0'),
    polarization: num('polarization', (x) => x >= 0 && Number.isFinite(x), 'a number ≥ 0'),
    initialTheta: num('initial-theta', (x) => x > 0 && x <= 1, 'in (0, 1]'),
    seed: num('seed', (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer'),
    settleEpochs: num('settle', (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer'),
    warmupEpochs: num('warmup', (x) => Number.isSafeInteger(x) && x >= 0, 'a non-negative integer'),
  };
  return {
    output,
    ...(str('log') ? { log: str('log')! } : {}),
    ...(str('html') ? { html: str('html')! } : {}),
    options: {
      data,
      labels,
      ...(str('val-data') ? { valData: str('val-data')!, valLabels: str('val-labels')! } : {}),
      force: v['force'] === true,
      otherOutputs: [str('log'), str('html')].filter((f): f is string => f !== undefined),
      ...Object.fromEntries(Object.entries(opts).filter(([, x]) => x !== undefined)),
    },
  };
}

function epochLine(e: EpochLog, total: number): string {
  const val = e.valAccuracy !== null ? `, val loss ${e.valLoss!.toFixed(4)} acc ${(100 * e.valAccuracy).toFixed(2)}%` : '';
  return `epoch ${e.epoch}/${total}: loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(2)}%${val}; widths ${e.widths.join('-')} (undecided θ: ${e.undecided.join('/')}); ${(e.ms / 1000).toFixed(1)} s`;
}

export async function runTrainGates(model: string, a: TrainGatesCli, signal: AbortSignal, write: (line: string) => void): Promise<TrainGatesLog> {
  let total = 0;
  const log = await trainGates(model, a.output, {
    ...a.options,
    signal,
    onEpoch: (e) => write(epochLine(e, (total ||= a.options.epochs ?? 20))),
  });
  const inputs = new InputFiles().addAll([model, a.options.data, a.options.labels, ...(a.options.valData ? [a.options.valData, a.options.valLabels!] : [])], 'an input of this run');
  if (a.log) writeFileAtomic(a.log, JSON.stringify(log, null, 1) + '\n', inputs);
  if (a.html) writeFileAtomic(a.html, renderTrainingHtml(log), inputs);
  write(
    `${log.cancelled ? 'cancelled: exported the state after the last complete epoch. ' : ''}widths ${log.widthsBefore.join('-')} → ${log.widthsAfter.join('-')}; params ${log.paramsBefore.toLocaleString()} → ${log.paramsAfter.toLocaleString()}; ` +
      `θ when the structure was decided: ${log.thetaAtDecision.zero} at 0, ${log.thetaAtDecision.one} at 1, ${log.thetaAtDecision.between} in between (rounded); accuracy ${(100 * log.final.trainAccuracy).toFixed(2)}% train` +
      `${log.final.valAccuracy !== null ? `, ${(100 * log.final.valAccuracy).toFixed(2)}% validation` : ''}; wrote ${path.basename(a.output)} (${log.backend})`,
  );
  return log;
}

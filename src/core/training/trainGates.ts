/**
 * `prunescope train-gates`: reads a feed-forward chain (readChain.ts: Dense, Conv2D, pooling,
 * Flatten; a TF.js Sequential layers-model or an ONNX graph), trains it with Bernoulli gates
 * (gatedNetwork.ts) in tfjs, and exports the shrunk, deterministic network in the input's format
 * (writeChain.ts), with a training log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, UserInputError } from '../errors.ts';
import { checkLabels, checkSamples } from '../formats/samples.ts';
import { TFJS_SHARD } from '../formats/tfjs/writeTfjs.ts';
import { InputFiles } from '../io/inputFiles.ts';
import { OutputTransaction } from '../io/outputTransaction.ts';
import { readNpy } from '../formats/npy.ts';
import { loadTfjs } from '../runtime/loadTfjs.ts';
import { permuteAxes } from '../tensor/layout.ts';
import { type Chain, isWeighted } from './chain.ts';
import { type EpochLog, GATE_DEFAULTS, GatedNetwork, type GateSettings, type TrainingData } from './gatedNetwork.ts';
import { type ChainModel, readChain } from './readChain.ts';
import { writeOnnxChain, writeTfjsChain } from './writeChain.ts';

export { readChain, writeOnnxChain, writeTfjsChain };
export type { ChainModel };

/**
 * Checks that the samples have the model's input size and brings them into the chain's
 * channels-last layout (an ONNX image model's data is [n, C, H, W]).
 */
function fitToChain(data: TrainingData, chain: ChainModel, file: string): void {
  const size = chain.inputShape.reduce((a, b) => a * b, 1);
  const [h, w, c] = chain.inputShape;
  const expected = chain.inputShape.length === 1 ? `${size} features` : chain.channelsFirst ? `shape [${c}, ${h}, ${w}] (channels first, like the model)` : `shape [${h}, ${w}, ${c}]`;
  if (data.features !== size) throw new CheckpointError(file, `has ${data.features} values per sample; the model takes ${expected}`);
  if (chain.channelsFirst) data.x = permuteAxes(data.x, [data.n, c!, h!, w!], [0, 2, 3, 1]);
}

/**
 * x (n × features…, flattened per sample; at least one sample, all finite) and integer labels y
 * in [0, classes) from .npy files.
 */
export function readTrainingData(xFile: string, yFile: string, classes: number, flags = ['--data', '--labels']): TrainingData {
  const x = checkSamples(readNpy(xFile), flags[0]!);
  const n = x.shape[0]!;
  const y = checkLabels(readNpy(yFile), n, classes);
  return { x: x.values instanceof Float32Array ? x.values : Float32Array.from(x.values), y, n, features: x.values.length / n, classes };
}

export interface TrainGatesOptions extends Partial<GateSettings> {
  data: string;
  labels: string;
  valData?: string;
  valLabels?: string;
  /** Replace an existing output (never an input). */
  force?: boolean;
  /** Other files the caller will write (the log, the HTML report): checked with the model's before any work. */
  otherOutputs?: string[];
  /** Tag of the staging folder (the extension removes it after terminating a worker). */
  tempTag?: string;
  signal?: AbortSignal;
  onEpoch?: (log: EpochLog) => void;
}

export interface TrainGatesLog {
  input: string;
  output: string;
  /** What the method is (for readers of the log). */
  method: string;
  settings: GateSettings;
  backend: string;
  widthsBefore: number[];
  widthsAfter: number[];
  epochs: EpochLog[];
  /** Names of the gated layers (the widths' order). */
  gatedLayers: string[];
  /** θ of every unit when the structure was decided, before rounding (units removed earlier count as 0). */
  thetaAtDecision: ThetaHistogram;
  /** θ of every unit at the end: 0 (removed) or 1 (kept). */
  thetaFinal: ThetaHistogram;
  /** Interior θ rounded to the nearest vertex at the end. */
  rounded: number;
  cancelled: boolean;
  final: { trainAccuracy: number; valAccuracy: number | null };
  paramsBefore: number;
  paramsAfter: number;
}

export interface ThetaHistogram {
  /** 12 counts: exactly 0, the ten tenths of the open interval (0, 1), exactly 1. */
  bins: number[];
  zero: number;
  one: number;
  between: number;
}

/** The histogram of the surviving units' θ plus `removed` units at 0. */
export function thetaHistogram(thetas: readonly number[], removed: number): ThetaHistogram {
  const bins = new Array<number>(12).fill(0);
  bins[0] = removed;
  for (const t of thetas) bins[t <= 0 ? 0 : t >= 1 ? 11 : 1 + Math.min(9, Math.floor(t * 10))]!++;
  const zero = bins[0]!;
  const one = bins[11]!;
  return { bins, zero, one, between: thetas.length + removed - zero - one };
}

const paramsOf = (chain: Chain) => chain.layers.reduce((a, l) => a + (isWeighted(l) ? l.kernel.length + l.bias.length : 0), 0);

/** The files a gate training reads: the model's, the data and the labels. */
function trainingInputs(chain: ChainModel, o: TrainGatesOptions): InputFiles {
  const inputs = new InputFiles().add(chain.files[0]!, 'the original model').addAll(chain.files.slice(1), 'a file of the original model');
  for (const [flag, f] of [['--data', o.data], ['--labels', o.labels], ['--val-data', o.valData], ['--val-labels', o.valLabels]] as const) if (f) inputs.add(f, `the ${flag} input`);
  return inputs;
}

export async function trainGates(file: string, output: string, o: TrainGatesOptions): Promise<TrainGatesLog> {
  const chain = readChain(file);
  const same = (a: string, b: string) => path.resolve(a) === path.resolve(b);
  if (chain.format === 'tfjs-layers' && same(path.dirname(file), path.dirname(output))) throw new UserInputError("a TF.js model's shard is written next to its model.json: choose a folder other than the original's");
  const want = chain.format === 'onnx' ? '.onnx' : '.json';
  if (!output.toLowerCase().endsWith(want)) throw new UserInputError(`the output of a ${chain.format} model must be a ${want} file`);
  const inputs = trainingInputs(chain, o);
  const tx = OutputTransaction.open(output, { inputs, force: o.force ?? false, sideFiles: chain.format === 'tfjs-layers' ? [TFJS_SHARD] : [], ...(o.tempTag ? { tag: o.tempTag } : {}) });
  try {
    for (const f of o.otherOutputs ?? []) checkReportOutput(f, inputs, o.force ?? false);
    return await trainStaged(chain, tx, o);
  } finally {
    tx.dispose();
  }
}

/** A report file (--log, --html) of the run: never an input, and replaced only with --force. */
function checkReportOutput(file: string, inputs: InputFiles, force: boolean): void {
  const input = inputs.match(file);
  if (input) throw new CheckpointError(file, `is ${input}: an input is never written over`);
  if (fs.existsSync(file) && !force) throw new CheckpointError(file, 'already exists (pass --force to replace it)');
}

async function trainStaged(chain: ChainModel, tx: OutputTransaction, o: TrainGatesOptions): Promise<TrainGatesLog> {
  const file = chain.files[0]!;
  const output = tx.model;
  const output_ = chain.layers.at(-1)!;
  const outUnits = isWeighted(output_) ? output_.units : 0;
  const train = readTrainingData(o.data, o.labels, outUnits);
  const val = o.valData && o.valLabels ? readTrainingData(o.valData, o.valLabels, outUnits, ['--val-data', '--val-labels']) : undefined;
  fitToChain(train, chain, o.data);
  if (val) fitToChain(val, chain, o.valData!);
  const settings: GateSettings = { ...GATE_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([k, v]) => k in GATE_DEFAULTS && v !== undefined)) };
  const { tf, backend } = await loadTfjs();
  const net = new GatedNetwork(tf, chain, settings);
  const log: TrainGatesLog = {
    input: path.resolve(file),
    output: path.resolve(output),
    method: 'parsimonious Bernoulli-gate training (PruneScope implementation of Guenter & Sideris): projected SGD on θ, straight-through gate gradient, linear prior cost, flattening hyper-prior with a ramped bistable term',
    settings,
    backend,
    widthsBefore: net.widths(),
    widthsAfter: [],
    epochs: [],
    gatedLayers: net.gatedLayerNames(),
    thetaAtDecision: thetaHistogram([], 0),
    thetaFinal: thetaHistogram([], 0),
    rounded: 0,
    cancelled: false,
    final: { trainAccuracy: 0, valAccuracy: null },
    paramsBefore: paramsOf(chain),
    paramsAfter: 0,
  };
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      if (o.signal?.aborted) {
        log.cancelled = true; // the last epoch's state is consistent: export it
        break;
      }
      const t0 = performance.now();
      const r = net.epoch(train);
      if (!Number.isFinite(r.loss)) {
        throw new UserInputError(`training diverged in epoch ${epoch} (loss ${r.loss}); nothing was written. Try a smaller --lr, or check the data's scale`);
      }
      const v = val ? net.evaluate(val) : null;
      const entry: EpochLog = {
        epoch,
        loss: r.loss,
        accuracy: r.accuracy,
        valLoss: v?.loss ?? null,
        valAccuracy: v?.accuracy ?? null,
        widths: net.widths(),
        undecided: net.thetas().map((t) => t.filter((x) => x > 0 && x < 1).length),
        ms: performance.now() - t0,
      };
      log.epochs.push(entry);
      o.onEpoch?.(entry);
      await new Promise((res) => setImmediate(res)); // let a cancel be seen
    }
    const units = log.widthsBefore.reduce((a, b) => a + b, 0);
    const decided = (net.thetasAtDecision ?? net.thetas()).flat(); // no decision yet: settle epochs 0, or cancelled before
    log.thetaAtDecision = thetaHistogram(decided, units - decided.length);
    net.finalize();
    const final = net.thetas().flat();
    log.thetaFinal = thetaHistogram(final, units - final.length);
    log.rounded = net.rounded;
    log.widthsAfter = net.widths();
    log.final = { trainAccuracy: net.evaluate(train).accuracy, valAccuracy: val ? net.evaluate(val).accuracy : null };
    const trained = net.export();
    log.paramsAfter = paramsOf(trained);
    if (chain.format === 'onnx') writeOnnxChain(tx, chain, trained);
    else await writeTfjsChain(tx, trained);
    await tx.commit();
    return log;
  } finally {
    net.dispose();
  }
}

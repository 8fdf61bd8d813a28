/**
 * `prunescope train-gates`: reads a feed-forward Dense network (a TF.js Sequential layers-model or
 * an ONNX chain), trains it with Bernoulli gates (gatedNetwork.ts) in tfjs, and exports the shrunk,
 * deterministic network in the input's format, with a training log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { readNpy } from '../formats/npy.ts';
import { transpose2d } from '../tensor/layout.ts';
import { buildOnnxModel, type NodeSpec } from '../formats/onnx/onnxBuilder.ts';
import { loadTfjs } from '../runtime/loadTfjs.ts';
import { type Activation, type DenseSpec, type EpochLog, GATE_DEFAULTS, GatedNetwork, type GateSettings, type TrainingData } from './gatedNetwork.ts';

export class TrainingInputError extends Error {}

export interface ChainModel {
  format: 'onnx' | 'tfjs-layers';
  layers: DenseSpec[];
  inputName: string;
  outputName: string;
}

const ACTIVATIONS: Record<string, Activation> = { Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', relu: 'relu', sigmoid: 'sigmoid', tanh: 'tanh', linear: 'linear' };

/** The Dense chain of a model, or a TrainingInputError naming the first thing that is not one. */
export function readChain(file: string): ChainModel {
  const ck = openCheckpoint(file);
  try {
    const value = (name: string) => {
      const w = ck.weights.find((x) => x.name === name);
      if (!w) throw new TrainingInputError(`weight '${name}' not found`);
      return { shape: w.shape, values: Float32Array.from(w.read()) };
    };
    if (ck.format === 'tfjs-layers') {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { modelTopology: Record<string, unknown> };
      const root = (json.modelTopology['model_config'] ?? json.modelTopology) as { class_name?: string; config?: { layers?: Array<{ class_name: string; config: Record<string, unknown> & { name: string } }> } };
      if (root.class_name !== 'Sequential') throw new TrainingInputError('gate training needs a Sequential TF.js model');
      const layers: DenseSpec[] = [];
      for (const l of root.config?.layers ?? []) {
        if (l.class_name === 'InputLayer' || l.class_name === 'Dropout' || (l.class_name === 'Flatten' && layers.length === 0)) continue;
        if (l.class_name === 'Activation' && layers.length && layers[layers.length - 1]!.activation === 'linear') {
          const a = ACTIVATIONS[String(l.config['activation'])];
          if (!a) throw new TrainingInputError(`activation '${l.config['activation']}' of layer ${l.config.name} is not supported`);
          layers[layers.length - 1]!.activation = a;
          continue;
        }
        if (l.class_name !== 'Dense') throw new TrainingInputError(`layer ${l.config.name} is ${l.class_name}: gate training supports Dense layers with elementwise activations`);
        const a = ACTIVATIONS[String(l.config['activation'] ?? 'linear')];
        if (!a) throw new TrainingInputError(`activation '${l.config['activation']}' of layer ${l.config.name} is not supported`);
        const k = value(`${l.config.name}/kernel`);
        const bias = l.config['use_bias'] === false ? new Float32Array(k.shape[1]!) : value(`${l.config.name}/bias`).values;
        layers.push({ name: l.config.name, kernel: k.values, bias, inDim: k.shape[0]!, units: k.shape[1]!, activation: a });
      }
      if (layers.length < 2) throw new TrainingInputError('gate training needs at least one hidden Dense layer before the output layer');
      return { format: 'tfjs-layers', layers, inputName: 'input', outputName: 'output' };
    }
    if (ck.format !== 'onnx') throw new TrainingInputError(`gate training reads ONNX and TF.js layers-models, not ${ck.format}`);
    const ops = ck.ops.filter((o) => o.graph === '');
    const layers: DenseSpec[] = [];
    const consts = new Set(ck.weights.map((w) => w.name));
    let inputName = '';
    for (const op of ops) {
      if (!inputName) inputName = op.inputs[0]!;
      if ((op.opType === 'Flatten' || op.opType === 'Reshape') && layers.length === 0) continue;
      if (op.opType === 'Gemm') {
        if (op.attributes['transA']) throw new TrainingInputError(`node ${op.name}: Gemm with transA is not supported`);
        const w = value(op.inputs[1]!);
        const transB = op.attributes['transB'] === 1;
        const [out, inp] = transB ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
        const kernel = transB ? transpose2d(w.values, out, inp) : w.values;
        const bias = op.inputs[2] ? value(op.inputs[2]).values : new Float32Array(out);
        layers.push({ name: op.name, kernel, bias, inDim: inp, units: out, activation: 'linear' });
        continue;
      }
      if (op.opType === 'MatMul' && consts.has(op.inputs[1]!)) {
        const w = value(op.inputs[1]!);
        layers.push({ name: op.name, kernel: w.values, bias: new Float32Array(w.shape[1]!), inDim: w.shape[0]!, units: w.shape[1]!, activation: 'linear' });
        continue;
      }
      if (op.opType === 'Add' && layers.length && consts.has(op.inputs[1]!) && layers[layers.length - 1]!.activation === 'linear') {
        layers[layers.length - 1]!.bias = value(op.inputs[1]!).values;
        continue;
      }
      const a = ACTIVATIONS[op.opType];
      if (a && layers.length && layers[layers.length - 1]!.activation === 'linear') {
        layers[layers.length - 1]!.activation = a;
        continue;
      }
      throw new TrainingInputError(`node ${op.name} (${op.opType}) is not supported: gate training takes chains of Gemm/MatMul layers with Relu, Sigmoid or Tanh`);
    }
    if (layers.length < 2) throw new TrainingInputError('gate training needs at least one hidden layer before the output layer');
    const last = ops[ops.length - 1]!;
    return { format: 'onnx', layers, inputName, outputName: last.outputs[0]! };
  } finally {
    ck.close();
  }
}

/** x (n × features…, flattened per sample) and integer labels y from .npy files. */
export function readTrainingData(xFile: string, yFile: string): TrainingData {
  const x = readNpy(xFile);
  const y = readNpy(yFile);
  const n = x.shape[0]!;
  if (y.values.length !== n) throw new TrainingInputError(`${path.basename(yFile)} has ${y.values.length} labels for ${n} samples`);
  const labels = Int32Array.from(y.values, (v) => {
    if (!Number.isInteger(v) || v < 0) throw new TrainingInputError(`${path.basename(yFile)} must hold class indices 0, 1, …, not ${v}`);
    return v;
  });
  return { x: x.values instanceof Float32Array ? x.values : Float32Array.from(x.values), y: labels, n, features: x.values.length / n, classes: Math.max(...labels) + 1 };
}

export interface TrainGatesOptions extends Partial<GateSettings> {
  data: string;
  labels: string;
  valData?: string;
  valLabels?: string;
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
  /** θ when the structure was decided (before rounding): how many were at 0, at 1, and in between. */
  thetaHistogram: { zero: number; one: number; between: number };
  /** Interior θ rounded to the nearest vertex at the end. */
  rounded: number;
  cancelled: boolean;
  final: { trainAccuracy: number; valAccuracy: number | null };
  paramsBefore: number;
  paramsAfter: number;
}

function thetaHistogram(thetas: number[][]): TrainGatesLog['thetaHistogram'] {
  const h = { zero: 0, one: 0, between: 0 };
  for (const t of thetas.flat()) h[t === 0 ? 'zero' : t === 1 ? 'one' : 'between']++;
  return h;
}

const paramsOf = (layers: readonly DenseSpec[]) => layers.reduce((a, l) => a + l.inDim * l.units + l.units, 0);

export async function trainGates(file: string, output: string, o: TrainGatesOptions): Promise<TrainGatesLog> {
  const chain = readChain(file);
  const same = (a: string, b: string) => path.resolve(a) === path.resolve(b);
  if (same(file, output)) throw new TrainingInputError('the trained model is never written over the original: choose another output');
  if (chain.format === 'tfjs-layers' && same(path.dirname(file), path.dirname(output))) throw new TrainingInputError("a TF.js model's shard is written next to its model.json: choose a folder other than the original's");
  const want = chain.format === 'onnx' ? '.onnx' : '.json';
  if (!output.toLowerCase().endsWith(want)) throw new TrainingInputError(`the output of a ${chain.format} model must be a ${want} file`);
  const train = readTrainingData(o.data, o.labels);
  const val = o.valData && o.valLabels ? readTrainingData(o.valData, o.valLabels) : undefined;
  if (train.features !== chain.layers[0]!.inDim) throw new TrainingInputError(`the data has ${train.features} features per sample; the model's first layer takes ${chain.layers[0]!.inDim}`);
  const outUnits = chain.layers[chain.layers.length - 1]!.units;
  if (train.classes > outUnits) throw new TrainingInputError(`the labels go up to ${train.classes - 1}; the model has ${outUnits} outputs`);
  train.classes = outUnits;
  if (val) val.classes = outUnits;
  const settings: GateSettings = { ...GATE_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([k, v]) => k in GATE_DEFAULTS && v !== undefined)) };
  const { tf, backend } = await loadTfjs();
  const net = new GatedNetwork(tf, chain.layers, settings);
  const log: TrainGatesLog = {
    input: path.resolve(file),
    output: path.resolve(output),
    method: 'parsimonious Bernoulli-gate training (PruneScope implementation of Guenter & Sideris): projected SGD on θ, straight-through gate gradient, linear prior cost with a flattening hyper-prior',
    settings,
    backend,
    widthsBefore: net.widths(),
    widthsAfter: [],
    epochs: [],
    thetaHistogram: { zero: 0, one: 0, between: 0 },
    rounded: 0,
    cancelled: false,
    final: { trainAccuracy: 0, valAccuracy: null },
    paramsBefore: paramsOf(chain.layers),
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
    log.thetaHistogram = thetaHistogram(net.thetasAtDecision ?? net.thetas()); // no decision yet: settle epochs 0, or cancelled before
    net.finalize();
    log.rounded = net.rounded;
    log.widthsAfter = net.widths();
    log.final = { trainAccuracy: net.evaluate(train).accuracy, valAccuracy: val ? net.evaluate(val).accuracy : null };
    const trained = net.export();
    log.paramsAfter = paramsOf(trained);
    if (chain.format === 'onnx') writeOnnxChain(output, chain, trained);
    else await writeTfjsChain(output, trained);
    return log;
  } finally {
    net.dispose();
  }
}

/** The trained chain as ONNX: Gemm (transB, W = out × in) and activation nodes, opset 13. */
export function writeOnnxChain(output: string, chain: ChainModel, layers: readonly DenseSpec[]): void {
  const nodes: NodeSpec[] = [];
  const initializers: Parameters<typeof buildOnnxModel>[0]['initializers'] = [];
  let x = chain.inputName;
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    const z = last && l.activation === 'linear' ? chain.outputName : `${l.name}_z`;
    const w = transpose2d(l.kernel, l.inDim, l.units);
    initializers.push({ name: `${l.name}.weight`, dataType: 1, dims: [l.units, l.inDim], raw: bytes(w) }, { name: `${l.name}.bias`, dataType: 1, dims: [l.units], raw: bytes(l.bias) });
    nodes.push({ name: `${l.name}_gemm`, opType: 'Gemm', inputs: [x, `${l.name}.weight`, `${l.name}.bias`], outputs: [z], ints: { transB: 1 } });
    x = z;
    if (l.activation !== 'linear') {
      const a = last ? chain.outputName : `${l.name}_a`;
      nodes.push({ name: `${l.name}_act`, opType: l.activation === 'relu' ? 'Relu' : l.activation === 'sigmoid' ? 'Sigmoid' : 'Tanh', inputs: [z], outputs: [a] });
      x = a;
    }
  });
  const tmp = `${output}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  try {
    buildOnnxModel({
      producer: 'prunescope train-gates',
      opset: 13,
      graphName: 'gated',
      inputs: [{ name: chain.inputName, elemType: 1, dims: ['batch', layers[0]!.inDim] }],
      outputs: [{ name: chain.outputName, elemType: 1, dims: ['batch', layers[layers.length - 1]!.units] }],
      nodes,
      initializers,
    }).writeToFile(tmp);
    fs.renameSync(tmp, output);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function bytes(a: Float32Array) {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return { length: b.length, produce: (emit: (c: Uint8Array) => void) => emit(b) };
}

/** The trained chain as a TF.js Sequential layers-model (float32): model.json + one shard. */
export async function writeTfjsChain(output: string, layers: readonly DenseSpec[]): Promise<void> {
  const { tf } = await loadTfjs();
  const model = tf.sequential({
    layers: layers.map((l, i) => tf.layers.dense({ units: l.units, activation: l.activation, name: l.name, ...(i === 0 ? { inputShape: [l.inDim] } : {}) })),
  });
  model.setWeights(layers.flatMap((l) => [tf.tensor2d(l.kernel, [l.inDim, l.units]), tf.tensor1d(l.bias)]));
  const dir = path.dirname(path.resolve(output));
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const shard = 'group1-shard1of1.bin';
      const tmpShard = path.join(dir, `.${shard}.${process.pid}.tmp`);
      const tmpJson = path.join(dir, `.${path.basename(output)}.${process.pid}.tmp`);
      fs.writeFileSync(tmpShard, Buffer.from(a.weightData as ArrayBuffer));
      fs.writeFileSync(tmpJson, JSON.stringify({ format: 'layers-model', generatedBy: 'prunescope train-gates', modelTopology: a.modelTopology, weightsManifest: [{ paths: [shard], weights: a.weightSpecs }] }));
      fs.renameSync(tmpShard, path.join(dir, shard));
      fs.renameSync(tmpJson, output);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
}

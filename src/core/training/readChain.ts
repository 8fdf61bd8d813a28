/**
 * Reads the feed-forward chain gate training takes (chain.ts) from a TF.js Sequential layers-model
 * or an ONNX graph, with the weights copied exactly. ONNX images are channels-first: Conv kernels
 * are permuted to HWIO, and the Dense after a Flatten gets its rows reordered from (c, h, w) to
 * (h, w, c), so that the channels-last chain computes the same function. Anything else is refused
 * with the first unsupported layer or node named.
 */
import type { GraphOp } from '../checkpoint.ts';
import { UserInputError, quote } from '../errors.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { sequentialLayers } from '../formats/tfjs/kerasTopology.ts';
import { readModelJson } from '../formats/tfjs/readTfjs.ts';
import { permuteAxes, transpose2d } from '../tensor/layout.ts';
import { type Activation, type Chain, chainShapes, type Conv2DSpec, type DenseSpec, type LayerSpec, samePads } from './chain.ts';


export interface ChainModel extends Chain {
  format: 'onnx' | 'tfjs-layers';
  inputName: string;
  outputName: string;
  /** ONNX image models: the model (and its data) is NCHW while the chain is NHWC. */
  channelsFirst: boolean;
  /** Every file of the model (never written over). */
  files: string[];
}

const ACTIVATIONS: Record<string, Activation> = { Relu: 'relu', Sigmoid: 'sigmoid', Tanh: 'tanh', relu: 'relu', sigmoid: 'sigmoid', tanh: 'tanh', linear: 'linear' };

/** Tracks the chain being read: its current per-sample shape, and folding activations into the layer before. */
class ChainBuilder {
  readonly layers: LayerSpec[] = [];
  constructor(public inputShape: number[]) {}

  get shape(): number[] {
    if (!this.layers.length) return this.inputShape;
    return chainShapes({ inputShape: this.inputShape, layers: this.layers }).at(-1)!;
  }

  push(l: LayerSpec): void {
    this.layers.push(l);
    void this.shape; // validates the new layer against its input
  }

  /** Sets the activation of the last layer if it is a weighted one still linear; false otherwise. */
  activate(a: Activation): boolean {
    const last = this.layers.at(-1);
    if (!last || (last.kind !== 'dense' && last.kind !== 'conv2d') || last.activation !== 'linear') return false;
    last.activation = a;
    return true;
  }

  finish(format: ChainModel['format'], inputName: string, outputName: string, channelsFirst: boolean): Omit<ChainModel, 'files'> {
    if (this.layers.filter((l) => l.kind === 'dense' || l.kind === 'conv2d').length < 2) throw new UserInputError('gate training needs at least one hidden layer before the output layer');
    const last = this.layers.at(-1)!;
    if (last.kind !== 'dense') throw new UserInputError(`the model must end in a Dense (fully connected) output layer, not ${last.name}`);
    return { format, inputShape: this.inputShape, layers: this.layers, inputName, outputName, channelsFirst };
  }
}

const pair = (v: unknown, fallback: number): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : v === undefined || v === null ? [fallback, fallback] : [Number(v), Number(v)]);

/** The chain of a model, or a UserInputError naming the first thing that is not one. */
export function readChain(file: string): ChainModel {
  const ck = openCheckpoint(file);
  try {
    const value = (name: string) => {
      const w = ck.weights.find((x) => x.name === name);
      if (!w) throw new UserInputError(`weight '${quote(name)}' not found`);
      return { shape: w.shape, values: Float32Array.from(w.read()) };
    };
    if (ck.format === 'tfjs-layers') return { ...readTfjsChain(file, value), files: ck.files };
    if (ck.format !== 'onnx') throw new UserInputError(`gate training reads ONNX and TF.js layers-models, not ${ck.format}`);
    const chain = readOnnxChain(
      ck.ops.filter((o) => o.graph === ''),
      new Set(ck.weights.map((w) => w.name)),
      ck.inputShapes ?? {},
      (name) => ck.integerConstant?.(name),
      value,
    );
    return { ...chain, files: ck.files };
  } finally {
    ck.close();
  }
}

type ValueOf = (name: string) => { shape: number[]; values: Float32Array };

function activationOf(v: unknown, layer: string): Activation {
  const a = ACTIVATIONS[String(v ?? 'linear')];
  if (!a) throw new UserInputError(`activation '${quote(v)}' of layer ${layer} is not supported (relu, sigmoid, tanh or linear)`);
  return a;
}

function readTfjsChain(file: string, value: ValueOf): Omit<ChainModel, 'files'> {
  const json = readModelJson(file) as { modelTopology: Record<string, unknown> };
  const all = sequentialLayers(json.modelTopology);
  if (!all) throw new UserInputError('gate training needs a Sequential TF.js model');
  const layers = all.filter((l) => l.class_name !== 'InputLayer' && l.class_name !== 'Dropout');
  const declared = all.map((l) => l.config['batch_input_shape'] as Array<number | null> | undefined).find(Boolean);
  const image = layers.some((l) => l.class_name === 'Conv2D' || l.class_name.endsWith('Pooling2D'));
  let inputShape: number[];
  if (image) {
    if (!declared || declared.length !== 4 || declared.slice(1).some((d) => !d)) throw new UserInputError('a TF.js model with Conv2D layers must declare its input shape [height, width, channels]');
    inputShape = declared.slice(1) as number[];
  } else {
    const first = layers.find((l) => l.class_name === 'Dense');
    if (!first) throw new UserInputError('gate training needs Dense or Conv2D layers');
    inputShape = [value(`${first.config.name}/kernel`).shape[0]!];
  }
  const b = new ChainBuilder(inputShape);
  for (const l of layers) {
    const c = l.config;
    const bias = (units: number) => (c['use_bias'] === false ? new Float32Array(units) : value(`${c.name}/bias`).values);
    switch (l.class_name) {
      case 'Flatten':
        if (b.shape.length > 1) b.push({ kind: 'flatten', name: c.name });
        break;
      case 'Activation':
        if (!b.activate(activationOf(c['activation'], c.name))) throw new UserInputError(`layer ${c.name} (Activation) must follow a Dense or Conv2D layer without its own activation`);
        break;
      case 'Dense': {
        const k = value(`${c.name}/kernel`);
        b.push({ kind: 'dense', name: c.name, kernel: k.values, bias: bias(k.shape[1]!), inDim: k.shape[0]!, units: k.shape[1]!, activation: activationOf(c['activation'], c.name) });
        break;
      }
      case 'Conv2D': {
        if (c['data_format'] === 'channels_first') throw new UserInputError(`layer ${c.name}: channels_first Conv2D is not supported`);
        if (pair(c['dilation_rate'], 1).some((d) => d !== 1)) throw new UserInputError(`layer ${c.name}: dilated Conv2D is not supported`);
        if (c['groups'] !== undefined && c['groups'] !== 1) throw new UserInputError(`layer ${c.name}: grouped Conv2D is not supported`);
        const k = value(`${c.name}/kernel`);
        const [kh, kw, cin, units] = k.shape as [number, number, number, number];
        const strides = pair(c['strides'], 1);
        const [h, w] = b.shape;
        const [pt, pb] = c['padding'] === 'same' ? samePads(h!, kh, strides[0]) : [0, 0];
        const [pl, pr] = c['padding'] === 'same' ? samePads(w!, kw, strides[1]) : [0, 0];
        b.push({ kind: 'conv2d', name: c.name, kernel: k.values, bias: bias(units), kernelSize: [kh, kw], strides, pads: [pt, pl, pb, pr], inChannels: cin, units, activation: activationOf(c['activation'], c.name) });
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const poolSize = pair(c['pool_size'], 2);
        b.push({ kind: l.class_name === 'MaxPooling2D' ? 'maxPool' : 'avgPool', name: c.name, poolSize, strides: c['strides'] ? pair(c['strides'], 1) : poolSize, padding: c['padding'] === 'same' ? 'same' : 'valid' });
        break;
      }
      default:
        throw new UserInputError(`layer ${c.name} is ${l.class_name}: gate training supports Dense, Conv2D, MaxPooling2D, AveragePooling2D and Flatten layers with elementwise activations`);
    }
  }
  return b.finish('tfjs-layers', 'input', 'output', false);
}

function readOnnxChain(ops: GraphOp[], consts: ReadonlySet<string>, inputShapes: Record<string, number[]>, integerConstant: (name: string) => number[] | undefined, value: ValueOf): Omit<ChainModel, 'files'> {
  ops = ops.filter((o) => o.opType !== 'Constant'); // their values are read where they are used
  const inputName = ops[0]?.inputs[0] ?? '';
  const image = ops.some((o) => o.opType === 'Conv' || o.opType === 'MaxPool' || o.opType === 'AveragePool');
  const dims = inputShapes[inputName];
  let inputShape: number[];
  if (image) {
    if (!dims || dims.length !== 4 || dims.slice(1).some((d) => !(d > 0))) throw new UserInputError(`input '${quote(inputName)}' must have a fixed [batch, channels, height, width] shape for a model with Conv layers`);
    inputShape = [dims[2]!, dims[3]!, dims[1]!];
  } else {
    const first = ops.find((o) => o.opType === 'Gemm' || o.opType === 'MatMul');
    if (!first) throw new UserInputError('gate training needs Gemm, MatMul or Conv layers');
    const w = value(first.inputs[1]!);
    inputShape = [first.opType === 'Gemm' && first.attributes['transB'] === 1 ? w.shape[1]! : w.shape[0]!];
  }
  const b = new ChainBuilder(inputShape);
  /** Shape of the image a Flatten just turned into a vector: the next Dense's rows are in (c, h, w) order. */
  let flattened: number[] | null = null;
  const dense = (op: GraphOp, kernel: Float32Array, inDim: number, units: number, bias: Float32Array): DenseSpec => {
    if (flattened) {
      const [h, w, c] = flattened as [number, number, number];
      kernel = permuteAxes(kernel, [c, h, w, units], [1, 2, 0, 3]);
      flattened = null;
    }
    return { kind: 'dense', name: op.name, kernel, bias, inDim, units, activation: 'linear' };
  };
  const unsupported = (op: GraphOp, why: string) => new UserInputError(`node ${op.name} (${op.opType}) is not supported: ${why}`);
  for (const op of ops) {
    const a = op.attributes;
    switch (op.opType) {
      case 'Flatten':
      case 'Reshape':
        if (b.shape.length > 1) {
          if (op.opType === 'Flatten' && (a['axis'] ?? 1) !== 1) throw unsupported(op, 'only axis 1 flattens one sample');
          flattened = b.shape;
          b.push({ kind: 'flatten', name: op.name });
        }
        continue;
      case 'Gemm': {
        if (a['transA']) throw unsupported(op, 'Gemm with transA');
        const w = value(op.inputs[1]!);
        const transB = a['transB'] === 1;
        const [out, inp] = transB ? [w.shape[0]!, w.shape[1]!] : [w.shape[1]!, w.shape[0]!];
        const alpha = Number(a['alpha'] ?? 1);
        const beta = Number(a['beta'] ?? 1);
        const kernel = (transB ? transpose2d(w.values, out, inp) : w.values).map((v) => v * alpha);
        const bias = op.inputs[2] ? value(op.inputs[2]).values.map((v) => v * beta) : new Float32Array(out);
        b.push(dense(op, kernel, inp, out, bias));
        continue;
      }
      case 'MatMul':
        if (consts.has(op.inputs[1]!)) {
          const w = value(op.inputs[1]!);
          b.push(dense(op, w.values, w.shape[0]!, w.shape[1]!, new Float32Array(w.shape[1]!)));
          continue;
        }
        break;
      case 'Add': {
        const last = b.layers.at(-1);
        if (last?.kind === 'dense' && last.activation === 'linear' && consts.has(op.inputs[1]!) && !last.bias.some((v) => v !== 0)) {
          last.bias = value(op.inputs[1]!).values;
          continue;
        }
        break;
      }
      case 'Pad': {
        // torch exports average pooling as a zero Pad before AveragePool: an identity, skipped
        const pads = op.inputs[1] ? integerConstant(op.inputs[1]) : (a['pads'] as number[] | undefined);
        if ((a['mode'] ?? 'constant') === 'constant' && pads?.every((p) => p === 0)) continue;
        throw unsupported(op, 'only an all-zero Pad (an identity) is supported');
      }
      case 'Conv':
        b.push(readOnnxConv(op, b.shape, value, unsupported));
        continue;
      case 'MaxPool':
      case 'AveragePool': {
        const kernel = pair(a['kernel_shape'], 1);
        const strides = pair(a['strides'], 1);
        if (Number(a['ceil_mode'] ?? 0) !== 0) throw unsupported(op, 'ceil_mode');
        if (pair(a['dilations'], 1).some((d) => d !== 1)) throw unsupported(op, 'dilated pooling');
        if (op.outputs.length > 1) throw unsupported(op, 'MaxPool with indices');
        const pads = (a['pads'] as number[] | undefined) ?? [0, 0, 0, 0];
        const [h, w] = b.shape;
        const same = [...samePads(h!, kernel[0], strides[0]), ...samePads(w!, kernel[1], strides[1])];
        let padding: 'valid' | 'same';
        if (pads.every((p) => p === 0) && a['auto_pad'] !== 'SAME_UPPER') padding = 'valid';
        else if (a['auto_pad'] === 'SAME_UPPER' || (pads[0] === same[0] && pads[1] === same[2] && pads[2] === same[1] && pads[3] === same[3])) padding = 'same';
        else throw unsupported(op, `pads [${pads}] are neither none nor TF 'same'`);
        if (padding === 'same' && op.opType === 'AveragePool' && Number(a['count_include_pad'] ?? 0) !== 0) throw unsupported(op, 'count_include_pad with padding');
        b.push({ kind: op.opType === 'MaxPool' ? 'maxPool' : 'avgPool', name: op.name, poolSize: kernel, strides, padding });
        continue;
      }
      default: {
        const act = ACTIVATIONS[op.opType];
        if (act && b.activate(act)) continue;
      }
    }
    throw unsupported(op, 'gate training takes chains of Gemm/MatMul, Conv, MaxPool/AveragePool and Flatten with Relu, Sigmoid or Tanh');
  }
  return b.finish('onnx', inputName, ops.at(-1)!.outputs[0]!, image);
}

function readOnnxConv(op: GraphOp, shape: number[], value: ValueOf, unsupported: (op: GraphOp, why: string) => Error): Conv2DSpec {
  const a = op.attributes;
  if (shape.length !== 3) throw unsupported(op, 'Conv after a Flatten');
  if (Number(a['group'] ?? 1) !== 1) throw unsupported(op, 'grouped or depthwise Conv');
  if (pair(a['dilations'], 1).some((d) => d !== 1)) throw unsupported(op, 'dilated Conv');
  const w = value(op.inputs[1]!);
  if (w.shape.length !== 4) throw unsupported(op, 'only 2-D convolutions');
  const [units, cin, kh, kw] = w.shape as [number, number, number, number];
  const strides = pair(a['strides'], 1);
  const autoPad = String(a['auto_pad'] ?? 'NOTSET');
  let pads = ((a['pads'] as number[] | undefined) ?? [0, 0, 0, 0]) as [number, number, number, number];
  if (autoPad === 'SAME_UPPER') {
    const [t, bt] = samePads(shape[0]!, kh, strides[0]);
    const [l, r] = samePads(shape[1]!, kw, strides[1]);
    pads = [t, l, bt, r];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  else if (autoPad !== 'NOTSET') throw unsupported(op, `auto_pad ${autoPad}`);
  return {
    kind: 'conv2d',
    name: op.name,
    kernel: permuteAxes(w.values, [units, cin, kh, kw], [2, 3, 1, 0]),
    bias: op.inputs[2] ? value(op.inputs[2]).values : new Float32Array(units),
    kernelSize: [kh, kw],
    strides,
    pads: [pads[0], pads[1], pads[2], pads[3]],
    inChannels: cin,
    units,
    activation: 'linear',
  };
}


/**
 * Writes a trained chain (chain.ts) in its input's format, atomically: ONNX (Gemm/Conv/pooling/
 * Flatten with activation nodes, opset 13, channels-first like the model it came from) or a TF.js
 * Sequential layers-model (float32, model.json + one shard).
 */
import * as fs from 'node:fs';
import { InputFiles } from '../io/inputFiles.ts';
import { type OutputTransaction, writeTarget } from '../io/outputTransaction.ts';
import { TFJS_SHARD } from '../formats/tfjs/writeTfjs.ts';
import { buildOnnxModel, type NodeSpec } from '../formats/onnx/onnxBuilder.ts';
import { loadTfjs } from '../runtime/loadTfjs.ts';
import { permuteAxes, transpose2d } from '../tensor/layout.ts';
import { type Activation, type Chain, chainShapes, isWeighted, type LayerSpec, samePads } from './chain.ts';

export interface OnnxNames {
  inputName: string;
  outputName: string;
}

const ONNX_ACTIVATION: Record<Exclude<Activation, 'linear'>, string> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh' };

function bytes(a: Float32Array) {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  return { length: b.length, produce: (emit: (c: Uint8Array) => void) => emit(b) };
}

/**
 * The chain as ONNX. An image chain is written channels-first (input [batch, C, H, W]): Conv
 * kernels as OIHW and the Dense after a Flatten with its rows back in (c, h, w) order.
 */
export function writeOnnxChain(target: OutputTransaction | string, names: OnnxNames, chain: Chain, force = false): void {
  const shapes = chainShapes(chain);
  const image = chain.inputShape.length === 3;
  const nodes: NodeSpec[] = [];
  const initializers: Parameters<typeof buildOnnxModel>[0]['initializers'] = [];
  let x = names.inputName;
  const last = chain.layers.length - 1;
  /** Appends a node reading x; `final`: its output is the graph's. */
  const emit = (i: number, opType: string, inputs: string[], extra: Partial<NodeSpec>, final: boolean, suffix = opType.toLowerCase()) => {
    const l = chain.layers[i]!;
    const out = final ? names.outputName : `${l.name}_${suffix}`;
    nodes.push({ name: `${l.name}_${suffix}`, opType, inputs: [x, ...inputs], outputs: [out], ...extra });
    x = out;
  };
  const param = (name: string, dims: number[], values: Float32Array) => {
    initializers.push({ name, dataType: 1, dims, raw: bytes(values) });
    return name;
  };
  chain.layers.forEach((l, i) => {
    const before = i === 0 ? chain.inputShape : shapes[i - 1]!;
    const final = i === last && (!isWeighted(l) || l.activation === 'linear');
    switch (l.kind) {
      case 'flatten':
        emit(i, 'Flatten', [], { ints: { axis: 1 } }, final);
        return;
      case 'maxPool':
      case 'avgPool': {
        const [t, b] = l.padding === 'same' ? samePads(before[0]!, l.poolSize[0], l.strides[0]) : [0, 0];
        const [lf, r] = l.padding === 'same' ? samePads(before[1]!, l.poolSize[1], l.strides[1]) : [0, 0];
        emit(i, l.kind === 'maxPool' ? 'MaxPool' : 'AveragePool', [], { intLists: { kernel_shape: l.poolSize, strides: l.strides, pads: [t, lf, b, r] } }, final);
        return;
      }
      case 'conv2d': {
        const [kh, kw] = l.kernelSize;
        const w = param(`${l.name}.weight`, [l.units, l.inChannels, kh, kw], permuteAxes(l.kernel, [kh, kw, l.inChannels, l.units], [3, 2, 0, 1]));
        emit(i, 'Conv', [w, param(`${l.name}.bias`, [l.units], l.bias)], { intLists: { kernel_shape: l.kernelSize, strides: l.strides, pads: l.pads } }, final);
        break;
      }
      case 'dense': {
        let kernel = l.kernel;
        if (i > 0 && chain.layers[i - 1]!.kind === 'flatten' && before.length === 1 && image) {
          const img = shapes[i - 2] ?? chain.inputShape;
          const [h, wd, c] = img as [number, number, number];
          kernel = permuteAxes(kernel, [h, wd, c, l.units], [2, 0, 1, 3]);
        }
        const w = param(`${l.name}.weight`, [l.units, l.inDim], transpose2d(kernel, l.inDim, l.units));
        emit(i, 'Gemm', [w, param(`${l.name}.bias`, [l.units], l.bias)], { ints: { transB: 1 } }, final, 'gemm');
        break;
      }
    }
    if (l.activation !== 'linear') emit(i, ONNX_ACTIVATION[l.activation], [], {}, i === last, 'act');
  });
  const inputDims = image ? [chain.inputShape[2]!, chain.inputShape[0]!, chain.inputShape[1]!] : chain.inputShape;
  const model = buildOnnxModel({
    producer: 'prunescope train-gates',
    opset: 13,
    graphName: 'gated',
    inputs: [{ name: names.inputName, elemType: 1, dims: ['batch', ...inputDims] }],
    outputs: [{ name: names.outputName, elemType: 1, dims: ['batch', ...shapes.at(-1)!] }],
    nodes,
    initializers,
  });
  writeTarget(target, { inputs: new InputFiles(), force }, (tx) => tx.write(() => model.writeToFile(tx.stagedModel)));
}

/** The TF.js layers of a chain; explicit Conv2D pads that are neither none nor 'same' become a ZeroPadding2D before it. */
function tfjsLayers(tf: typeof import('@tensorflow/tfjs'), chain: Chain) {
  const shapes = chainShapes(chain);
  const out: import('@tensorflow/tfjs').layers.Layer[] = [];
  const first = (): { inputShape?: number[] } => (out.length === 0 ? { inputShape: chain.inputShape } : {});
  chain.layers.forEach((l: LayerSpec, i) => {
    const before = i === 0 ? chain.inputShape : shapes[i - 1]!;
    switch (l.kind) {
      case 'flatten':
        out.push(tf.layers.flatten({ name: l.name, ...first() }));
        break;
      case 'maxPool':
      case 'avgPool': {
        const cfg = { name: l.name, poolSize: l.poolSize, strides: l.strides, padding: l.padding, ...first() };
        out.push(l.kind === 'maxPool' ? tf.layers.maxPooling2d(cfg) : tf.layers.averagePooling2d(cfg));
        break;
      }
      case 'dense':
        out.push(tf.layers.dense({ name: l.name, units: l.units, activation: l.activation, ...first() }));
        break;
      case 'conv2d': {
        const [t, lf, b, r] = l.pads;
        const same = [...samePads(before[0]!, l.kernelSize[0], l.strides[0]), ...samePads(before[1]!, l.kernelSize[1], l.strides[1])];
        let padding: 'valid' | 'same' = 'valid';
        if (t === same[0] && b === same[1] && lf === same[2] && r === same[3] && (t || b || lf || r)) padding = 'same';
        else if (t || lf || b || r) out.push(tf.layers.zeroPadding2d({ name: `${l.name}_pad`, padding: [[t, b], [lf, r]], ...first() }));
        out.push(tf.layers.conv2d({ name: l.name, filters: l.units, kernelSize: l.kernelSize, strides: l.strides, padding, activation: l.activation, ...first() }));
        break;
      }
    }
  });
  return out;
}

/** The trained chain as a TF.js Sequential layers-model (float32): model.json + one shard. */
export async function writeTfjsChain(target: OutputTransaction | string, chain: Chain, force = false): Promise<void> {
  const { tf } = await loadTfjs();
  const model = tf.sequential({ layers: tfjsLayers(tf, chain) });
  model.setWeights(
    chain.layers.flatMap((l): import('@tensorflow/tfjs').Tensor[] =>
      l.kind === 'dense' ? [tf.tensor2d(l.kernel, [l.inDim, l.units]), tf.tensor1d(l.bias)] : l.kind === 'conv2d' ? [tf.tensor4d(l.kernel, [...l.kernelSize, l.inChannels, l.units]), tf.tensor1d(l.bias)] : [],
    ),
  );
  let artifacts: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const a = artifacts!;
  writeTarget(target, { inputs: new InputFiles(), force, sideFiles: [TFJS_SHARD] }, (tx) => {
    const shard = tx.sideName(TFJS_SHARD);
    tx.write(() => {
      fs.writeFileSync(tx.stagedPath(shard), Buffer.from(a.weightData as ArrayBuffer));
      fs.writeFileSync(tx.stagedModel, JSON.stringify({ format: 'layers-model', generatedBy: 'prunescope train-gates', modelTopology: a.modelTopology, weightsManifest: [{ paths: [shard], weights: a.weightSpecs }] }));
    });
  });
}

/**
 * The feed-forward networks gate training takes: a chain of Dense, Conv2D, pooling and Flatten
 * layers with elementwise activations, in TF.js conventions (channels-last images, Dense kernels
 * in × out, Conv2D kernels kh × kw × in × out). Readers (readChain.ts) convert ONNX into this; the
 * writers (writeChain.ts) convert back.
 */
import { UserInputError } from '../errors.ts';

export type Activation = 'relu' | 'sigmoid' | 'tanh' | 'linear';

export interface DenseSpec {
  kind: 'dense';
  name: string;
  /** in × out (TF.js kernel layout). */
  kernel: Float32Array;
  bias: Float32Array;
  inDim: number;
  units: number;
  activation: Activation;
}

export interface Conv2DSpec {
  kind: 'conv2d';
  name: string;
  /** kh × kw × in × out (TF.js kernel layout). */
  kernel: Float32Array;
  bias: Float32Array;
  kernelSize: [number, number];
  strides: [number, number];
  /** Zero padding: top, left, bottom, right. */
  pads: [number, number, number, number];
  inChannels: number;
  /** Filters. */
  units: number;
  activation: Activation;
}

export interface PoolSpec {
  kind: 'maxPool' | 'avgPool';
  name: string;
  poolSize: [number, number];
  strides: [number, number];
  /** TF semantics: 'same' pads so that out = ⌈in / stride⌉, padded cells ignored (max) or not counted (average). */
  padding: 'valid' | 'same';
}

export interface FlattenSpec {
  kind: 'flatten';
  name: string;
}

export type LayerSpec = DenseSpec | Conv2DSpec | PoolSpec | FlattenSpec;
export type WeightedSpec = DenseSpec | Conv2DSpec;

export interface Chain {
  /** Per-sample input shape: [features], or [height, width, channels]. */
  inputShape: number[];
  layers: LayerSpec[];
}

export const isWeighted = (l: LayerSpec): l is WeightedSpec => l.kind === 'dense' || l.kind === 'conv2d';

/** Output size along one spatial axis under TF's 'same' / 'valid' rules. */
function poolOut(size: number, k: number, s: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(size / s) : Math.floor((size - k) / s) + 1;
}

/** TF 'same' padding of one axis: [before, after]. */
export function samePads(size: number, k: number, s: number): [number, number] {
  const total = Math.max((Math.ceil(size / s) - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}


/**
 * The per-sample shape after each layer, checking that every layer fits its input (a Dense needs a
 * flat input, a Conv2D or pooling an image, a Conv2D's input channels and a Dense's inputs must match).
 */
export function chainShapes(chain: Chain): number[][] {
  let shape = chain.inputShape;
  return chain.layers.map((l) => {
    const image = shape.length === 3;
    switch (l.kind) {
      case 'dense':
        if (image || shape[0] !== l.inDim) throw new UserInputError(`layer ${l.name} (Dense) takes ${l.inDim} inputs, but gets shape [${shape}]`);
        shape = [l.units];
        break;
      case 'conv2d': {
        if (!image || shape[2] !== l.inChannels) throw new UserInputError(`layer ${l.name} (Conv2D) takes images with ${l.inChannels} channels, but gets shape [${shape}]`);
        const [t, lft, b, r] = l.pads;
        const h = Math.floor((shape[0]! + t + b - l.kernelSize[0]) / l.strides[0]) + 1;
        const w = Math.floor((shape[1]! + lft + r - l.kernelSize[1]) / l.strides[1]) + 1;
        if (h < 1 || w < 1) throw new UserInputError(`layer ${l.name} (Conv2D): its ${l.kernelSize.join('×')} kernel is larger than its [${shape}] input`);
        shape = [h, w, l.units];
        break;
      }
      case 'maxPool':
      case 'avgPool': {
        if (!image) throw new UserInputError(`layer ${l.name} (pooling) needs an image input, but gets shape [${shape}]`);
        const h = poolOut(shape[0]!, l.poolSize[0], l.strides[0], l.padding);
        const w = poolOut(shape[1]!, l.poolSize[1], l.strides[1], l.padding);
        if (h < 1 || w < 1) throw new UserInputError(`layer ${l.name} (pooling): its window is larger than its [${shape}] input`);
        shape = [h, w, shape[2]!];
        break;
      }
      case 'flatten':
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
    }
    return shape;
  });
}

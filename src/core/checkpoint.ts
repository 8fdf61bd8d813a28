import type { DType } from './tensor/dtype.ts';
import type { CanonicalLayout } from './tensor/layout.ts';

export type CheckpointFormat = 'onnx' | 'tfjs-layers' | 'tfjs-graph' | 'safetensors';

/** What a weight is used for, from its consuming op (or, for safetensors, its name and shape). */
export type LayerKind =
  | 'dense'
  | 'conv'
  | 'depthwise-conv'
  | 'grouped-conv'
  | 'embedding'
  | 'recurrent'
  | 'norm'
  | 'bias'
  | 'other';

/** Kinds whose tensor is a weight matrix or kernel (counted in `weightParams`). */
export const MATRIX_KINDS: ReadonlySet<LayerKind> = new Set([
  'dense',
  'conv',
  'depthwise-conv',
  'grouped-conv',
  'embedding',
  'recurrent',
]);

/** One op of the model's graph (ONNX node, GraphDef node, or Keras layer). */
export interface GraphOp {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  /** '' for the main graph, otherwise the path of the subgraph (e.g. `If_0/then_branch`). */
  graph: string;
  attributes: Record<string, unknown>;
  /** ONNX: the node's encoded size in the file (its Constant value included). */
  bytes?: number;
}

/** How a weight is used: the consuming op, its kind, and the conversion to `out × in (× kh × kw)`. */
export interface LayerInfo {
  kind: LayerKind;
  /** Name of the consuming op (empty when unknown, e.g. safetensors). */
  op: string;
  opType: string;
  /** Which input of the op this weight is. */
  inputIndex: number;
  layout: CanonicalLayout;
  /** True when the layer was guessed from names and shapes rather than read from a graph. */
  inferred: boolean;
  /** Human-readable note on how the kind was decided, when it is not obvious. */
  note?: string;
}

export interface QuantizationInfo {
  /** 'linear' = ONNX DequantizeLinear, 'affine' = TF.js min/scale, 'float16' = TF.js fp16 storage. */
  scheme: 'linear' | 'affine' | 'float16';
  storedDtype: DType;
  /** ONNX: names of the scale / zero-point tensors and the axis. */
  scale?: string;
  zeroPoint?: string;
  axis?: number;
  /** TF.js affine: value = q * scale + min. */
  min?: number;
  affineScale?: number;
}

/** A declared graph value: element type (ONNX TensorProto.DataType code, 0 = not given) and dims (number, symbol name, or null). */
export interface DeclaredValue {
  name: string;
  elemType: number;
  dims: Array<number | string | null> | undefined;
}

/** A stored tensor's dtype, dims and values (decoded, not dequantized). */
export interface StoredTensor {
  dtype: DType;
  dims: number[];
  /** ONNX TensorProto.DataType code. */
  dataType: number;
  origin: 'initializer' | 'constant';
  read(): Float32Array | Float64Array;
}

/** A lazy handle on one weight tensor: bytes are read and decoded only on demand. */
export interface WeightTensor {
  name: string;
  /** The dtype the bytes are stored in. */
  dtype: DType;
  /** Native shape, as stored in the file. */
  shape: number[];
  /** Number of elements. */
  size: number;
  /** Bytes the tensor occupies in the file. */
  byteLength: number;
  quantized?: QuantizationInfo;
  layer: LayerInfo;
  /** ONNX only: where the tensor lives (writers can replace main-graph initializers). */
  onnx?: { origin: 'initializer' | 'constant'; graph: string; dataType: number };
  /** Raw stored bytes (little-endian, packed). */
  readBytes(): Uint8Array;
  /** Values in native layout, dequantized; float64 stays Float64Array, everything else Float32Array. */
  read(): Float32Array | Float64Array;
  /**
   * Decodes the values (native layout) straight into `target`, reading the file in chunks, so no
   * second full-size copy exists. Present for plain (not quantized) float tensors stored as bytes.
   */
  readInto?(target: Float64Array): void;
}

export interface Checkpoint {
  format: CheckpointFormat;
  /** Absolute path of the file that was opened. */
  file: string;
  /** Every file of the model: `file` first, then external data, weight shards or index shards. */
  files: string[];
  producer: string;
  /** ONNX default-domain opset; undefined for other formats. */
  opset?: number;
  ops: GraphOp[];
  /** Declared shapes of the graph's tensor inputs (-1 for symbolic dims), where the format has them. */
  inputShapes?: Record<string, number[]>;
  /** ONNX: the values of a small main-graph integer tensor (shapes, pads, axes: not weights), read on demand. */
  integerConstant?(name: string): number[] | undefined;
  /** ONNX: the main graph's declared inputs, outputs and value_info. */
  graphValues?: { inputs: DeclaredValue[]; outputs: DeclaredValue[]; valueInfo: DeclaredValue[] };
  /**
   * ONNX: any stored tensor of the main graph (initializer or Constant node output; float or
   * integer, any size), read on demand; undefined for names that are not stored tensors.
   */
  tensorValue?(name: string): StoredTensor | undefined;
  weights: WeightTensor[];
  /**
   * Stored tensors that are not weights (step counters, position ids…), which a writer of the same
   * format must carry over; `dtype` is the format's own name. safetensors only, for now.
   */
  carried?: Array<{ name: string; dtype: string; shape: number[]; readBytes(): Uint8Array }>;
  /** The file's free-form metadata (safetensors `__metadata__`). */
  metadata?: Record<string, string>;
  /** Things the reader noticed but could tolerate (shown in reports). */
  warnings: string[];
  /** Bytes read from disk so far: structure reads are small, tensor bytes are read on demand. */
  bytesRead(): number;
  /** Releases open file handles. */
  close(): void;
}

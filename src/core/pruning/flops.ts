/**
 * Multiply-adds per sample (batch 1) of an ONNX model's weight layers, by shape propagation from the
 * declared input shapes (symbolic dims → 1) through the ops whose shape rule is simple: Conv, pools,
 * Gemm, MatMul, Flatten, elementwise ops and broadcasting. Layers after an op it cannot follow are
 * listed as unknown instead of guessed.
 */
import type { Checkpoint, GraphOp } from '../checkpoint.ts';

export interface FlopCount {
  /** Multiply-adds per sample over the layers whose shapes are known. */
  multiplyAdds: number;
  /** Weight layers (Gemm/MatMul/Conv nodes) whose input shape could not be derived. */
  unknown: string[];
}

const SAME_SHAPE = new Set(['Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Elu', 'Selu', 'Softplus', 'HardSigmoid', 'Gelu', 'Dropout', 'Identity', 'Clip', 'Abs', 'Neg', 'BatchNormalization', 'LayerNormalization', 'Softmax', 'LogSoftmax', 'Cast', 'Erf', 'Sqrt', 'Exp']);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

function broadcast(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => Math.max(a[a.length - n + i] ?? 1, b[b.length - n + i] ?? 1));
}

function spatialOut(op: GraphOp, x: number[], kernel: number[]): number[] {
  const k = kernel.length;
  const strides = (op.attributes['strides'] as number[] | undefined) ?? new Array(k).fill(1);
  const dil = (op.attributes['dilations'] as number[] | undefined) ?? new Array(k).fill(1);
  const pads = (op.attributes['pads'] as number[] | undefined) ?? new Array(2 * k).fill(0);
  const auto = (op.attributes['auto_pad'] as string | undefined) ?? 'NOTSET';
  return kernel.map((kk, i) => {
    const size = x[2 + i]!;
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return Math.ceil(size / strides[i]!);
    return Math.floor((size + pads[i]! + pads[i + k]! - dil[i]! * (kk - 1) - 1) / strides[i]!) + 1;
  });
}

export function countMultiplyAdds(ck: Checkpoint): FlopCount {
  const shapes = new Map<string, number[]>();
  for (const [name, dims] of Object.entries(ck.inputShapes ?? {})) shapes.set(name, dims.map((d) => (d > 0 ? d : 1)));
  for (const w of ck.weights) shapes.set(w.name, w.shape);
  let total = 0;
  const unknown: string[] = [];
  for (const op of ck.ops.filter((o) => o.graph === '')) {
    const x = shapes.get(op.inputs[0] ?? '');
    const w = shapes.get(op.inputs[1] ?? '');
    const isLayer = (op.opType === 'Conv' || op.opType === 'Gemm' || op.opType === 'MatMul') && w !== undefined && ck.weights.some((t) => t.name === op.inputs[1]);
    if (!x) {
      if (isLayer) unknown.push(op.name);
      continue;
    }
    let out: number[] | undefined;
    if (op.opType === 'Conv' && w) {
      const spatial = spatialOut(op, x, w.slice(2));
      out = [x[0]!, w[0]!, ...spatial];
      total += (out.reduce((a, b) => a * b, 1) / x[0]!) * w.slice(1).reduce((a, b) => a * b, 1);
    } else if ((op.opType === 'MaxPool' || op.opType === 'AveragePool' || op.opType === 'LpPool') && op.attributes['kernel_shape']) {
      out = [x[0]!, x[1]!, ...spatialOut(op, x, op.attributes['kernel_shape'] as number[])];
    } else if (op.opType === 'GlobalAveragePool' || op.opType === 'GlobalMaxPool') {
      out = [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
    } else if (op.opType === 'Gemm' && w) {
      const m = op.attributes['transA'] ? x[1]! : x[0]!;
      const k = op.attributes['transA'] ? x[0]! : x[1]!;
      const n = op.attributes['transB'] ? w[0]! : w[1]!;
      out = [m, n];
      total += (k * n * m) / Math.max(1, x[0]!);
    } else if (op.opType === 'MatMul' && w && w.length === 2) {
      out = [...x.slice(0, -1), w[1]!];
      total += (x.slice(0, -1).reduce((a, b) => a * b, 1) / Math.max(1, x[0]!)) * w[0]! * w[1]!;
    } else if (op.opType === 'Flatten') {
      const axis = (op.attributes['axis'] as number | undefined) ?? 1;
      out = [x.slice(0, axis).reduce((a, b) => a * b, 1), x.slice(axis).reduce((a, b) => a * b, 1)];
    } else if (SAME_SHAPE.has(op.opType)) out = x;
    else if (BROADCAST.has(op.opType) && op.inputs.length === 2) {
      const y = shapes.get(op.inputs[1]!);
      if (y) out = broadcast(x, y);
    }
    if (isLayer && out === undefined) unknown.push(op.name);
    if (out) shapes.set(op.outputs[0]!, out);
  }
  return { multiplyAdds: total, unknown };
}

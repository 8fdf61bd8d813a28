/**
 * Multiply-adds per sample of an ONNX model's weight layers (Conv, Gemm, MatMul whose weight is
 * stored, or dequantized from a stored tensor), from the graph's own shape inference
 * (graph/shapeInference.ts, the one structured pruning uses): dynamic input dims are resolved as
 * there (or given with --input-shape), and the batch (the output's first dim) is divided out.
 * Layers whose shapes inference cannot follow are listed as unknown, not guessed.
 */
import type { Checkpoint } from '../checkpoint.ts';
import type { GNode, Graph } from '../graph/graph.ts';
import { resolveInputDims } from '../graph/inputDims.ts';
import { onnxGraph } from '../graph/onnxGraph.ts';
import { inferShapes } from '../graph/shapeInference.ts';

export interface FlopCount {
  /** Multiply-adds per sample over the layers whose shapes are known. */
  multiplyAdds: number;
  /** Weight layers (Gemm/MatMul/Conv nodes) whose shapes could not be derived. */
  unknown: string[];
  /** Dynamic input dims chosen for the count (empty when the model fixes them or they were given). */
  inputsChosen: string[];
}

const LAYER_OPS = new Set(['Conv', 'Gemm', 'MatMul']);
const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Whether `name` is a stored weight, or a DequantizeLinear of one (a QDQ export). */
function isWeight(g: Graph, weights: ReadonlySet<string>, name: string | undefined): boolean {
  // Stryker disable next-line ConditionalExpression: a missing input is no weight and no tensor either
  if (!name) return false;
  if (weights.has(name)) return true;
  // Stryker disable next-line OptionalChaining: every node input is a tensor of the graph
  const producer = g.tensors.get(name)?.producer;
  return producer?.op === 'DequantizeLinear' && weights.has(producer.inputs[0] ?? '');
}

/** Multiply-adds of one sample of node `n`, from its input, weight and output shapes. */
function layerMultiplyAdds(n: GNode, x: readonly number[], w: readonly number[], y: readonly number[]): number | undefined {
  const batch = y[0]!;
  if (!(batch > 0)) return undefined;
  const perSample = product(y) / batch;
  if (n.op === 'Conv') return perSample * product(w.slice(1)); // each output value: (C/group)·k… products
  if (n.op === 'Gemm') return perSample * (n.attrs['transA'] === 1 ? x[0]! : x[1]!); // each output value: a K-long dot product
  if (w.length !== 2 || y.length < 2) return undefined; // MatMul with a stacked or 1-D weight, or a 1-D output
  return perSample * w[0]!;
}

export function countMultiplyAdds(ck: Checkpoint, inputShapes: ReadonlyArray<{ name: string | null; dims: number[] }> = []): FlopCount {
  const g = onnxGraph(ck);
  const inputs = resolveInputDims(g, inputShapes);
  const shapes = inferShapes(g, { inputs: inputs.dims });
  const weights = new Set(ck.weights.map((w) => w.name));
  let total = 0;
  const unknown: string[] = [];
  for (const n of g.mainNodes) {
    if (!LAYER_OPS.has(n.op) || !isWeight(g, weights, n.inputs[1])) continue;
    const [x, w, y] = [shapes.shape.get(n.inputs[0] ?? ''), shapes.shape.get(n.inputs[1]!), shapes.shape.get(n.outputs[0] ?? '')];
    // Stryker disable next-line ConditionalExpression,LogicalOperator: inference runs forward, so an output's shape is known only when its input's is (and a stored weight's always is)
    const macs = x && w && y ? layerMultiplyAdds(n, x, w, y) : undefined;
    if (macs === undefined) unknown.push(n.name);
    else total += macs;
  }
  return { multiplyAdds: total, unknown, inputsChosen: inputs.chosen };
}

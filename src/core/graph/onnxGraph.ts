/**
 * The ONNX front end: a Checkpoint read by readOnnx becomes a Graph. Nodes keep ONNX op types and
 * attributes; initializers and Constant-node values are the stored tensors; graph inputs that are
 * also initializers (older exporters list them) are not real inputs.
 */
import type { Checkpoint } from '../checkpoint.ts';
import { type GNode, Graph } from './graph.ts';

export function onnxGraph(ck: Checkpoint): Graph {
  if (ck.format !== 'onnx' || !ck.graphValues || !ck.tensorValue) throw new RangeError('onnxGraph needs a checkpoint read by readOnnx');
  const tensorValue = ck.tensorValue;
  const nodes: GNode[] = ck.ops.map((op, index) => ({ index, name: op.name, op: op.opType, inputs: op.inputs, outputs: op.outputs, attrs: op.attributes, graph: op.graph, ...(op.bytes !== undefined ? { bytes: op.bytes } : {}) }));
  const inputs = ck.graphValues.inputs.filter((v) => !tensorValue(v.name));
  return new Graph(nodes, inputs, ck.graphValues.outputs, (name) => tensorValue(name), ck.graphValues.valueInfo, ck.opset ?? 13);
}

/**
 * Format-neutral graph edits (graph/pruneGroups.ts) as ONNX writer edits: sliced initializers,
 * Constant-node values turned into initializers of the same name, new initializers, nodes rewired
 * or given new integer attributes in place, dead nodes and initializers dropped, stale value_info
 * dropped.
 */
import type { Checkpoint } from '../../checkpoint.ts';
import type { OnnxEdits, NodeEdit, InitializerReplacement } from '../../formats/onnx/writeOnnx.ts';
import type { Graph } from '../../graph/graph.ts';
import type { GraphEdits, NewTensor } from '../../graph/pruneGroups.ts';
import { encodeFloats } from '../../tensor/dtype.ts';

/** Little-endian bytes of `values` in an ONNX TensorProto.DataType. */
export function encodeByDataType(values: ArrayLike<number>, dataType: number): Uint8Array {
  const ints = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(v));
  switch (dataType) {
    case 1:
      return encodeFloats(values, 'float32');
    case 10:
      return encodeFloats(values, 'float16');
    case 11:
      return encodeFloats(values, 'float64');
    case 16:
      return encodeFloats(values, 'bfloat16');
    case 2:
    // Stryker disable next-line ConditionalExpression: two's complement: uint8 and bool here, int8 below, store every integer in the same bytes
    case 9:
      return Uint8Array.from(ints(values));
    case 3:
      return new Uint8Array(Int8Array.from(ints(values)).buffer);
    // Stryker disable next-line ConditionalExpression: two's complement: uint16 and int16 store every integer in the same bytes
    case 4:
      return new Uint8Array(Uint16Array.from(ints(values)).buffer);
    case 5:
      return new Uint8Array(Int16Array.from(ints(values)).buffer);
    // Stryker disable next-line ConditionalExpression: two's complement: int32 and uint32 store every integer in the same bytes
    case 6:
      return new Uint8Array(Int32Array.from(ints(values)).buffer);
    case 12:
      return new Uint8Array(Uint32Array.from(ints(values)).buffer);
    // Stryker disable next-line ConditionalExpression: two's complement: int64 and uint64 store every integer in the same bytes
    case 7:
      return new Uint8Array(BigInt64Array.from(ints(values), (v) => BigInt(v)).buffer);
    case 13:
      return new Uint8Array(BigUint64Array.from(ints(values), (v) => BigInt(v)).buffer);
    default:
      throw new RangeError(`no encoder for ONNX data type ${dataType}`);
  }
}

const asInitializer = (t: NewTensor): InitializerReplacement => ({ dims: t.dims, dataType: t.dataType, raw: encodeByDataType(t.values, t.dataType) });

/**
 * Edits that name weights stored in main-graph Constant nodes, made writable: a replaced value
 * becomes an initializer of the same name (its Constant node dropped), a removed one drops its node.
 */
export function constantsAsInitializers(ck: Checkpoint, e: OnnxEdits): OnnxEdits {
  const ordinal = new Map<string, number>();
  let k = 0;
  for (const op of ck.ops) {
    if (op.graph !== '') continue;
    if (op.opType === 'Constant' && op.outputs[0]) ordinal.set(op.outputs[0], k);
    k++;
  }
  const replace = new Map(e.replace);
  const add = [...(e.add ?? [])];
  const remove = new Set(e.remove ?? []);
  const dropNodes = new Set(e.dropNodes ?? []);
  for (const [name, t] of e.replace) {
    const at = ordinal.get(name);
    if (at === undefined) continue;
    replace.delete(name);
    dropNodes.add(at);
    add.push({ name, ...t });
  }
  for (const name of e.remove ?? []) {
    const at = ordinal.get(name);
    if (at === undefined) continue;
    remove.delete(name);
    dropNodes.add(at);
  }
  return { ...e, replace, add, remove, dropNodes };
}

export function toOnnxEdits(g: Graph, e: GraphEdits): OnnxEdits {
  // Position of each main-graph node among the main graph's nodes (the writer's addressing).
  const ordinal = new Map<number, number>();
  let k = 0;
  for (const n of g.nodes) if (n.graph === '') ordinal.set(n.index, k++);
  const replace = new Map<string, InitializerReplacement>();
  const add: Array<InitializerReplacement & { name: string }> = [];
  const dropNodes = new Set<number>();
  for (const [name, t] of e.replace) {
    const tensor = g.tensor(name);
    if (tensor.producer?.op === 'Constant') {
      dropNodes.add(ordinal.get(tensor.producer.index)!);
      add.push({ name, ...asInitializer(t) });
    } else replace.set(name, asInitializer(t));
  }
  for (const [name, t] of e.add) add.push({ name, ...asInitializer(t) });
  for (const i of e.dropNodes) dropNodes.add(ordinal.get(i)!);
  const editNodes = new Map<number, NodeEdit>();
  for (const n of g.nodes) {
    if (n.graph !== '' || e.dropNodes.has(n.index)) continue;
    const inputs = e.rewire.get(n.index);
    const ints = e.attrs.get(n.index);
    if (inputs || ints) editNodes.set(ordinal.get(n.index)!, { ...(inputs ? { inputs } : {}), ...(ints ? { ints } : {}) });
  }
  const remove = new Set([...e.dropStored].filter((name) => !g.tensor(name).producer));
  return { replace, add, remove, editNodes, dropNodes, removeValueInfo: e.changed };
}

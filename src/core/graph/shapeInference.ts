/**
 * Concrete shape inference over a Graph for one assignment of the graph inputs' dims, with value
 * propagation for small tensors (shape arithmetic: Shape → Gather → Div/Mul → Concat → Reshape,
 * ConstantOfShape zero points, Resize scales). Every main-graph tensor gets a shape, or a reason
 * why not (an op it does not know, an inconsistency). Stored tensors come with their values.
 *
 * `shapeOf` can be overridden for chosen tensors: the pruner evaluates the shape arithmetic of the
 * pruned graph by feeding Shape nodes the pruned activations' shapes.
 */
import { attrFloat, attrInt, attrInts, attrString, type GNode, type Graph } from './graph.ts';

/** Small tensors' values are propagated (shape vectors, axes, scales, zero points). */
const MAX_VALUE = 4096;

export interface Shapes {
  shape: Map<string, number[]>;
  /** Values of small tensors, row-major (int64 values as plain numbers). */
  value: Map<string, number[]>;
  /** Why a tensor has no shape. */
  unknown: Map<string, string>;
  /** ONNX element type (TensorProto.DataType) where it follows from the graph. */
  dtype: Map<string, number>;
}

export interface InferOptions {
  /** Dims of each graph input. */
  inputs: ReadonlyMap<string, number[]>;
  /** Overrides of tensor shapes (the pruned shapes); Shape nodes and every op read these instead. */
  overrides?: ReadonlyMap<string, number[]>;
}

const ELEMENTWISE_UNARY = new Set([
  'Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish', 'Erf', 'Sqrt', 'Exp',
  'Log', 'Abs', 'Neg', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh',
  'Asinh', 'Acosh', 'Atanh', 'Not', 'Cast', 'CastLike', 'Identity', 'Dropout', 'Clip', 'Gelu', 'Mish', 'IsNaN', 'IsInf', 'ThresholdedRelu',
  'Shrink', 'LRN', 'Softmax', 'LogSoftmax', 'Hardmax', 'InstanceNormalization', 'BatchNormalization', 'LayerNormalization',
  'GroupNormalization', 'QuantizeLinear', 'DequantizeLinear', 'CumSum', 'Trilu', 'BitwiseNot', 'MeanVarianceNormalization',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Mod', 'Where', 'PRelu', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor']);
const REDUCE = new Set(['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

class Unknown extends Error {}

/** numpy broadcasting of several shapes (right-aligned); throws Unknown when they do not broadcast. */
export function broadcastShapes(shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else if (out[o] !== d) throw new Unknown(`shapes [${shapes.map((x) => x.join(',')).join('] [')}] do not broadcast`);
    }
  }
  return out;
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** A conv's `group` must divide its input and output channels, with the kernel reading C_in/group of them. */
function checkGroups(group: number, inChannels: number, kernelIn: number, outChannels: number): void {
  if (!Number.isSafeInteger(group) || group < 1 || inChannels % group !== 0 || outChannels % group !== 0 || kernelIn * group !== inChannels) {
    throw new Unknown(`group ${group} does not fit ${inChannels} input and ${outChannels} output channels (kernel reads ${kernelIn})`);
  }
}

/** Output spatial dims of a conv or pool (explicit pads, SAME_* and VALID auto_pad, ceil_mode). */
function spatial(n: GNode, x: number[], kernel: number[], transposed = false, outputShape?: number[]): number[] {
  const k = kernel.length;
  const strides = attrInts(n, 'strides') ?? new Array(k).fill(1);
  const dil = attrInts(n, 'dilations') ?? new Array(k).fill(1);
  const pads = attrInts(n, 'pads') ?? new Array(2 * k).fill(0);
  const auto = attrString(n, 'auto_pad', 'NOTSET');
  const ceil = attrInt(n, 'ceil_mode', 0) === 1;
  return kernel.map((kk, i) => {
    const inDim = x[2 + i]!;
    const ek = (kk - 1) * dil[i]! + 1;
    if (transposed) {
      if (outputShape) return outputShape[i]!;
      const outPad = attrInts(n, 'output_padding')?.[i] ?? 0;
      if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return inDim * strides[i]!;
      return strides[i]! * (inDim - 1) + outPad + ek - pads[i]! - pads[i + k]!;
    }
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return Math.ceil(inDim / strides[i]!);
    if (auto === 'VALID') return Math.floor((inDim - ek) / strides[i]!) + 1;
    const span = inDim + pads[i]! + pads[i + k]! - ek;
    return (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
  });
}

export function inferShapes(g: Graph, o: InferOptions): Shapes {
  const shape = new Map<string, number[]>();
  const value = new Map<string, number[]>();
  const unknown = new Map<string, string>();
  const dtype = new Map<string, number>();
  const over = o.overrides ?? new Map<string, number[]>();
  for (const i of g.inputs) if (i.elemType) dtype.set(i.name, i.elemType);
  for (const [name, dims] of o.inputs) shape.set(name, over.get(name) ?? dims);
  for (const t of g.tensors.values()) {
    if (!t.stored) continue;
    shape.set(t.name, over.get(t.name) ?? t.stored.dims);
    dtype.set(t.name, t.stored.dataType);
    if (t.stored.dims.reduce((a, b) => a * b, 1) <= MAX_VALUE) value.set(t.name, Array.from(t.stored.read()));
  }
  const opset = g.opset;
  for (const n of g.nodes) {
    if (n.graph !== '') continue;
    if (n.op === 'Constant' && n.outputs.every((name) => shape.has(name))) continue; // stored, set above
    const ins = n.inputs.map((name) => (name ? shape.get(name) : undefined));
    const vals = n.inputs.map((name) => (name ? value.get(name) : undefined));
    try {
      const missing = n.inputs.findIndex((name, i) => name !== '' && ins[i] === undefined);
      if (missing >= 0 && n.op !== 'Constant') throw new Unknown(`its input '${n.inputs[missing]}' has no known shape (${unknown.get(n.inputs[missing]!) ?? 'not produced in the main graph'})`);
      const r = inferNode(n, ins as number[][], vals, opset);
      for (const s of r.shapes) if (s) checkPlausible(s);
      const t = outputType(n, n.inputs.map((name) => dtype.get(name)));
      if (t) for (const o of n.outputs) if (o) dtype.set(o, t);
      r.shapes.forEach((s, i) => {
        const name = n.outputs[i];
        if (!name || s === undefined) return;
        shape.set(name, over.get(name) ?? s);
        const v = r.values?.[i];
        if (v && v.length <= MAX_VALUE && !over.has(name)) value.set(name, v);
      });
    } catch (e) {
      if (!(e instanceof Unknown)) throw e;
      // A declared static shape (value_info) still tells the size when the op is not known here.
      n.outputs.forEach((name) => {
        const d = g.tensors.get(name)?.declared?.dims;
        if (name && d && d.every((x) => typeof x === 'number' && x > 0)) shape.set(name, over.get(name) ?? (d as number[]));
        else if (name) unknown.set(name, `${n.op} node '${n.name}': ${e.message}`);
      });
    }
  }
  return { shape, value, unknown, dtype };
}

/** The element type of a node's outputs, from its inputs and attributes (undefined when unsure). */
function outputType(n: GNode, ins: Array<number | undefined>): number | undefined {
  switch (n.op) {
    case 'Cast':
      return attrInt(n, 'to', 0) || undefined;
    case 'Shape':
    case 'Size':
    case 'ArgMax':
    case 'ArgMin':
    case 'NonZero':
      return 7;
    case 'Equal':
    case 'Less':
    case 'Greater':
    case 'LessOrEqual':
    case 'GreaterOrEqual':
    case 'And':
    case 'Or':
    case 'Xor':
    case 'Not':
    case 'IsNaN':
    case 'IsInf':
      return 9;
    case 'ConstantOfShape':
      return (n.attrs['__tensorDataType'] as number | undefined) ?? 1;
    case 'DequantizeLinear':
      return ins[1];
    case 'QuantizeLinear':
      return ins[2] ?? 2;
    case 'Where':
      return ins[1];
    case 'CastLike':
      return ins[1];
    default:
      return ins[0];
  }
}

interface Inferred {
  shapes: Array<number[] | undefined>;
  values?: Array<number[] | undefined>;
}

/** Integer division as ONNX does it on ints (truncation toward zero), plain division on floats. */
function arith(op: string, a: number, b: number): number {
  switch (op) {
    case 'Add':
      return a + b;
    case 'Sub':
      return a - b;
    case 'Mul':
      return a * b;
    case 'Div':
      return Number.isInteger(a) && Number.isInteger(b) && b !== 0 ? Math.trunc(a / b) : a / b;
    case 'Mod':
      return a % b;
    case 'Max':
      return Math.max(a, b);
    case 'Min':
      return Math.min(a, b);
    case 'Pow':
      return a ** b;
    case 'Equal':
      return a === b ? 1 : 0;
    case 'Less':
      return a < b ? 1 : 0;
    case 'Greater':
      return a > b ? 1 : 0;
    case 'LessOrEqual':
      return a <= b ? 1 : 0;
    case 'GreaterOrEqual':
      return a >= b ? 1 : 0;
    case 'And':
      return a && b ? 1 : 0;
    case 'Or':
      return a || b ? 1 : 0;
    default:
      throw new Unknown(`no value rule for ${op}`);
  }
}

/** Broadcast evaluation of a binary op on small row-major values. */
function broadcastValues(op: string, shapes: number[][], values: number[][], out: number[]): number[] {
  const rank = out.length;
  const total = size(out);
  if (!Number.isSafeInteger(total) || total < 0) throw new Unknown(`[${out}] is not a shape`);
  const res = new Array<number>(total);
  const strides = shapes.map((s) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = s.length - 1; i >= 0; i--) {
      st[rank - s.length + i] = s[i] === 1 ? 0 : acc;
      acc *= s[i]!;
    }
    return st;
  });
  const idx = new Array<number>(rank).fill(0);
  for (let f = 0; f < total; f++) {
    const at = strides.map((st) => st.reduce((a, s, i) => a + s * idx[i]!, 0));
    if (op === 'Where') res[f] = values[0]![at[0]!] ? values[1]![at[1]!]! : values[2]![at[2]!]!;
    else {
      let acc = values[0]![at[0]!]!;
      for (let k = 1; k < values.length; k++) acc = op === 'Sum' || op === 'Mean' ? acc + values[k]![at[k]!]! : arith(op, acc, values[k]![at[k]!]!);
      res[f] = op === 'Mean' ? acc / values.length : acc;
    }
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a]! < out[a]!) break;
      idx[a] = 0;
    }
  }
  return res;
}

/** Elements an inferred tensor may have: past this, a corrupted attribute (pads of 2³¹) made it up. */
const MAX_ELEMENTS = 2 ** 36;

function checkPlausible(s: readonly number[]): void {
  let n = 1;
  for (const d of s) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Unknown(`a dim of ${d}`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) throw new Unknown(`[${s}] is ${n.toExponential(1)} elements, more than any real activation`);
}

/** Inputs an op needs (a corrupted file may drop some); ops not listed need one. */
function minInputs(op: string, opset: number): number {
  switch (op) {
    case 'Where':
    case 'Range':
    case 'LSTM':
    case 'GRU':
    case 'RNN':
    case 'InstanceNormalization':
    case 'GroupNormalization':
      return 3;
    case 'BatchNormalization':
      return 5;
    case 'QLinearConv':
      return 8;
    case 'Slice':
      return opset >= 10 ? 3 : 1;
    case 'Reshape':
      return opset >= 5 ? 2 : 1;
    case 'Pad':
      return opset >= 11 ? 2 : 1;
    case 'TopK':
      return opset >= 10 ? 2 : 1;
    case 'Conv':
    case 'ConvInteger':
    case 'ConvTranspose':
    case 'Gemm':
    case 'MatMul':
    case 'MatMulInteger':
    case 'Gather':
    case 'GatherElements':
    case 'Expand':
    case 'Tile':
    case 'DequantizeLinear':
    case 'QuantizeLinear':
    case 'CastLike':
    case 'LayerNormalization':
    case 'PRelu':
      return 2;
    default:
      return BROADCAST.has(op) && !['Sum', 'Max', 'Min', 'Mean'].includes(op) ? 2 : 1;
  }
}

/** The rank an op's first input needs (channels and spatial axes, matrices). */
const MIN_RANK: Record<string, number> = { Conv: 3, ConvInteger: 3, QLinearConv: 3, ConvTranspose: 3, MaxPool: 3, AveragePool: 3, LpPool: 3, GlobalAveragePool: 2, GlobalMaxPool: 2, GlobalLpPool: 2, Gemm: 2, MatMul: 1, MatMulInteger: 1, Gather: 1, BatchNormalization: 2, InstanceNormalization: 3, GroupNormalization: 2, LSTM: 3, GRU: 3, RNN: 3, DepthToSpace: 4, SpaceToDepth: 4 };

function inferNode(n: GNode, x: number[][], v: Array<number[] | undefined>, opset: number): Inferred {
  const one = (s: number[], val?: number[]): Inferred => ({ shapes: [s], ...(val ? { values: [val] } : {}) });
  const op = n.op;
  const need = minInputs(op, opset);
  for (let i = 0; i < need; i++) if (!x[i]) throw new Unknown(`${op} needs ${need} inputs; input ${i} is missing`);
  for (const s of x) if (s) checkPlausible(s); // declared shapes too (value_info is not checked on read)
  if ((MIN_RANK[op] ?? 0) > x[0]!.length) throw new Unknown(`${op} needs an input of rank ${MIN_RANK[op]} or more, not [${x[0]}]`);
  if ((op === 'Gemm' && (x[0]!.length !== 2 || x[1]!.length !== 2)) || ((op === 'Conv' || op === 'ConvTranspose') && x[1]!.length !== x[0]!.length)) throw new Unknown(`${op} of [${x[0]}] and [${x[1]}]`);
  if (n.attrs['__domain'] && n.attrs['__domain'] !== 'ai.onnx') throw new Unknown(`custom domain ${String(n.attrs['__domain'])}`);
  if (op === 'Constant') {
    throw new Unknown('a Constant without a stored value'); // stored Constants were set before the walk
  }
  if (ELEMENTWISE_UNARY.has(op)) {
    const s = x[0]!;
    if (op === 'Identity' || op === 'Cast' || op === 'CastLike') return one(s, v[0]);
    if (op === 'Neg' && v[0]) return one(s, v[0].map((a) => -a));
    if (op === 'Abs' && v[0]) return one(s, v[0].map(Math.abs));
    if (op === 'Floor' && v[0]) return one(s, v[0].map(Math.floor));
    if (op === 'Ceil' && v[0]) return one(s, v[0].map(Math.ceil));
    if (op === 'Sqrt' && v[0]) return one(s, v[0].map(Math.sqrt));
    if (op === 'Dropout' || op === 'LayerNormalization' || op === 'BatchNormalization') return { shapes: n.outputs.map((_, i) => (i === 0 ? s : undefined)) };
    return one(s);
  }
  if (BROADCAST.has(op)) {
    const shapes = x.filter((s) => s !== undefined);
    const out = broadcastShapes(shapes);
    const vals = v.every((a) => a !== undefined) && size(out) <= MAX_VALUE && op !== 'PRelu' && op !== 'BitShift' ? broadcastValues(op, x, v as number[][], out) : undefined;
    return one(out, vals);
  }
  switch (op) {
    case 'Shape': {
      const s = x[0]!;
      const start = norm(attrInt(n, 'start', 0), s.length);
      const end = n.attrs['end'] === undefined ? s.length : norm(attrInt(n, 'end', s.length), s.length);
      const vals = s.slice(Math.max(0, start), Math.min(s.length, end));
      return one([vals.length], vals);
    }
    case 'Size':
      return one([], [size(x[0]!)]);
    case 'Conv':
    case 'ConvInteger':
    case 'QLinearConv': {
      const xi = op === 'QLinearConv' ? 0 : 0;
      const wi = op === 'QLinearConv' ? 3 : 1;
      const s = x[xi]!;
      const w = x[wi]!;
      const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
      checkGroups(attrInt(n, 'group', 1), s[1]!, w[1]!, w[0]!);
      return one([s[0]!, w[0]!, ...spatial(n, s, kernel)]);
    }
    case 'ConvTranspose': {
      const s = x[0]!;
      const w = x[1]!;
      const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
      const group = attrInt(n, 'group', 1);
      checkGroups(group, s[1]!, w[0]! / group, w[1]! * group);
      return one([s[0]!, w[1]! * group, ...spatial(n, s, kernel, true, attrInts(n, 'output_shape'))]);
    }
    case 'MaxPool':
    case 'AveragePool':
    case 'LpPool': {
      const s = x[0]!;
      const out = [s[0]!, s[1]!, ...spatial(n, s, attrInts(n, 'kernel_shape') ?? [])];
      return { shapes: n.outputs.map(() => out) };
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
    case 'GlobalLpPool':
      return one([x[0]![0]!, x[0]![1]!, ...x[0]!.slice(2).map(() => 1)]);
    case 'Gemm': {
      const a = x[0]!;
      const b = x[1]!;
      const m = attrInt(n, 'transA', 0) ? a[1]! : a[0]!;
      const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
      const ka = attrInt(n, 'transA', 0) ? a[0]! : a[1]!;
      const kb = attrInt(n, 'transB', 0) ? b[1]! : b[0]!;
      if (ka !== kb) throw new Unknown(`Gemm of [${a}] and [${b}]`);
      return one([m, nn]);
    }
    case 'MatMul':
    case 'MatMulInteger': {
      const a = x[0]!.length === 1 ? [1, x[0]![0]!] : x[0]!;
      const b = x[1]!.length === 1 ? [x[1]![0]!, 1] : x[1]!;
      if (a.at(-1) !== b.at(-2)) throw new Unknown(`MatMul of [${a}] and [${b}]`);
      const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
      const out = [...batch, a.at(-2)!, b.at(-1)!];
      if (x[0]!.length === 1) out.splice(out.length - 2, 1);
      if (x[1]!.length === 1) out.splice(out.length - 1, 1);
      return one(out);
    }
    case 'Flatten': {
      const s = x[0]!;
      const axis = norm(attrInt(n, 'axis', 1), s.length);
      return one([size(s.slice(0, axis)), size(s.slice(axis))], v[0]);
    }
    case 'Reshape': {
      const s = x[0]!;
      const target = v[1];
      if (!target) throw new Unknown('its target shape is computed from values this inference does not know');
      if (target.some((d) => !Number.isSafeInteger(d) || d < -1)) throw new Unknown(`a Reshape target of [${target}]`);
      const allowZero = attrInt(n, 'allowzero', 0) === 1;
      const out = target.map((d, i) => (d === 0 && !allowZero ? s[i]! : d));
      const minus = out.indexOf(-1);
      if (minus >= 0) {
        const known = size(out.filter((_, i) => i !== minus));
        out[minus] = known === 0 ? 0 : size(s) / known;
      }
      if (size(out) !== size(s) || !out.every((d) => Number.isInteger(d) && d >= 0)) throw new Unknown(`cannot reshape [${s}] to [${target}]`);
      return one(out, v[0]);
    }
    case 'Transpose': {
      const s = x[0]!;
      const perm = attrInts(n, 'perm') ?? s.map((_, i) => s.length - 1 - i);
      const out = perm.map((p) => s[p]!);
      let vals: number[] | undefined;
      if (v[0] && s.length <= 2) vals = s.length === 2 && perm[0] === 1 ? Array.from({ length: v[0].length }, (_, f) => v[0]![(f % s[0]!) * s[1]! + Math.floor(f / s[0]!)]!) : v[0];
      return one(out, vals);
    }
    case 'Squeeze': {
      const s = x[0]!;
      const axes = (opset >= 13 ? v[1] : attrInts(n, 'axes'))?.map((a) => norm(a, s.length));
      if (opset >= 13 && n.inputs[1] && !v[1]) throw new Unknown('computed squeeze axes');
      const out = s.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
      return one(out, v[0]);
    }
    case 'Unsqueeze': {
      const s = x[0]!;
      const axesRaw = opset >= 13 ? v[1] : attrInts(n, 'axes');
      if (!axesRaw) throw new Unknown('computed unsqueeze axes');
      const rank = s.length + axesRaw.length;
      const axes = axesRaw.map((a) => norm(a, rank)).sort((a, b) => a - b);
      const out = [...s];
      for (const a of axes) out.splice(a, 0, 1);
      return one(out, v[0]);
    }
    case 'Concat': {
      const shapes = x.filter((s) => s !== undefined);
      const axis = norm(attrInt(n, 'axis', 0), shapes[0]!.length);
      const out = [...shapes[0]!];
      out[axis] = shapes.reduce((a, s) => a + s[axis]!, 0);
      const vals = out.length === 1 && v.every((a) => a !== undefined) ? (v as number[][]).flat() : undefined;
      return one(out, vals);
    }
    case 'Split': {
      const s = x[0]!;
      const axis = norm(attrInt(n, 'axis', 0), s.length);
      let parts = opset >= 13 ? v[1] : attrInts(n, 'split');
      if (opset >= 13 && n.inputs[1] && !v[1]) throw new Unknown('computed split sizes');
      if (!parts) {
        const k = n.outputs.length;
        const each = Math.ceil(s[axis]! / k);
        parts = Array.from({ length: k }, (_, i) => Math.min(each, s[axis]! - i * each));
      }
      return { shapes: parts.map((p) => s.map((d, i) => (i === axis ? p : d))) };
    }
    case 'Slice': {
      const s = x[0]!;
      let starts: number[] | undefined;
      let ends: number[] | undefined;
      let axes: number[] | undefined;
      let steps: number[] | undefined;
      if (opset >= 10) {
        [starts, ends, axes, steps] = [v[1], v[2], n.inputs[3] ? v[3] : undefined, n.inputs[4] ? v[4] : undefined];
        if (!starts || !ends || (n.inputs[3] && !axes) || (n.inputs[4] && !steps)) throw new Unknown('computed slice bounds');
      } else {
        [starts, ends, axes] = [attrInts(n, 'starts'), attrInts(n, 'ends'), attrInts(n, 'axes')];
      }
      const out = [...s];
      const ranges = sliceRanges(s, starts!, ends!, axes, steps);
      for (const r of ranges) out[r.axis] = r.count;
      let vals: number[] | undefined;
      if (v[0] && s.length === 1) {
        const r = ranges[0];
        vals = r ? Array.from({ length: r.count }, (_, i) => v[0]![r.start + i * r.step]!) : v[0];
      }
      return one(out, vals);
    }
    case 'Gather': {
      const data = x[0]!;
      const idx = x[1]!;
      const axis = norm(attrInt(n, 'axis', 0), data.length);
      const out = [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
      let vals: number[] | undefined;
      if (v[0] && v[1] && data.length === 1) vals = v[1].map((i) => v[0]![i < 0 ? i + data[0]! : i]!);
      return one(out, vals);
    }
    case 'GatherElements':
      return one(x[1]!);
    case 'Expand': {
      const target = v[1];
      if (!target) throw new Unknown('computed expand shape');
      checkPlausible(target);
      const out = broadcastShapes([x[0]!, target]);
      const vals = v[0] && size(out) <= MAX_VALUE ? broadcastValues('Sum', [x[0]!], [v[0]], out) : undefined;
      return one(out, vals);
    }
    case 'Tile': {
      const reps = v[1];
      if (!reps) throw new Unknown('computed tile repeats');
      checkPlausible(reps);
      return one(x[0]!.map((d, i) => d * reps[i]!));
    }
    case 'ConstantOfShape': {
      const target = v[0];
      if (!target) throw new Unknown('computed shape');
      checkPlausible(target);
      const fill = (n.attrs['__tensorValue'] as number | undefined) ?? 0;
      return one(target, size(target) <= MAX_VALUE ? new Array(size(target)).fill(fill) : undefined);
    }
    case 'Range': {
      if (!v[0] || !v[1] || !v[2]) throw new Unknown('computed range');
      const [start, limit, delta] = [v[0][0]!, v[1][0]!, v[2][0]!];
      const count = Math.max(0, Math.ceil((limit - start) / delta));
      checkPlausible([count]);
      return one([count], count <= MAX_VALUE ? Array.from({ length: count }, (_, i) => start + i * delta) : undefined);
    }
    case 'Pad': {
      const s = x[0]!;
      const pads = opset >= 11 ? v[1] : attrInts(n, 'pads');
      if (!pads) throw new Unknown('computed pads');
      const axesIn = opset >= 18 && n.inputs[3] ? v[3] : undefined;
      const axes = axesIn ? axesIn.map((a) => norm(a, s.length)) : s.map((_, i) => i);
      const out = [...s];
      axes.forEach((a, i) => (out[a] = s[a]! + pads[i]! + pads[i + axes.length]!));
      return one(out);
    }
    case 'Resize':
    case 'Upsample': {
      const s = x[0]!;
      if (op === 'Upsample') {
        const scales = opset >= 9 ? v[1] : (n.attrs['scales'] as number[] | undefined);
        if (!scales) throw new Unknown('computed scales');
        return one(s.map((d, i) => Math.floor(d * scales[i]!)));
      }
      const sizes = n.inputs[3] ? v[3] : undefined;
      if (sizes && sizes.length) return one(sizes.length === s.length ? sizes : s.map((d, i) => (i < s.length - sizes.length ? d : sizes[i - (s.length - sizes.length)]!)));
      const scales = opset >= 11 ? v[2] : v[1];
      if (!scales || !scales.length) throw new Unknown('computed scales');
      return one(s.map((d, i) => Math.floor(d * scales[i]!)));
    }
    case 'DepthToSpace':
    case 'SpaceToDepth': {
      const s = x[0]!;
      const b = attrInt(n, 'blocksize', 1);
      return one(op === 'DepthToSpace' ? [s[0]!, s[1]! / (b * b), s[2]! * b, s[3]! * b] : [s[0]!, s[1]! * b * b, s[2]! / b, s[3]! / b]);
    }
    case 'ArgMax':
    case 'ArgMin': {
      const s = x[0]!;
      const axis = norm(attrInt(n, 'axis', 0), s.length);
      const keep = attrInt(n, 'keepdims', 1) === 1;
      return one(keep ? s.map((d, i) => (i === axis ? 1 : d)) : s.filter((_, i) => i !== axis));
    }
    case 'TopK': {
      const s = x[0]!;
      const axis = norm(attrInt(n, 'axis', -1), s.length);
      const k = v[1]?.[0];
      if (k === undefined) throw new Unknown('computed k');
      const out = s.map((d, i) => (i === axis ? k : d));
      return { shapes: [out, out] };
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN': {
      const s = x[0]!;
      const hidden = attrInt(n, 'hidden_size', 0);
      const dirs = attrString(n, 'direction', 'forward') === 'bidirectional' ? 2 : 1;
      const batchFirst = attrInt(n, 'layout', 0) === 1;
      const [t, b] = batchFirst ? [s[1]!, s[0]!] : [s[0]!, s[1]!];
      const y = batchFirst ? [b, t, dirs, hidden] : [t, dirs, b, hidden];
      const h = batchFirst ? [b, dirs, hidden] : [dirs, b, hidden];
      return { shapes: [y, h, h] };
    }
  }
  if (REDUCE.has(op)) {
    const s = x[0]!;
    const axesFromInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
    let axes = axesFromInput ? (n.inputs[1] ? v[1] : undefined) : attrInts(n, 'axes');
    if (axesFromInput && n.inputs[1] && !v[1]) throw new Unknown('computed reduce axes');
    const noop = attrInt(n, 'noop_with_empty_axes', 0) === 1;
    if (!axes || axes.length === 0) axes = noop ? [] : s.map((_, i) => i);
    const ax = axes.map((a) => norm(a, s.length));
    const keep = attrInt(n, 'keepdims', 1) === 1;
    const out = keep ? s.map((d, i) => (ax.includes(i) ? 1 : d)) : s.filter((_, i) => !ax.includes(i));
    let vals: number[] | undefined;
    if (v[0] && s.length === 1 && ax.includes(0)) {
      if (op === 'ReduceProd') vals = [v[0].reduce((a, b) => a * b, 1)];
      else if (op === 'ReduceSum') vals = [v[0].reduce((a, b) => a + b, 0)];
    }
    return one(out, vals);
  }
  if (op === 'Einsum' || op === 'NonZero' || op === 'Loop' || op === 'If' || op === 'Scan') throw new Unknown(`${op} is not covered by shape inference`);
  void attrFloat;
  throw new Unknown(`${op} is not covered by shape inference`);
}

/** Normalised Slice ranges: per sliced axis, the first index, step and count. */
export function sliceRanges(s: readonly number[], starts: number[], ends: number[], axes?: number[], steps?: number[]): Array<{ axis: number; start: number; step: number; count: number }> {
  return starts.map((st, i) => {
    const axis = norm(axes?.[i] ?? i, s.length);
    const dim = s[axis]!;
    const step = steps?.[i] ?? 1;
    const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));
    let start = st < 0 ? st + dim : st;
    let end = ends[i]! < 0 ? ends[i]! + dim : ends[i]!;
    if (step > 0) {
      start = clamp(start, 0, dim);
      end = clamp(end, 0, dim);
    } else {
      start = clamp(start, 0, dim - 1);
      end = clamp(end, -1, dim - 1);
    }
    const count = step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((end - start) / step));
    return { axis, start, step, count };
  });
}

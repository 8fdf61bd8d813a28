/**
 * Dependency analysis for structured (node) pruning of ONNX graphs: which tensors must shrink, and
 * along which axis, when output units (neurons or filters) of one layer are removed. A layer is
 * refused — with the exact node named — when its units feed anything this analysis does not
 * understand: a residual Add, a Concat, an LSTM, a reshape, several consumers, or a graph output.
 */
import type { GraphOp, WeightTensor } from '../checkpoint.ts';

/** One tensor to shrink: keep only the given indices along `axis`. */
export interface Shrink {
  tensor: string;
  axis: number;
  /** Why it shrinks (for the report). */
  role: string;
}

/** `activation`: the tensor the consumer reads (after the activation, BN, pools); `spatial`: it is (N, C, H, W). */
export type NodePlan = { ok: true; layer: string; units: number; shrinks: Shrink[]; staleValues: string[]; activation: string; spatial: boolean } | { ok: false; layer: string; reason: string };

const UNARY = new Set(['Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Elu', 'Selu', 'Softplus', 'HardSigmoid', 'Gelu', 'Dropout', 'Identity', 'Clip', 'Abs', 'Neg']);
const CHANNEL_POOLS = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool']);

export function planNodePruning(w: WeightTensor, ops: readonly GraphOp[], weights: ReadonlyMap<string, WeightTensor>): NodePlan {
  const refuse = (reason: string): NodePlan => ({ ok: false, layer: w.name, reason });
  const uses = new Map<string, Array<{ op: GraphOp; index: number }>>();
  for (const op of ops) op.inputs.forEach((name, index) => name && uses.set(name, [...(uses.get(name) ?? []), { op, index }]));
  const usesOf = (t: string) => uses.get(t) ?? [];
  const constant = (t: string) => weights.get(t);
  const onlyUse = (t: string) => usesOf(t).length === 1;

  const op = ops.find((o) => o.name === w.layer.op);
  if (!op || op.graph !== '') return refuse('its layer is not in the main graph');
  if (op.inputs[w.layer.inputIndex] !== w.name) return refuse('the weight reaches its layer through another op (cast, transpose or dequantize)');
  if (!onlyUse(w.name)) return refuse('the weight is shared by several nodes');
  const shrinks: Shrink[] = [];
  let units: number;
  let spatial = false; // channels carry spatial maps (after a Conv)
  if (op.opType === 'Gemm' && w.layer.inputIndex === 1) {
    const transB = op.attributes['transB'] === 1;
    units = transB ? w.shape[0]! : w.shape[1]!;
    shrinks.push({ tensor: w.name, axis: transB ? 0 : 1, role: 'weight rows' });
    const c = op.inputs[2];
    if (c) {
      const bias = constant(c);
      if (!bias || !onlyUse(c) || bias.shape.length !== 1 || bias.shape[0] !== units) return refuse(`the bias of ${op.name} is not a per-unit constant`);
      shrinks.push({ tensor: c, axis: 0, role: 'bias' });
    }
  } else if (op.opType === 'MatMul' && w.layer.inputIndex === 1 && w.shape.length === 2) {
    units = w.shape[1]!;
    shrinks.push({ tensor: w.name, axis: 1, role: 'weight columns' });
  } else if (op.opType === 'Conv' && w.layer.inputIndex === 1) {
    if (((op.attributes['group'] as number | undefined) ?? 1) !== 1) return refuse(`${op.name} is a grouped or depthwise Conv`);
    units = w.shape[0]!;
    spatial = true;
    shrinks.push({ tensor: w.name, axis: 0, role: 'filters' });
    const b = op.inputs[2];
    if (b) {
      if (!constant(b) || !onlyUse(b)) return refuse(`the bias of ${op.name} is not a constant of its own`);
      shrinks.push({ tensor: b, axis: 0, role: 'bias' });
    }
  } else return refuse(`${op.opType} weights are not node-pruned`);

  const stale: string[] = [];
  let t = op.outputs[0]!;
  for (let guard = 0; guard < 64; guard++) {
    stale.push(t);
    const next = usesOf(t);
    if (next.length === 0) return refuse(`its output '${t}' is a graph output; removing units would change the model's outputs`);
    if (next.length > 1) return refuse(`its output '${t}' feeds ${next.length} nodes (${next.map((u) => u.op.name).join(', ')})`);
    const { op: c, index } = next[0]!;
    if (c.graph !== '') return refuse(`its output feeds a subgraph at node ${c.name}`);
    if (UNARY.has(c.opType) && index === 0) {
      t = c.outputs[0]!;
      continue;
    }
    if (CHANNEL_POOLS.has(c.opType) && spatial && index === 0) {
      t = c.outputs[0]!;
      continue;
    }
    if ((c.opType === 'Add' || c.opType === 'Mul' || c.opType === 'Sub' || c.opType === 'Div') && c.inputs.length === 2) {
      const other = c.inputs[1 - index]!;
      const k = constant(other);
      if (!k) return refuse(`its output feeds ${c.opType} with another branch at node ${c.name}`);
      if (!onlyUse(other)) return refuse(`the constant '${other}' of ${c.name} is shared`);
      const per = perChannelAxis(k.shape, units, spatial);
      if (per === null) return refuse(`the constant of ${c.opType} at node ${c.name} is not per-unit or scalar`);
      if (per >= 0) shrinks.push({ tensor: other, axis: per, role: `${c.opType} constant` });
      t = c.outputs[0]!;
      continue;
    }
    if (c.opType === 'BatchNormalization' && index === 0) {
      for (const p of c.inputs.slice(1, 5)) {
        if (!constant(p) || !onlyUse(p)) return refuse(`BatchNormalization ${c.name} has a parameter that is not a constant of its own`);
        shrinks.push({ tensor: p, axis: 0, role: 'BatchNorm parameter' });
      }
      t = c.outputs[0]!;
      continue;
    }
    if (c.opType === 'Flatten' && index === 0) {
      // Channel c maps to columns [c·HW, (c+1)·HW): derivable here only once a global pool made HW = 1.
      const prev = stale.length >= 2 ? ops.find((o) => o.outputs[0] === t) : undefined;
      if (spatial && !(prev && (prev.opType === 'GlobalAveragePool' || prev.opType === 'GlobalMaxPool'))) {
        return refuse(`Flatten at node ${c.name} follows a spatial map of unknown size`);
      }
      if (((c.attributes['axis'] as number | undefined) ?? 1) !== 1) return refuse(`Flatten at node ${c.name} does not flatten from axis 1`);
      spatial = false;
      t = c.outputs[0]!;
      continue;
    }
    // Terminal consumers: shrink their input dimension.
    if (c.opType === 'Gemm' && index === 0 && !c.attributes['transA']) {
      const b = c.inputs[1]!;
      const k = constant(b);
      if (!k || !onlyUse(b)) return refuse(`the weight of ${c.name} is not a constant of its own`);
      shrinks.push({ tensor: b, axis: c.attributes['transB'] === 1 ? 1 : 0, role: `input columns of ${c.name}` });
      return { ok: true, layer: w.name, units, shrinks, staleValues: stale, activation: t, spatial };
    }
    if (c.opType === 'MatMul' && index === 0) {
      const b = c.inputs[1]!;
      const k = constant(b);
      if (!k || !onlyUse(b) || k.shape.length !== 2) return refuse(`the weight of ${c.name} is not a 2-D constant of its own`);
      shrinks.push({ tensor: b, axis: 0, role: `input rows of ${c.name}` });
      return { ok: true, layer: w.name, units, shrinks, staleValues: stale, activation: t, spatial };
    }
    if (c.opType === 'Conv' && index === 0) {
      if (((c.attributes['group'] as number | undefined) ?? 1) !== 1) return refuse(`its output feeds a grouped or depthwise Conv at node ${c.name}`);
      const b = c.inputs[1]!;
      if (!constant(b) || !onlyUse(b)) return refuse(`the weight of ${c.name} is not a constant of its own`);
      shrinks.push({ tensor: b, axis: 1, role: `input channels of ${c.name}` });
      return { ok: true, layer: w.name, units, shrinks, staleValues: stale, activation: t, spatial };
    }
    return refuse(`its output feeds ${c.opType} at node ${c.name}, which node pruning does not understand`);
  }
  return refuse('the chain after it is too long');
}

/** Axis of a per-unit constant (−1 for a scalar, null if neither), for (N, C) or (N, C, H, W) activations. */
function perChannelAxis(shape: readonly number[], units: number, spatial: boolean): number | null {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size === 1) return -1;
  if (!spatial && shape.length === 1 && shape[0] === units) return 0;
  if (spatial && shape.length === 3 && shape[0] === units && shape[1] === 1 && shape[2] === 1) return 0;
  if (spatial && shape.length === 4 && shape[0] === 1 && shape[1] === units && shape[2] === 1 && shape[3] === 1) return 1;
  return null;
}

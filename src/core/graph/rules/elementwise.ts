/**
 * Channel rules of elementwise ops (spec §2): unary ops keep every axis; n-ary ops tie, by numpy
 * broadcasting, every input whose dim matches the output's; Softmax-like ops refuse their own axis.
 */
import { attrInt, type GNode } from '../graph.ts';
import { type ChannelRule, fromRelations, type Position, Refusal, type RuleContext, type Relation, tie } from '../slots.ts';

export const UNARY_OPS = [
  'Relu', 'Sigmoid', 'Tanh', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish', 'Erf', 'Sqrt', 'Exp',
  'Log', 'Abs', 'Neg', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Not', 'Cast', 'CastLike', 'Identity', 'Dropout',
  'Clip', 'Gelu', 'Mish', 'ThresholdedRelu', 'Shrink', 'IsNaN', 'IsInf',
];

export const BROADCAST_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'PRelu', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Mod'];

/** x ↔ y on every axis; extra inputs (Clip's bounds, CastLike's target) and extra outputs (Dropout's mask) are not channels. */
export const unary: ChannelRule = (n, _ctx, at) => {
  if (at.side === 'out' && at.index !== 0) throw new Refusal(n, `its output ${at.index} ('${n.outputs[at.index]}') is used`);
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  return { links: fromRelations(at.slot, [tie({ tensor: n.inputs[0]!, axis: at.slot.axis }, { tensor: n.outputs[0]!, axis: at.slot.axis })]) };
};

/** The output axis that `at` stands for, right-aligned (numpy broadcasting). */
function outputAxis(n: GNode, ctx: RuleContext, at: Position): number {
  if (at.side === 'out') return at.slot.axis;
  const r = ctx.shapeOf(n.outputs[0]!).length;
  return at.slot.axis + (r - ctx.shapeOf(at.slot.tensor).length);
}

/** Every input whose dim at this output axis equals the output's is tied to it; broadcast (size-1) inputs are not. */
export function broadcastRelations(n: GNode, ctx: RuleContext, outAxis: number, inputs: readonly number[] = n.inputs.map((_, i) => i)): Relation[] {
  const y = n.outputs[0]!;
  const ys = ctx.shapeOf(y);
  const rels: Relation[] = [];
  for (const i of inputs) {
    const name = n.inputs[i];
    if (!name) continue;
    const s = ctx.shapeOf(name);
    const a = outAxis - (ys.length - s.length);
    if (a < 0 || (s[a] === 1 && ys[outAxis] !== 1)) continue;
    rels.push(tie({ tensor: name, axis: a }, { tensor: y, axis: outAxis }));
  }
  return rels;
}

export const broadcast: ChannelRule = (n, ctx, at) => {
  if (at.side === 'out' && at.index !== 0) throw new Refusal(n, `its output ${at.index} is used`);
  return { links: fromRelations(at.slot, broadcastRelations(n, ctx, outputAxis(n, ctx, at))) };
};

/** Softmax, LogSoftmax, Hardmax: any axis but the one they normalise over (from opset 13; before, every axis from it on). */
export const softmax: ChannelRule = (n, ctx, at) => {
  const r = ctx.shapeOf(n.inputs[0]!).length;
  const raw = attrInt(n, 'axis', ctx.g.opset >= 13 ? -1 : 1);
  const axis = raw < 0 ? raw + r : raw;
  const a = at.slot.axis;
  if (a === axis || (ctx.g.opset < 13 && a >= axis)) throw new Refusal(n, `${n.op} normalises over the pruned axis`);
  return unary(n, ctx, at);
};

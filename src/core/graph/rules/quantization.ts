/**
 * QuantizeLinear / DequantizeLinear (spec §3): every axis goes through; a per-axis scale and zero
 * point on the pruned axis are tied to it (and sliced with it, which is exact). Blocked
 * quantization on the pruned axis is refused.
 */
import { attrInt } from '../graph.ts';
import { type ChannelRule, fromRelations, Refusal, type Relation, tie } from '../slots.ts';

export const quantize: ChannelRule = (n, ctx, at) => {
  const [x, scale, zero] = n.inputs;
  const y = n.outputs[0]!;
  const r = ctx.shapeOf(x!).length;
  const raw = attrInt(n, 'axis', 1);
  const qAxis = raw < 0 ? raw + r : raw;
  const perAxis = ctx.shapeOf(scale!).length === 1 && ctx.shapeOf(scale!)[0]! > 1;
  if (attrInt(n, 'block_size', 0) > 0 && qAxis === at.slot.axis) throw new Refusal(n, 'blocked quantization along the pruned axis');
  let a = at.slot.axis;
  if (at.slot.tensor === scale || at.slot.tensor === zero) {
    if (!perAxis) return { links: [] };
    a = qAxis;
  }
  const rels: Relation[] = [tie({ tensor: x!, axis: a }, { tensor: y, axis: a })];
  if (perAxis && a === qAxis) {
    rels.push(tie({ tensor: scale!, axis: 0 }, { tensor: y, axis: a }));
    if (zero) rels.push(tie({ tensor: zero, axis: 0 }, { tensor: y, axis: a }));
  }
  return { links: fromRelations(at.slot, rels) };
};

/**
 * Channel rules of normalisations (spec §2). BatchNormalization and InstanceNormalization are
 * per channel: exact. GroupNormalization is exact when whole groups go. LayerNormalization, and a
 * ReduceMean over the pruned axis (LayerNorm written out as ops), change the statistics: the group
 * is kept but marked approximate.
 */
import { attrInt, attrInts } from '../graph.ts';
import { type ChannelRule, collapse, expand, fromRelations, identity, Refusal, type Relation, tie } from '../slots.ts';

const slot = (tensor: string, axis: number) => ({ tensor, axis });

export const batchNorm: ChannelRule = (n, _ctx, at) => {
  const [x, ...params] = n.inputs;
  const y = n.outputs[0]!;
  if (at.side === 'out' && at.index !== 0) throw new Refusal(n, 'BatchNormalization in training mode (its statistics outputs are used)');
  const rels: Relation[] = [tie(slot(x!, at.slot.axis), slot(y, at.slot.axis))];
  if (at.slot.axis === 1 || params.includes(at.slot.tensor)) for (const p of params.slice(0, 4)) if (p) rels.push(tie(slot(p, 0), slot(y, 1)));
  return { links: fromRelations(at.slot, rels) };
};

export const instanceNorm: ChannelRule = (n, _ctx, at) => {
  const [x, scale, bias] = n.inputs;
  const y = n.outputs[0]!;
  if ((at.slot.tensor === x || at.slot.tensor === y) && at.slot.axis >= 2) throw new Refusal(n, 'InstanceNormalization normalises over the pruned (spatial) axis');
  const rels: Relation[] = [tie(slot(x!, at.slot.axis), slot(y, at.slot.axis))];
  if (at.slot.axis === 1 || at.slot.tensor === scale || at.slot.tensor === bias) rels.push(tie(slot(scale!, 0), slot(y, 1)), tie(slot(bias!, 0), slot(y, 1)));
  return { links: fromRelations(at.slot, rels) };
};

export const groupNorm: ChannelRule = (n, ctx, at) => {
  const [x, scale, bias] = n.inputs;
  const y = n.outputs[0]!;
  const c = ctx.shapeOf(x!)[1]!;
  const g = attrInt(n, 'num_groups', 1);
  if ((at.slot.tensor === x || at.slot.tensor === y) && at.slot.axis >= 2) throw new Refusal(n, 'GroupNormalization normalises over the pruned (spatial) axis');
  const groups = slot(`#groups:${n.name}`, 0);
  const rels: Relation[] = [tie(slot(x!, at.slot.axis), slot(y, at.slot.axis))];
  if (at.slot.axis === 1 || at.slot.tensor === scale || at.slot.tensor === bias || at.slot.tensor === groups.tensor) {
    rels.push(tie(slot(y, 1), groups, collapse(c / g), expand(c / g)));
    for (const p of [scale, bias]) {
      if (!p) continue;
      const len = ctx.shapeOf(p)[0];
      rels.push(len === g ? tie(slot(p, 0), groups) : tie(slot(p, 0), slot(y, 1))); // per group (opset 18) or per channel (opset 21)
    }
  }
  return { links: fromRelations(at.slot, rels) };
};

export const layerNorm: ChannelRule = (n, ctx, at) => {
  const [x, scale, bias] = n.inputs;
  const y = n.outputs[0]!;
  if (at.side === 'out' && at.index !== 0) throw new Refusal(n, "LayerNormalization's mean / inverse std outputs are used");
  const r = ctx.shapeOf(x!).length;
  const raw = attrInt(n, 'axis', -1);
  const first = raw < 0 ? raw + r : raw;
  // the axis of x and y this is about
  let a = at.slot.axis;
  if (at.slot.tensor === scale || at.slot.tensor === bias) a = at.slot.axis + (r - ctx.shapeOf(at.slot.tensor).length);
  const rels: Relation[] = [tie(slot(x!, a), slot(y, a))];
  if (a < first) return { links: fromRelations(at.slot, rels) };
  for (const p of [scale, bias]) {
    if (!p) continue;
    const pa = a - (r - ctx.shapeOf(p).length);
    if (pa >= 0 && ctx.shapeOf(p)[pa] !== 1) rels.push(tie(slot(p, pa), slot(y, a)));
  }
  return { links: fromRelations(at.slot, rels), approximate: `LayerNormalization '${n.name}' normalises over the pruned axis: its statistics change` };
};

/**
 * ReduceMean / ReduceSum / …: axes kept go through (renumbered when keepdims = 0). The reduced axis
 * itself ends the channels: a ReduceMean with keepdims is the mean or variance of a LayerNorm
 * written out as ops (approximate); any other reduction over the pruned axis is refused.
 */
export const reduce: ChannelRule = (n, ctx, at) => {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const r = ctx.shapeOf(x).length;
  const fromInput = n.op === 'ReduceSum' ? ctx.g.opset >= 13 : ctx.g.opset >= 18;
  let axes = fromInput ? (n.inputs[1] ? ctx.valueOf(n.inputs[1]) : []) : attrInts(n, 'axes');
  if (fromInput && n.inputs[1] && !axes) throw new Refusal(n, 'its reduction axes are computed at run time');
  if (!axes || axes.length === 0) axes = attrInt(n, 'noop_with_empty_axes', 0) === 1 ? [] : Array.from({ length: r }, (_, i) => i);
  const reduced = new Set(axes.map((v) => (v < 0 ? v + r : v)));
  const keep = attrInt(n, 'keepdims', 1) === 1;
  const outAxis = (a: number) => (keep ? a : a - [...reduced].filter((v) => v < a).length);
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  if (at.side === 'in') {
    if (reduced.has(at.slot.axis)) {
      if (n.op === 'ReduceMean' && keep) return { links: [], approximate: `ReduceMean '${n.name}' averages over the pruned axis (a normalisation written out as ops): its statistics change` };
      throw new Refusal(n, `${n.op} reduces over the pruned axis`);
    }
    return { links: [{ to: slot(y, outAxis(at.slot.axis)), map: identity }] };
  }
  const a = Array.from({ length: r }, (_, i) => i).find((i) => !reduced.has(i) && outAxis(i) === at.slot.axis);
  if (a === undefined) throw new Refusal(n, `${n.op} output axis ${at.slot.axis} is a reduced one`);
  return { links: [{ to: slot(x, a), map: identity }] };
};

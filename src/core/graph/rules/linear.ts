/**
 * Channel rules of the weight layers (spec §2): Conv (plain, depthwise, grouped), ConvTranspose,
 * Gemm, MatMul and Gather from a table. Each ties its weight's output axis (the root) to the
 * output's channels, and its input channels to the weight's input axis, where they stop.
 */
import { attrInt } from '../graph.ts';
import { type ChannelRule, collapse, expand, fromRelations, Refusal, type Relation, tie } from '../slots.ts';

const slot = (tensor: string | undefined, axis: number) => ({ tensor: tensor!, axis });

export const conv: ChannelRule = (n, ctx, at) => {
  const [x, w, b] = n.inputs;
  const y = n.outputs[0]!;
  const g = attrInt(n, 'group', 1);
  const ws = ctx.shapeOf(w!);
  const cin = ctx.shapeOf(x!)[1]!;
  const m = ws[0]!;
  ctx.shapeOf(y); // its output must be known too (shape inference checks the groups)
  if (!Number.isSafeInteger(g) || g < 1 || cin % g !== 0 || m % g !== 0 || ws[1]! * g !== cin) throw new Refusal(n, `group ${g} does not fit ${cin} input and ${m} output channels`);
  if ((at.slot.tensor === x || at.slot.tensor === y) && at.slot.axis !== 1) throw new Refusal(n, `the pruned axis is axis ${at.slot.axis} of a Conv's ${at.slot.tensor === x ? 'input' : 'output'}, not its channels`);
  if (at.slot.tensor === w && at.slot.axis >= 2) throw new Refusal(n, 'the pruned axis is a kernel axis');
  const rels: Relation[] = [tie(slot(w, 0), slot(y, 1))];
  if (b) rels.push(tie(slot(b, 0), slot(y, 1)));
  if (g === 1) rels.push(tie(slot(x, 1), slot(w, 1)));
  else if (g === cin && ws[1] === 1) {
    const mult = m / g; // depthwise: input channel c feeds outputs [c·mult, (c+1)·mult)
    rels.push(tie(slot(x, 1), slot(y, 1), expand(mult), collapse(mult)));
  } else {
    // grouped: whole groups only (group j: inputs [j·cin/g, …), outputs [j·m/g, …))
    const groups = slot(`#groups:${n.name}`, 0);
    rels.push(tie(slot(x, 1), groups, collapse(cin / g), expand(cin / g)), tie(slot(y, 1), groups, collapse(m / g), expand(m / g)));
  }
  return { links: fromRelations(at.slot, rels) };
};

export const convTranspose: ChannelRule = (n, ctx, at) => {
  const [x, w, b] = n.inputs;
  const y = n.outputs[0]!;
  const g = attrInt(n, 'group', 1);
  const ws = ctx.shapeOf(w!); // [C_in, M/g, k…]
  const cin = ctx.shapeOf(x!)[1]!;
  ctx.shapeOf(y);
  if (!Number.isSafeInteger(g) || g < 1 || cin % g !== 0 || ws[0] !== cin) throw new Refusal(n, `group ${g} does not fit ${cin} input channels`);
  if ((at.slot.tensor === x || at.slot.tensor === y) && at.slot.axis !== 1) throw new Refusal(n, `the pruned axis is axis ${at.slot.axis} of a ConvTranspose, not its channels`);
  const rels: Relation[] = [tie(slot(x, 1), slot(w, 0))];
  if (b) rels.push(tie(slot(b, 0), slot(y, 1)));
  if (g === 1) rels.push(tie(slot(w, 1), slot(y, 1)));
  else if (g === cin) rels.push(tie(slot(x, 1), slot(y, 1), expand(ws[1]!), collapse(ws[1]!)));
  else throw new Refusal(n, `a grouped ConvTranspose (group ${g}) is not pruned`);
  return { links: fromRelations(at.slot, rels) };
};

export const gemm: ChannelRule = (n, ctx, at) => {
  const [a, b, c] = n.inputs;
  const y = n.outputs[0]!;
  const ta = attrInt(n, 'transA', 0) === 1;
  const tb = attrInt(n, 'transB', 0) === 1;
  const rels: Relation[] = [
    tie(slot(a, ta ? 0 : 1), slot(b, tb ? 1 : 0)), // contraction: the channels stop here
    tie(slot(b, tb ? 0 : 1), slot(y, 1)),
    tie(slot(a, ta ? 1 : 0), slot(y, 0)),
  ];
  if (c) {
    const cs = ctx.shapeOf(c);
    const ys = ctx.shapeOf(y);
    for (const outAxis of [0, 1]) {
      const ca = outAxis - (2 - cs.length);
      if (ca >= 0 && cs[ca] === ys[outAxis] && !(cs[ca] === 1 && ys[outAxis] !== 1)) rels.push(tie(slot(c, ca), slot(y, outAxis)));
    }
  }
  return { links: fromRelations(at.slot, rels) };
};

export const matmul: ChannelRule = (n, ctx, at) => {
  const [a, b] = n.inputs;
  const y = n.outputs[0]!;
  const as = ctx.shapeOf(a!);
  const bs = ctx.shapeOf(b!);
  const ys = ctx.shapeOf(y);
  const ra = as.length;
  const rb = bs.length;
  const ry = ys.length;
  const rels: Relation[] = [tie(slot(a, ra - 1), slot(b, rb === 1 ? 0 : rb - 2))];
  if (ra >= 2) rels.push(tie(slot(a, ra - 2), slot(y, rb === 1 ? ry - 1 : ry - 2)));
  if (rb >= 2) rels.push(tie(slot(b, rb - 1), slot(y, ry - 1)));
  // batch axes, numpy-broadcast
  const batch = ry - (ra >= 2 ? 1 : 0) - (rb >= 2 ? 1 : 0);
  for (let k = 0; k < batch; k++) {
    for (const [t, s] of [[a!, as], [b!, bs]] as const) {
      const ax = k - (batch - (s.length - 2));
      if (s.length >= 3 && ax >= 0 && s[ax] === ys[k] && !(s[ax] === 1 && ys[k] !== 1)) rels.push(tie(slot(t, ax), slot(y, k)));
    }
  }
  return { links: fromRelations(at.slot, rels) };
};

export const gather: ChannelRule = (n, ctx, at) => {
  const [data, idx] = n.inputs;
  const y = n.outputs[0]!;
  const ds = ctx.shapeOf(data!);
  const is = ctx.shapeOf(idx!);
  const raw = attrInt(n, 'axis', 0);
  const axis = raw < 0 ? raw + ds.length : raw;
  if (at.slot.tensor === data && at.slot.axis === axis) throw new Refusal(n, 'Gather picks along the pruned axis');
  const rels: Relation[] = [];
  ds.forEach((_, d) => d !== axis && rels.push(tie(slot(data, d), slot(y, d < axis ? d : d + is.length - 1))));
  is.forEach((_, k) => rels.push(tie(slot(idx, k), slot(y, axis + k))));
  return { links: fromRelations(at.slot, rels) };
};

/**
 * Channel rules of layout ops (spec §2): Transpose, Squeeze / Unsqueeze, Flatten and Reshape
 * (merges and head splits through the common digits of the two shapes), the channel shuffle
 * (Reshape → Transpose → Reshape, a permutation), Concat / Split / Slice (offsets), Expand, Tile,
 * Pad and Resize (axes they leave alone), pooling, Shape (reads sizes: no channels).
 */
import { attrInt, attrInts, type GNode } from '../graph.ts';
import { sliceRanges } from '../shapeInference.ts';
import { type ChannelRule, collapse, expand, fromRelations, type Link, offset, permutation, type Position, Refusal, type Relation, type RuleContext, type RuleResult, reshapeLink, single, tie } from '../slots.ts';
import { broadcastRelations } from './elementwise.ts';

const slot = (tensor: string, axis: number) => ({ tensor, axis });

export const transpose: ChannelRule = (n, ctx, at) => {
  const [x] = n.inputs;
  const y = n.outputs[0]!;
  const r = ctx.shapeOf(x!).length;
  const perm = attrInts(n, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  return { links: fromRelations(at.slot, perm.map((p, b) => tie(slot(x!, p), slot(y, b)))) };
};

/** Squeeze / Unsqueeze: the axes that stay, renumbered. */
export const squeeze: ChannelRule = (n, ctx, at) => {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  const xs = ctx.shapeOf(x);
  const ys = ctx.shapeOf(y);
  const rels: Relation[] = [];
  // pair the non-unit axes in order (what Squeeze removes and Unsqueeze adds are all size 1)
  const xi = xs.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  const yi = ys.map((d, i) => [d, i] as const).filter(([d]) => d !== 1);
  if (xi.length !== yi.length) throw new Refusal(n, `${n.op} from [${xs}] to [${ys}] is not a pure squeeze`);
  xi.forEach(([, a], k) => rels.push(tie(slot(x, a), slot(y, yi[k]![1]))));
  return { links: fromRelations(at.slot, rels) };
};

function shuffle(ctx: RuleContext, first: GNode): { x: string; y: string; g: number; m: number } | undefined {
  // Reshape [N, C, …] → [N, G, C/G, …] → Transpose(swap 1, 2) → Reshape [N, C, …]
  const x = first.inputs[0]!;
  const r1 = first.outputs[0]!;
  const xs = ctx.shapeOf(x);
  const s1 = ctx.shapeOf(r1);
  if (s1.length !== xs.length + 1 || s1[0] !== xs[0] || s1[1]! * s1[2]! !== xs[1] || s1.slice(3).join() !== xs.slice(2).join()) return undefined;
  const uses = ctx.g.tensor(r1).consumers;
  if (uses.length !== 1 || uses[0]!.node.op !== 'Transpose') return undefined;
  const t = uses[0]!.node;
  const perm = attrInts(t, 'perm');
  if (!perm || perm[0] !== 0 || perm[1] !== 2 || perm[2] !== 1 || perm.slice(3).some((p, i) => p !== i + 3)) return undefined;
  const tu = ctx.g.tensor(t.outputs[0]!).consumers;
  if (tu.length !== 1 || tu[0]!.node.op !== 'Reshape') return undefined;
  const last = tu[0]!.node;
  if (ctx.shapeOf(last.outputs[0]!).join() !== xs.join()) return undefined;
  return { x, y: last.outputs[0]!, g: s1[1]!, m: s1[2]! };
}

/** The channel shuffle's permutation: channel g·m + j of the input is channel j·G + g of the output. */
function shuffleRelations(s: { x: string; y: string; g: number; m: number }, name: string): Relation[] {
  const c = s.g * s.m;
  const fwd = Array.from({ length: c }, (_, k) => (k % s.m) * s.g + Math.floor(k / s.m));
  const back = new Array<number>(c);
  fwd.forEach((to, k) => (back[to] = k));
  // Pruning must keep the groups equal: column j goes from every group at once.
  const columns = slot(`#shuffle:${name}`, 0);
  return [tie(slot(s.x, 1), slot(s.y, 1), permutation(fwd), permutation(back)), tie(slot(s.x, 1), columns, (k) => single(k % s.m), (j) => Array.from({ length: s.g }, (_, g) => g * s.m + j))];
}

/** A Reshape or Flatten: the slab of the pruned axis must be a slab of one axis of the other side. */
function reshapeLinks(n: GNode, ctx: RuleContext, at: Position): Link[] {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const xs = ctx.shapeOf(x);
  const ys = ctx.shapeOf(y);
  const [fromShape, toShape, to] = at.slot.tensor === x && at.side === 'in' ? [xs, ys, y] : [ys, xs, x];
  const a = at.slot.axis;
  return [
    {
      what: `${n.op} '${n.name}'`,
      resolve: (images) => {
        const l = reshapeLink(fromShape, a, toShape, images);
        if (!l) throw new Refusal(n, `${n.op} from [${xs}] to [${ys}] scatters the pruned axis ${a}`);
        return { to: slot(to, l.b), map: l.forward };
      },
    },
  ];
}

export const reshape: ChannelRule = (n, ctx, at) => {
  if (at.side === 'in' && at.index !== 0) return { links: [] }; // the target shape
  // The shuffle's column constraint, expanded through the Reshape that made it.
  if (at.slot.tensor === `#shuffle:${n.name}`) {
    const sh = shuffle(ctx, n);
    if (!sh) throw new Refusal(n, 'the channel shuffle could not be matched again');
    return { links: fromRelations(at.slot, shuffleRelations(sh, n.name)) };
  }
  // The channel shuffle's first or last Reshape: one permutation over the three ops.
  const first = at.side === 'in' ? n : findShuffleStart(ctx, n);
  const sh = first && n.op === 'Reshape' ? shuffle(ctx, first) : undefined;
  if (sh && ((at.side === 'in' && at.slot.axis === 1) || (at.side === 'out' && at.slot.tensor === sh.y && at.slot.axis === 1))) return { links: fromRelations(at.slot, shuffleRelations(sh, first!.name)) };
  return { links: reshapeLinks(n, ctx, at) };
};

function findShuffleStart(ctx: RuleContext, last: GNode): GNode | undefined {
  const t = ctx.g.tensor(last.inputs[0]!).producer;
  if (!t || t.op !== 'Transpose') return undefined;
  const r = ctx.g.tensor(t.inputs[0]!).producer;
  return r && r.op === 'Reshape' ? r : undefined;
}

export const flatten: ChannelRule = (n, ctx, at) => ({ links: reshapeLinks(n, ctx, at) });

export const concat: ChannelRule = (n, ctx, at) => {
  const y = n.outputs[0]!;
  const ys = ctx.shapeOf(y);
  const raw = attrInt(n, 'axis', 0);
  const axis = raw < 0 ? raw + ys.length : raw;
  const rels: Relation[] = [];
  if (at.slot.axis !== axis) {
    for (const i of n.inputs) if (i) rels.push(tie(slot(i, at.slot.axis), slot(y, at.slot.axis)));
  } else {
    let off = 0;
    for (const i of n.inputs) {
      if (!i) continue;
      const size = ctx.shapeOf(i)[axis]!;
      rels.push(tie(slot(i, axis), slot(y, axis), offset(off, ys[axis]!), offset(-off, size)));
      off += size;
    }
  }
  return { links: fromRelations(at.slot, rels) };
};

export const split: ChannelRule = (n, ctx, at) => {
  const x = n.inputs[0]!;
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  const xs = ctx.shapeOf(x);
  const raw = attrInt(n, 'axis', 0);
  const axis = raw < 0 ? raw + xs.length : raw;
  const rels: Relation[] = [];
  let off = 0;
  for (const o of n.outputs) {
    if (!o) continue;
    const size = ctx.shapeOf(o)[axis]!;
    rels.push(at.slot.axis === axis ? tie(slot(o, axis), slot(x, axis), offset(off, xs[axis]!), offset(-off, size)) : tie(slot(o, at.slot.axis), slot(x, at.slot.axis)));
    off += size;
  }
  return { links: fromRelations(at.slot, rels) };
};

export const slice: ChannelRule = (n, ctx, at) => {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  const xs = ctx.shapeOf(x);
  let starts: number[] | undefined;
  let ends: number[] | undefined;
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (ctx.g.opset >= 10) {
    [starts, ends] = [ctx.valueOf(n.inputs[1]!), ctx.valueOf(n.inputs[2]!)];
    axes = n.inputs[3] ? ctx.valueOf(n.inputs[3]) : undefined;
    steps = n.inputs[4] ? ctx.valueOf(n.inputs[4]) : undefined;
  } else [starts, ends, axes] = [attrInts(n, 'starts'), attrInts(n, 'ends'), attrInts(n, 'axes')];
  if (!starts || !ends) throw new Refusal(n, 'its bounds are not known');
  const range = sliceRanges(xs, starts, ends, axes, steps).find((r) => r.axis === at.slot.axis);
  if (!range) return { links: fromRelations(at.slot, [tie(slot(x, at.slot.axis), slot(y, at.slot.axis))]) };
  if (range.step !== 1) throw new Refusal(n, 'Slice with a step on the pruned axis');
  return { links: fromRelations(at.slot, [tie(slot(y, at.slot.axis), slot(x, at.slot.axis), offset(range.start, xs[at.slot.axis]!), offset(-range.start, range.count))]) };
};

/** Expand: numpy broadcasting of its one data input. */
export const expandOp: ChannelRule = (n, ctx, at) => {
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  const r = ctx.shapeOf(n.outputs[0]!).length;
  const outAxis = at.side === 'out' ? at.slot.axis : at.slot.axis + (r - ctx.shapeOf(n.inputs[0]!).length);
  return { links: fromRelations(at.slot, broadcastRelations(n, ctx, outAxis, [0])) };
};

/** Ops that keep some axes as they are (Pad, Resize, Tile, pools): those go through; any other is refused. */
function keepsAxis(n: GNode, ctx: RuleContext, at: Position, why: string): RuleResult {
  if (at.side === 'in' && at.index !== 0) return { links: [] };
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  if (ctx.shapeOf(x)[at.slot.axis] !== ctx.shapeOf(y)[at.slot.axis]) throw new Refusal(n, `${n.op} ${why} the pruned axis`);
  return { links: fromRelations(at.slot, [tie(slot(x, at.slot.axis), slot(y, at.slot.axis))]) };
}

export const sameSizeAxes: ChannelRule = (n, ctx, at) => keepsAxis(n, ctx, at, 'changes the size of');

export const pool: ChannelRule = (n, ctx, at) => {
  if (at.slot.axis >= 2) throw new Refusal(n, `${n.op} pools over the pruned axis`);
  if (at.side === 'out' && at.index !== 0) throw new Refusal(n, `${n.op}'s indices output is used`);
  return keepsAxis(n, ctx, at, 'changes');
};

/** Shape and Size only read sizes: the channels stop here (the shape arithmetic is checked after pruning). */
export const readsShape: ChannelRule = () => ({ links: [] });

void collapse;
void expand;

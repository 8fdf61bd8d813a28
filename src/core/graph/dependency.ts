/**
 * Dependency groups (spec §1, §2): from each weight layer's own output units (its root slot), the
 * closure of every slot tied to them through the channel rules. Each member keeps, per root unit,
 * the indices of its own axis that go with that unit. Units whose images share an index must go
 * together: a union-find over the root's units gives the pruning units (classes) of the group —
 * whole heads, whole conv groups, balanced shuffle columns.
 *
 * A group is refused, with the op and node named, when a rule refuses it, when no rule covers an
 * op it reaches, or when it reaches a graph input or output (their channels are the model's
 * interface). It is marked approximate when a normalisation's statistics change.
 */
import type { GNode, Graph } from './graph.ts';
import { ruleFor } from './rules/index.ts';
import type { Shapes } from './shapeInference.ts';
import { clearReshapeMaps, identity, type IndexMap, single, type Position, Refusal, type RuleContext, type Slot, slotKey } from './slots.ts';

export interface Member {
  slot: Slot;
  /** Per root unit: the indices of this slot's axis that go with it (sorted). */
  images: number[][];
  /** A stored or constant-derived tensor (a weight, bias, norm parameter, zero point…). */
  constant: boolean;
  /** A pseudo-slot (whole conv groups, shuffle columns): a constraint, not a tensor. */
  pseudo: boolean;
  /**
   * For a constant that is not a weight matrix (a bias, a norm parameter, a zero point): the one
   * use this member is about. Another use of the same tensor is another member, in its own
   * group; the tensor is copied per use when they are cut differently.
   */
  use?: { node: GNode; index: number };
  /** A constant read as a weight matrix or kernel (its matrix uses are coupled). */
  matrix: boolean;
}

/** A member's key: the slot, plus the use for per-use constants. */
export const memberKey = (slot: Slot, use?: { node: GNode; index: number }) => (use ? `${slotKey(slot)}|${use.node.index}:${use.index}` : slotKey(slot));

/** One weight layer: the node, its weight operand, the stored tensor behind it, and its root slot. */
export interface WeightLayer {
  node: GNode;
  /** The weight as the node reads it (maybe a DequantizeLinear or Identity output). */
  operand: string;
  /** The stored tensor it comes from (the name reports and the analysis use). */
  stored: string;
  root: Slot;
}

export interface Group {
  id: number;
  /** The slot the group was grown from (its units are the group's index space). */
  root: Slot;
  units: number;
  members: Map<string, Member>;
  /** Weight layers whose own output units are in the group. */
  layers: WeightLayer[];
  /** Pruning units: each a set of root units that go together. */
  classes: number[][];
  approximate: string[];
  refused?: { reason: string; node?: string; op?: string };
}

/** Ops whose operand at this input index is a weight matrix or kernel: shared uses are coupled, not copied. */
export function matrixUse(n: GNode, index: number): boolean {
  switch (n.op) {
    case 'Conv':
    case 'ConvTranspose':
      return index === 1;
    case 'Gemm':
    case 'MatMul':
      return index <= 1;
    case 'Gather':
      return index === 0;
    default:
      return false;
  }
}

export class DependencyGraph {
  readonly ctx: RuleContext;
  readonly layers: WeightLayer[];
  readonly groups: Group[] = [];
  private readonly dynamic = new Set<string>();
  /**
   * Main-graph tensors read inside an If/Loop/Scan body (captured from the outer scope), with the
   * main-graph node that holds the body: their consumers there are not analysed, so a group that
   * reaches one is refused.
   */
  private readonly captured = new Map<string, GNode>();
  /** The group of each weight layer, by stored name. */
  readonly groupOf = new Map<string, Group>();

  constructor(
    readonly g: Graph,
    readonly shapes: Shapes,
  ) {
    interned = new Map();
    for (const i of g.inputs) this.dynamic.add(i.name);
    for (const n of g.nodes) if (n.graph === '' && n.inputs.some((i) => this.dynamic.has(i))) for (const o of n.outputs) this.dynamic.add(o);
    const bodyNodes = g.nodes.filter((n) => n.graph !== '');
    const producedInBodies = new Set(bodyNodes.flatMap((n) => n.outputs));
    const mainByName = new Map(g.mainNodes.map((n) => [n.name, n]));
    for (const n of bodyNodes) {
      const host = mainByName.get(n.graph.split('/')[0]!);
      if (!host) continue;
      for (const i of n.inputs) if (i && !producedInBodies.has(i) && g.tensors.has(i) && !this.captured.has(i)) this.captured.set(i, host);
    }
    this.ctx = {
      g,
      shapes,
      shapeOf: (t) => {
        const s = shapes.shape.get(t);
        if (!s) throw new Refusal(undefined, `the shape of '${t}' is not known (${shapes.unknown.get(t) ?? 'not computed in the main graph'})`);
        return s;
      },
      valueOf: (t) => shapes.value.get(t),
      isConstant: (t) => !this.dynamic.has(t) && g.tensors.has(t),
    };
    this.layers = this.findLayers();
    for (const l of this.layers) {
      if (this.groupOf.has(l.stored)) continue;
      const done = this.groups.find((gr) => gr.members.has(slotKey(l.root)));
      if (done) {
        done.layers.push(l);
        this.groupOf.set(l.stored, done);
        continue;
      }
      const group = this.grow(l);
      this.groups.push(group);
      for (const other of this.layers) {
        if (other !== l && !this.groupOf.has(other.stored) && group.members.has(slotKey(other.root))) {
          group.layers.push(other);
          this.groupOf.set(other.stored, group);
        }
      }
      this.groupOf.set(l.stored, group);
    }
    interned = new Map();
    clearReshapeMaps();
  }

  /** The uses of a tensor as a weight matrix or kernel. */
  matrixUses(t: string): Array<{ node: GNode; index: number }> {
    return (this.g.tensors.get(t)?.consumers ?? []).filter((u) => matrixUse(u.node, u.index));
  }

  /** The stored tensor behind a weight operand (through Identity, Cast and DequantizeLinear). */
  storedSource(t: string): string | undefined {
    for (let guard = 0; guard < 16; guard++) {
      const tensor = this.g.tensors.get(t);
      if (!tensor) return undefined;
      if (tensor.stored) return t;
      const p = tensor.producer;
      if (!p || !['Identity', 'Cast', 'DequantizeLinear'].includes(p.op)) return undefined;
      t = p.inputs[0]!;
    }
    return undefined;
  }

  private findLayers(): WeightLayer[] {
    const out: WeightLayer[] = [];
    for (const n of this.g.nodes) {
      if (n.graph !== '') continue;
      let operand: string | undefined;
      let axis = 0;
      if (n.op === 'Conv') [operand, axis] = [n.inputs[1], 0];
      else if (n.op === 'ConvTranspose') [operand, axis] = [n.inputs[1], 1];
      else if (n.op === 'Gemm') [operand, axis] = [n.inputs[1], (n.attrs['transB'] as number | undefined) === 1 ? 0 : 1];
      else if (n.op === 'MatMul') [operand, axis] = [n.inputs[1], -1];
      else if (n.op === 'Gather') [operand, axis] = [n.inputs[0], 1];
      if (!operand || !this.ctx.isConstant(operand)) continue;
      const shape = this.shapes.shape.get(operand);
      if (!shape || shape.length < 2) continue;
      if (n.op === 'MatMul') axis = shape.length - 1;
      if (n.op === 'Gather' && (shape.length !== 2 || ((n.attrs['axis'] as number | undefined) ?? 0) !== 0)) continue;
      const stored = this.storedSource(operand);
      if (!stored) continue;
      out.push({ node: n, operand, stored, root: { tensor: operand, axis } });
    }
    return out;
  }

  /** The positions (node, side, index) from which a member slot is expanded. */
  private positions(m: Member): Array<{ node: GNode; pos: Position }> {
    const t = this.g.tensor(m.slot.tensor);
    const out: Array<{ node: GNode; pos: Position }> = [];
    if (m.constant) {
      // A constant is sliced where it is used: through DequantizeLinear to the quantized tensor,
      // its scale and zero point, and through other matrix uses (tied weights). A bias or norm
      // parameter shared by unrelated layers is copied per use instead (pruneGroups.ts).
      const p = t.producer;
      if (p && p.op === 'DequantizeLinear') out.push({ node: p, pos: { slot: m.slot, side: 'out', index: 0 } });
      if (m.matrix) for (const u of t.consumers) if (matrixUse(u.node, u.index)) out.push({ node: u.node, pos: { slot: m.slot, side: 'in', index: u.index } });
      return out;
    }
    if (t.producer) out.push({ node: t.producer, pos: { slot: m.slot, side: 'out', index: t.producer.outputs.indexOf(m.slot.tensor) } });
    for (const u of t.consumers) out.push({ node: u.node, pos: { slot: m.slot, side: 'in', index: u.index } });
    return out;
  }

  private grow(layer: WeightLayer): Group {
    const ctx = this.ctx;
    const members = new Map<string, Member>();
    const group: Group = { id: this.groups.length, root: layer.root, units: 0, members, layers: [layer], classes: [], approximate: [] };
    const refuse = (e: Refusal) => {
      group.refused = { reason: e.message, ...(e.node ? { node: e.node.name, op: e.node.op } : {}) };
      group.classes = [];
      return group;
    };
    let units: number;
    try {
      units = ctx.shapeOf(layer.root.tensor)[layer.root.axis]!;
    } catch (e) {
      if (e instanceof Refusal) return refuse(e);
      throw e;
    }
    group.units = units;
    const queue: Member[] = [];
    /** The node whose rule made each pseudo-slot (it is expanded through that rule again). */
    const creators = new Map<string, GNode>();
    const add = (slot: Slot, images: number[][], use: { node: GNode; index: number } | undefined) => {
      if (typeof slot.tensor !== 'string' || slot.tensor === '') throw new Refusal(undefined, 'a node lacks an input or output its rule needs');
      const pseudo = slot.tensor.startsWith('#');
      const constant = !pseudo && ctx.isConstant(slot.tensor);
      const matrix = constant && (use === undefined || matrixUse(use.node, use.index));
      const key = memberKey(slot, constant && !matrix ? use : undefined);
      const existing = members.get(key);
      if (!pseudo) checkSlot(this.g, this.shapes, slot, images, constant);
      if (!existing) {
        const m: Member = { slot, images, constant, pseudo, matrix, ...(constant && !matrix && use ? { use } : {}) };
        members.set(key, m);
        queue.push(m);
        return;
      }
      if (existing.images === images) return;
      // Most merges bring nothing new: check by reference before building anything.
      const old = existing.images;
      let k0 = 0;
      while (k0 < old.length && (images[k0] === old[k0] || images[k0]!.length === 0)) k0++;
      if (k0 === old.length) return;
      let grew = false;
      // Units of one head share their arrays: merge each distinct pair once.
      const memo = new Map<readonly number[], Map<readonly number[], number[]>>();
      const merged = existing.images.map((img, k) => {
        const add = images[k]!;
        if (add === img || add.length === 0) return img;
        if (add.length === 1 && img.length === 1 && add[0] === img[0]) return img;
        // Images are sorted: a unit's own index joining its head's indices gives the head's array.
        if (img.length < add.length && img.every((i) => sortedHas(add, i))) {
          grew = true;
          return add;
        }
        const byAdd = memo.get(img) ?? new Map<readonly number[], number[]>();
        memo.set(img, byAdd);
        let out = byAdd.get(add);
        if (!out) {
          const have = img.length > 8 ? new Set(img) : undefined;
          const more = add.filter((i) => !(have ? have.has(i) : img.includes(i)));
          out = more.length === 0 ? img : intern([...img, ...more].sort((a, b) => a - b));
          byAdd.set(add, out);
        }
        if (out !== img) grew = true;
        return out;
      });
      if (grew) {
        existing.images = merged;
        queue.push(existing);
      }
    };
    let steps = 0;
    try {
      add(layer.root, Array.from({ length: units }, (_, k) => single(k)), undefined);
      while (queue.length) {
        const m = queue.shift()!;
        if (++steps > 200_000) throw new Refusal(undefined, 'the dependency analysis did not settle');
        if (!m.pseudo) {
          const t = this.g.tensor(m.slot.tensor);
          if (t.input) throw new Refusal(undefined, `it reaches the graph input '${t.name}'`);
          if (t.output) throw new Refusal(undefined, `it reaches the graph output '${t.name}'`);
          const host = this.captured.get(t.name);
          if (host) throw new Refusal(host, `'${t.name}' is read inside a subgraph, whose nodes the dependency analysis does not follow`);
        }
        const positions = m.pseudo ? [{ node: creators.get(m.slot.tensor)!, pos: { slot: m.slot, side: 'out' as const, index: -1 } }] : this.positions(m);
        for (const { node, pos } of positions) {
          if (node.graph !== '') throw new Refusal(node, `'${m.slot.tensor}' is used inside the subgraph of node '${node.name}'`);
          const rule = ruleFor(node.op);
          if (!rule) throw new Refusal(node, `${node.op} is not covered by the dependency rules`);
          let res;
          try {
            res = rule(node, ctx, pos);
          } catch (e) {
            if (e instanceof Refusal && !e.node) throw new Refusal(node, e.message);
            throw e;
          }
          if (res.approximate && !group.approximate.includes(res.approximate)) group.approximate.push(res.approximate);
          for (const link of res.links) {
            let to: Slot;
            let map: IndexMap;
            if ('resolve' in link) {
              const r = link.resolve(m.images);
              if (!r) continue;
              ({ to, map } = r);
            } else ({ to, map } = link);
            if (typeof to.tensor !== 'string' || to.tensor === '') throw new Refusal(node, 'a node lacks an input or output its rule needs');
            const images = mapImages(m.images, map);
            const idx = node.inputs.indexOf(to.tensor);
            if (to.tensor.startsWith('#') && !creators.has(to.tensor)) creators.set(to.tensor, node);
            add(to, images, idx >= 0 ? { node, index: idx } : undefined);
          }
        }
      }
    } catch (e) {
      if (e instanceof Refusal) return refuse(e);
      throw e;
    }
    group.classes = unitClasses(members, units);
    return group;
  }
}

/**
 * One array per distinct image (by content), for the analysis of one model: units of a head or a
 * conv group then share theirs, and the per-array memos above work. Singletons are shared already.
 */
let interned = new Map<number, number[][]>();
function intern(img: number[]): number[] {
  if (img.length <= 1) return img;
  let h = img.length | 0;
  for (const x of img) h = (Math.imul(h ^ x, 0x01000193) + 0x9e3779b9) | 0;
  const bucket = interned.get(h);
  if (!bucket) {
    interned.set(h, [img]);
    return img;
  }
  for (const b of bucket) if (b.length === img.length && b.every((x, i) => x === img[i])) return b;
  bucket.push(img);
  return img;
}

/** ONNX data types the writer can encode (a corrupted file may name others). */
const WRITABLE = new Set([1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16]);

/**
 * A member's slot must be a known axis of a known shape, its indices on that axis, and a constant
 * must be of a type the writer can slice: a corrupted model can break each (explicit checks).
 */
function checkSlot(g: Graph, shapes: Shapes, slot: Slot, images: ReadonlyArray<readonly number[]>, constant: boolean): void {
  const dims = shapes.shape.get(slot.tensor);
  if (!dims) throw new Refusal(undefined, `the shape of '${slot.tensor}' is not known (${shapes.unknown.get(slot.tensor) ?? 'not computed in the main graph'})`);
  const size = dims[slot.axis];
  if (!Number.isInteger(slot.axis) || size === undefined) throw new Refusal(undefined, `axis ${slot.axis} is not an axis of '${slot.tensor}' [${dims}]`);
  if (images.some((img) => img.length > 0 && (img[img.length - 1]! >= size || img[0]! < 0))) throw new Refusal(undefined, `an index map runs past axis ${slot.axis} of '${slot.tensor}' (size ${size})`);
  const type = shapes.dtype.get(slot.tensor) ?? g.tensors.get(slot.tensor)?.stored?.dataType;
  if (constant && type !== undefined && !WRITABLE.has(type)) throw new Refusal(undefined, `'${slot.tensor}' is stored as ONNX type ${type}, which the writer does not slice`);
}

/** Binary search in a sorted image. */
function sortedHas(a: readonly number[], x: number): boolean {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = a[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Every unit's image through a map; the same array when nothing moves (shape-preserving ops). */
function mapImages(images: number[][], map: IndexMap): number[][] {
  if (map === identity) return images;
  let out: number[][] | undefined;
  // Units of one head or conv group share their image: map each distinct array once, and share the result.
  const memo = new Map<readonly number[], number[]>();
  for (let k = 0; k < images.length; k++) {
    const img = images[k]!;
    let r = memo.get(img);
    if (!r) {
      r = intern(mapImage(img, map));
      memo.set(img, r);
    }
    if (!out) {
      if (r === images[k]) continue;
      out = images.slice(0, k);
    }
    out.push(r);
  }
  return out ?? images;
}

/** The indices an image maps to (sorted, without repeats). */
function mapImage(img: readonly number[], map: IndexMap): number[] {
  if (img.length === 1) {
    const out = map(img[0]!);
    if (out.length <= 1) return out;
    for (let k = 1; k < out.length; k++) if (out[k]! <= out[k - 1]!) return [...new Set(out)].sort((a, b) => a - b);
    return out;
  }
  // Maps that move each index to at most one, in order (offsets, permutations that keep order): no sort.
  const out: number[] = [];
  for (const i of img) {
    const r = map(i);
    if (r.length === 0) continue;
    if (r.length > 1 || (out.length > 0 && r[0]! <= out[out.length - 1]!)) return [...new Set(img.flatMap(map))].sort((a, b) => a - b);
    out.push(r[0]!);
  }
  return out;
}

/** Union-find over root units: units sharing any member index go together. */
function unitClasses(members: ReadonlyMap<string, Member>, units: number): number[][] {
  const parent = Array.from({ length: units }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (const m of members.values()) {
    const owner = new Map<number, number>();
    const firstWith = new Map<readonly number[], number>(); // units sharing an image array are tied at once
    m.images.forEach((img, k) => {
      if (img.length === 0) return;
      const first = firstWith.get(img);
      if (first !== undefined) {
        parent[find(k)] = find(first);
        return;
      }
      firstWith.set(img, k);
      for (const j of img) {
        const o = owner.get(j);
        if (o === undefined) owner.set(j, k);
        else parent[find(k)] = find(o);
      }
    });
  }
  const classes = new Map<number, number[]>();
  for (let k = 0; k < units; k++) {
    const r = find(k);
    const c = classes.get(r);
    if (c) c.push(k);
    else classes.set(r, [k]);
  }
  return [...classes.values()];
}

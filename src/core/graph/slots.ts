/**
 * Slots and index maps, the vocabulary of the dependency analysis (spec: structured-pruning.md §1).
 * A slot is one axis of one tensor. A link between two slots says which indices of the second go
 * when an index of the first goes. Groups are closed under links; see dependency.ts.
 */
import type { GNode } from './graph.ts';
import type { Shapes } from './shapeInference.ts';
import type { Graph } from './graph.ts';

export interface Slot {
  tensor: string;
  axis: number;
}

export const slotKey = (s: Slot): string => `${s.axis}@${s.tensor}`;

/** Indices of the target slot tied to index i of the source slot. */
export type IndexMap = (i: number) => number[];

/** A link to another slot: fixed, or chosen from the images that reach it (reshapes). */
export type Link = { to: Slot; map: IndexMap } | { resolve(images: ReadonlyArray<readonly number[]>): { to: Slot; map: IndexMap } | undefined; what: string };

/** A symmetric relation between two slots of one node: a ↔ b with the map each way. */
export interface Relation {
  a: Slot;
  b: Slot;
  ab: IndexMap;
  ba: IndexMap;
}

const same = (x: Slot, y: Slot) => x.tensor === y.tensor && x.axis === y.axis;

/** The links from `at` given by relations (whichever end `at` is). */
export function fromRelations(at: Slot, relations: ReadonlyArray<Relation | undefined | false>): Link[] {
  const out: Link[] = [];
  for (const r of relations) {
    if (!r) continue;
    if (same(r.a, at)) out.push({ to: r.b, map: r.ab });
    else if (same(r.b, at)) out.push({ to: r.a, map: r.ba });
  }
  return out;
}

export const tie = (a: Slot, b: Slot, ab: IndexMap = identity, ba: IndexMap = identity): Relation => ({ a, b, ab, ba });

/** Where the slot being expanded sits on the node: one of its inputs, or one of its outputs. */
export interface Position {
  slot: Slot;
  side: 'in' | 'out';
  index: number;
}

export interface RuleContext {
  g: Graph;
  shapes: Shapes;
  /** The tensor's concrete shape; refuses the group when shape inference could not tell it. */
  shapeOf(tensor: string): number[];
  /** A small tensor's values, when known (constant or computed from constants and shapes). */
  valueOf(tensor: string): number[] | undefined;
  /** True for tensors computed from stored constants only (weights behind Identity or DequantizeLinear). */
  isConstant(tensor: string): boolean;
}

export interface RuleResult {
  links: Link[];
  /** Set when the op keeps the computation only approximately (normalisation statistics over the pruned axis). */
  approximate?: string;
}

/** A rule refuses the group: the op and why, named in the report. */
export class Refusal extends Error {
  constructor(
    readonly node: GNode | undefined,
    reason: string,
  ) {
    super(reason);
  }
}

export type ChannelRule = (n: GNode, ctx: RuleContext, at: Position) => RuleResult;

// ── index maps ──────────────────────────────────────────────────────────────────────────────

/**
 * One shared, frozen `[i]` per index: maps return these, so an image that maps onto itself is the
 * same array, and propagating a group through shape-preserving ops allocates nothing.
 */
const singles: Array<readonly number[]> = [];
export function single(i: number): number[] {
  let s = singles[i];
  if (!s) {
    for (let k = singles.length; k <= i; k++) singles.push(Object.freeze([k]));
    s = singles[i]!;
  }
  return s as number[];
}
const NONE: number[] = Object.freeze([]) as unknown as number[];

export const identity: IndexMap = (i) => single(i);

export function offset(by: number, size: number): IndexMap {
  return (i) => (i + by >= 0 && i + by < size ? single(i + by) : NONE);
}

/** i ↦ [i·q, (i+1)·q): a unit expands into a block (a depthwise multiplier, a flattened channel). */
export function expand(q: number): IndexMap {
  checkBlock(q);
  return (i) => Array.from({ length: q }, (_, k) => i * q + k);
}

/** j ↦ j div q: a block collapses into its unit (the inverse of `expand`). */
export function collapse(q: number): IndexMap {
  checkBlock(q);
  return (j) => single(Math.floor(j / q));
}

/** A block size from a model's attributes and shapes: a positive integer (a corrupted file may say otherwise). */
function checkBlock(q: number): void {
  // A flattened channel of a million positions is already far past any Dense layer's input.
  if (!Number.isSafeInteger(q) || q < 1 || q > 1 << 20) throw new Refusal(undefined, `a block of ${q} indices per unit is more than PruneScope follows`);
}

export function permutation(p: readonly number[]): IndexMap {
  return (i) => single(p[i]!);
}

export const links = (...ls: Array<Link | undefined | false>): RuleResult => ({ links: ls.filter((l): l is Link => !!l) });

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/**
 * The common refinement of two shapes of the same data (a Reshape's input and output): "atoms",
 * digits of the flat index, from the least significant. Each axis of either shape is a run of
 * consecutive atoms. Undefined when the shapes do not share digit boundaries (the data is
 * regrouped across axes in a way no slab survives, e.g. [2, 3] → [3, 2]).
 */
export interface Atoms {
  /** Atom sizes, least significant first. */
  sizes: number[];
  /** For each axis of the input / output shape, its atoms (ascending). */
  inAxes: number[][];
  outAxes: number[][];
}

export function atomsOf(inShape: readonly number[], outShape: readonly number[]): Atoms | undefined {
  const bounds = (shape: readonly number[]) => {
    const b: number[] = [1];
    for (let i = shape.length - 1; i >= 0; i--) b.push(b.at(-1)! * shape[i]!);
    return b;
  };
  const bi = bounds(inShape);
  const bo = bounds(outShape);
  if (bi.at(-1) !== bo.at(-1)) return undefined;
  const all = [...new Set([...bi, ...bo])].sort((x, y) => x - y);
  for (let k = 1; k < all.length; k++) if (all[k]! % all[k - 1]! !== 0) return undefined;
  const sizes = all.slice(1).map((b, k) => b / all[k]!);
  const axesOf = (shape: readonly number[], b: number[]) =>
    shape.map((_, axis) => {
      const lo = b[shape.length - 1 - axis]!;
      const hi = b[shape.length - axis]!;
      const out: number[] = [];
      for (let k = 0; k < sizes.length; k++) if (all[k]! >= lo && all[k + 1]! <= hi) out.push(k);
      return out;
    });
  return { sizes, inAxes: axesOf(inShape, bi), outAxes: axesOf(outShape, bo) };
}

/** The digits of index i of an axis made of `atoms` (ascending), keyed by atom. */
function digits(i: number, atoms: readonly number[], sizes: readonly number[]): Map<number, number> {
  const d = new Map<number, number>();
  for (const a of atoms) {
    d.set(a, i % sizes[a]!);
    i = Math.floor(i / sizes[a]!);
  }
  return d;
}

/** Indices of an axis made of `atoms` whose digits on `fixed` atoms equal `want` (all others free). */
function indicesWith(atoms: readonly number[], sizes: readonly number[], want: ReadonlyMap<number, number>): number[] {
  if (atoms.every((a) => want.has(a) || sizes[a] === 1)) {
    // Every digit fixed: one index.
    let i = 0;
    let scale = 1;
    for (const a of atoms) {
      i += (want.get(a) ?? 0) * scale;
      scale *= sizes[a]!;
    }
    return single(i);
  }
  let count = 1;
  for (const a of atoms) if (!want.has(a)) count *= sizes[a]!;
  if (count > 1 << 20) throw new Refusal(undefined, `a reshape would tie ${count} indices to one unit`);
  let out = [0];
  let scale = 1;
  for (const a of atoms) {
    const n = sizes[a]!;
    const values = want.has(a) ? [want.get(a)!] : Array.from({ length: n }, (_, v) => v);
    const next: number[] = [];
    for (const base of out) for (const v of values) next.push(base + v * scale);
    out = next;
    scale *= n;
  }
  return out.sort((x, y) => x - y);
}

/**
 * Where the units of axis `a` (images: per unit, its indices on a) land when the data is viewed
 * as `outShape`. The atoms the images fix (do not fill completely) must all lie in one output
 * axis b; then an index maps to the indices of b with the same digits on those atoms, and back.
 * When the fixed atoms spread over several output axes, only one is kept (units sharing it are
 * tied): the largest but the least significant (whole heads, each with its q, k, v units). Undefined when no axis fits.
 */
export function reshapeLink(inShape: readonly number[], a: number, outShape: readonly number[], images: ReadonlyArray<readonly number[]>): { b: number; forward: IndexMap; backward: IndexMap } | undefined {
  const at = atomsOf(inShape, outShape);
  if (!at) return undefined;
  const mine = at.inAxes[a]!;
  const sizes = at.sizes;
  // An atom is free when every image holds, with each of its indices, all values of that digit.
  // Digit `atom` of index i has stride Π sizes of the atoms of `mine` below it.
  const stride = new Map<number, number>();
  let acc = 1;
  for (const x of mine) {
    stride.set(x, acc);
    acc *= sizes[x]!;
  }
  const distinct = [...new Set(images)]; // units of a head share one array
  const free = (atom: number) => {
    const st = stride.get(atom)!;
    const n = sizes[atom]!;
    return distinct.every((img) => {
      if (img.length === 0) return true; // a unit with no index here constrains nothing
      if (img.length % n !== 0) return false;
      // Free on this atom: the image is a union of whole fibres (every value of the digit, the
      // other digits fixed). Small images are checked fibre by fibre; large ones by counting each
      // fibre's members (images hold no repeats), which stays linear.
      if (img.length * n <= 4096) {
        const set = img.length > 8 ? new Set(img) : undefined;
        const has = (j: number) => (set ? set.has(j) : img.includes(j));
        return img.every((i) => {
          const base = i - (Math.floor(i / st) % n) * st;
          for (let v = 0; v < n; v++) if (!has(base + v * st)) return false;
          return true;
        });
      }
      const count = new Map<number, number>();
      for (const i of img) {
        const base = i - (Math.floor(i / st) % n) * st;
        count.set(base, (count.get(base) ?? 0) + 1);
      }
      for (const c of count.values()) if (c !== n) return false;
      return true;
    });
  };
  let fixed = mine.filter((x) => sizes[x]! > 1 && !free(x));
  if (fixed.length === 0) return undefined;
  let b = at.outAxes.findIndex((ax) => fixed.every((x) => ax.includes(x)));
  if (b < 0) {
    // Heads: of the fixed atoms but the least significant (the head dim), the largest, the most
    // significant on a tie. [3·8·15] → (qkv 3, heads 8, dim 15) keeps the 8 heads, each with its
    // q, k and v units; [heads·dim] keeps the heads.
    const outer = fixed.slice(1);
    const pick = outer.reduce((best, x) => (sizes[x]! > sizes[best]! || (sizes[x]! === sizes[best]! && x > best) ? x : best), outer[0]!);
    fixed = [pick];
    b = at.outAxes.findIndex((ax) => ax.includes(fixed[0]!));
  }
  const key = `${inShape}|${a}|${outShape}|${fixed}|${b}`;
  const known = reshapeMaps.get(key);
  if (known) return known;
  const theirs = at.outAxes[b]!;
  const project = (i: number, atoms: readonly number[]) => {
    const d = digits(i, atoms, sizes);
    return new Map(fixed.map((x) => [x, d.get(x)!]));
  };
  // Memoised per index: a group passes the same Reshape many times.
  const memo = (fn: IndexMap): IndexMap => {
    const seen: number[][] = [];
    return (i) => (seen[i] ??= fn(i));
  };
  const link = {
    b,
    forward: memo((i) => indicesWith(theirs, sizes, project(i, mine))),
    backward: memo((j) => indicesWith(mine, sizes, project(j, theirs))),
  };
  reshapeMaps.set(key, link);
  return link;
}

/** Reshape maps already built (a group passes the same Reshape many times; heads repeat per layer). */
const reshapeMaps = new Map<string, { b: number; forward: IndexMap; backward: IndexMap }>();

/** Frees the Reshape maps (after a model's analysis). */
export function clearReshapeMaps(): void {
  reshapeMaps.clear();
}

/**
 * From the units each group gives up to the edits that remove them (spec §3), format-neutral:
 * - every member loses the indices its images give for the removed units;
 * - a stored constant is sliced in place when all its uses are cut alike, else copied per use;
 *   a constant that is computed (Identity, Cast(ConstantOfShape) zero points) is materialised,
 *   sliced, as a new stored tensor; DequantizeLinear weights are cut in their quantized source;
 * - `group` of depthwise and grouped convs, GroupNormalization's `num_groups`, Split sizes and
 *   constant Slice bounds follow the new sizes;
 * - the shape arithmetic is checked by running shape inference on the edited graph: a Reshape
 *   whose computed target no longer fits gets a constant one (0 and -1 keep the dims that follow
 *   the inputs' sizes); anything else that no longer fits refuses its groups.
 */
import { attrInt, type GNode, Graph } from './graph.ts';
import type { DependencyGraph, Group, Member } from './dependency.ts';
import { inferShapes, type Shapes, sliceRanges } from './shapeInference.ts';
import { slotKey } from './slots.ts';
import { gatherAxes } from '../tensor/axes.ts';

export interface NewTensor {
  dims: number[];
  /** ONNX TensorProto.DataType. */
  dataType: number;
  values: ArrayLike<number>;
}

export interface GraphEdits {
  /** Stored tensors with new values, in place (a Constant node's becomes an initializer of the same name). */
  replace: Map<string, NewTensor>;
  /** New stored tensors: per-use copies, materialised constants, new shape and split operands. */
  add: Map<string, NewTensor>;
  /** Node input rewiring: node index → input index → tensor name. */
  rewire: Map<number, Map<number, string>>;
  /** Attribute updates: node index → name → value. */
  attrs: Map<number, Record<string, number | number[]>>;
  /** Tensors whose shape changes (stale value_info). */
  changed: Set<string>;
  /** Nodes left without a use by the rewiring (the subgraphs that computed materialised constants). */
  dropNodes: Set<number>;
  /** Stored tensors left without a use. */
  dropStored: Set<string>;
}

/** What a group gives up: class indices into group.classes. */
export interface Cut {
  group: Group;
  remove: readonly number[];
}

export interface PruneOutcome {
  edits: GraphEdits;
  /** Groups refused while applying (the shape arithmetic could not follow), with why. */
  refused: Array<{ group: Group; reason: string }>;
  /** Shapes of the pruned graph. */
  shapes: Shapes;
}

const INT64 = 7;

/** Removed indices of each member, as the union over the removed classes' units. */
function removedIndices(m: Member, group: Group, remove: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (const c of remove) for (const unit of group.classes[c]!) for (const j of m.images[unit]!) out.add(j);
  return out;
}

const keepOf = (size: number, removed: ReadonlySet<number>) => Array.from({ length: size }, (_, i) => i).filter((i) => !removed.has(i));

/** Where constant values come from (ConstantValues, or it with some tensors replaced: spectral compensation). */
export interface ValueSource {
  read(name: string): Float64Array | undefined;
}

export function planGroupEdits(dg: DependencyGraph, cuts: readonly Cut[], values: ValueSource, shapes2: Shapes): PruneOutcome {
  let active = cuts.filter((c) => c.remove.length > 0);
  const refused: PruneOutcome['refused'] = [];
  for (let round = 0; round < 8; round++) {
    const attempt = tryEdits(dg, active, values, shapes2);
    if (attempt.problems.length === 0) return { edits: attempt.edits, refused, shapes: attempt.shapes };
    const bad = new Set<Group>();
    for (const p of attempt.problems) {
      for (const c of active) if (p.tensors.some((t) => [...c.group.members.values()].some((m) => m.slot.tensor === t))) bad.add(c.group);
      if (bad.size === 0) for (const c of active) bad.add(c.group); // cannot tell which: give up on all
      for (const gr of bad) if (!refused.some((r) => r.group === gr)) refused.push({ group: gr, reason: p.reason });
    }
    active = active.filter((c) => !bad.has(c.group));
  }
  const last = tryEdits(dg, [], values, shapes2);
  return { edits: last.edits, refused, shapes: last.shapes };
}

interface Attempt {
  edits: GraphEdits;
  shapes: Shapes;
  problems: Array<{ tensors: string[]; reason: string }>;
}

function tryEdits(dg: DependencyGraph, cuts: readonly Cut[], values: ValueSource, shapes2: Shapes): Attempt {
  const g = dg.g;
  const shapes = dg.shapes;
  const edits: GraphEdits = { replace: new Map(), add: new Map(), rewire: new Map(), attrs: new Map(), changed: new Set(), dropNodes: new Set(), dropStored: new Set() };
  // Activation slots: removed indices per (tensor, axis), merged over groups (Concat outputs hold several).
  const activation = new Map<string, { tensor: string; axis: number; removed: Set<number> }>();
  // Constants: per tensor, per use ('*' = every matrix use), per axis: removed indices.
  const constant = new Map<string, Map<string, Map<number, Set<number>>>>();
  for (const { group, remove } of cuts) {
    for (const m of group.members.values()) {
      if (m.pseudo) continue;
      const removed = removedIndices(m, group, remove);
      if (removed.size === 0) continue;
      if (!m.constant) {
        const k = slotKey(m.slot);
        const a = activation.get(k) ?? { tensor: m.slot.tensor, axis: m.slot.axis, removed: new Set<number>() };
        for (const i of removed) a.removed.add(i);
        activation.set(k, a);
        continue;
      }
      const uses = constant.get(m.slot.tensor) ?? new Map<string, Map<number, Set<number>>>();
      const useKey = m.use ? `${m.use.node.index}:${m.use.index}` : '*';
      const axes = uses.get(useKey) ?? new Map<number, Set<number>>();
      const set = axes.get(m.slot.axis) ?? new Set<number>();
      for (const i of removed) set.add(i);
      axes.set(m.slot.axis, set);
      uses.set(useKey, axes);
      constant.set(m.slot.tensor, uses);
    }
  }
  const rewire = (n: GNode, index: number, to: string) => {
    const r = edits.rewire.get(n.index) ?? new Map<number, string>();
    r.set(index, to);
    edits.rewire.set(n.index, r);
  };
  const sliced = (name: string, axes: ReadonlyMap<number, Set<number>>): NewTensor => {
    const dims = shapes.shape.get(name)!;
    const keep = new Map([...axes].map(([a, r]) => [a, keepOf(dims[a]!, r)]));
    const newDims = dims.map((d, a) => keep.get(a)?.length ?? d);
    // The values are gathered when first read: a trial cut, and shape inference, only need the dims.
    let cached: ArrayLike<number> | undefined;
    return {
      dims: newDims,
      dataType: shapes.dtype.get(name) ?? g.tensor(name).stored?.dataType ?? 1,
      get values() {
        if (!cached) {
          const v = values.read(name);
          if (!v) throw new RangeError(`constant '${name}' has no readable values`);
          cached = gatherAxes(v, dims, keep).values;
        }
        return cached;
      },
    };
  };
  const sameSpec = (a: ReadonlyMap<number, Set<number>>, b: ReadonlyMap<number, Set<number>>) =>
    a.size === b.size && [...a].every(([axis, s]) => b.has(axis) && b.get(axis)!.size === s.size && [...s].every((i) => b.get(axis)!.has(i)));

  for (const [name, uses] of constant) {
    const t = g.tensor(name);
    // A DequantizeLinear output is recomputed from its (cut) sources: nothing to write for it.
    if (!t.stored && t.producer?.op === 'DequantizeLinear') continue;
    const consumers = t.consumers.filter((u) => u.node.graph === '');
    const specOf = (u: { node: GNode; index: number }) => uses.get(`${u.node.index}:${u.index}`) ?? (dg.matrixUses(name).some((x) => x.node === u.node && x.index === u.index) ? uses.get('*') : undefined);
    const specs = consumers.map((u) => ({ u, spec: specOf(u) ?? new Map<number, Set<number>>() }));
    const first = specs[0]?.spec;
    const allAlike = first !== undefined && specs.every((s) => sameSpec(s.spec, first));
    if (t.stored && allAlike && !t.output) {
      edits.replace.set(name, sliced(name, first!));
      edits.changed.add(name);
      continue;
    }
    // Per use: a sliced copy for each use that is cut; the others keep the original.
    for (const { u, spec } of specs) {
      if (spec.size === 0) continue;
      const copy = `${name}__pruned_${u.node.index}_${u.index}`;
      edits.add.set(copy, sliced(name, spec));
      rewire(u.node, u.index, copy);
    }
  }

  // New shapes of activations (shape inference on the edited graph is the check below).
  const expected = new Map<string, number[]>();
  for (const a of activation.values()) {
    const s = [...(expected.get(a.tensor) ?? shapes.shape.get(a.tensor)!)];
    s[a.axis] = s[a.axis]! - a.removed.size;
    expected.set(a.tensor, s);
    edits.changed.add(a.tensor);
  }
  const newShape = (t: string) => expected.get(t) ?? shapes.shape.get(t);

  // Attributes and operands that follow the new sizes.
  for (const n of g.nodes) {
    if (n.graph !== '') continue;
    const x = n.inputs[0];
    if (!x || !shapes.shape.has(x)) continue;
    const oldIn = shapes.shape.get(x)!;
    const nowIn = newShape(x)!;
    if ((n.op === 'Conv' || n.op === 'ConvTranspose') && attrInt(n, 'group', 1) > 1 && nowIn[1] !== oldIn[1]) {
      const g0 = attrInt(n, 'group', 1);
      setAttr(edits, n, 'group', g0 === oldIn[1] ? nowIn[1]! : (g0 * nowIn[1]!) / oldIn[1]!);
    }
    if (n.op === 'GroupNormalization' && nowIn[1] !== oldIn[1]) setAttr(edits, n, 'num_groups', (attrInt(n, 'num_groups', 1) * nowIn[1]!) / oldIn[1]!);
    if (n.op === 'Split') splitSizes(g, n, edits, newShape, rewire);
    if (n.op === 'Slice') sliceBounds(g, n, edits, shapes, activation, rewire);
  }

  // Shape arithmetic: infer the edited graph; fix computed Reshape targets that no longer fit.
  const problems: Attempt['problems'] = [];
  let pruned = inferEdited(g, edits, shapes);
  for (let pass = 0; ; pass++) {
    const { first: bad, all } = mismatches(g, expected, shapes, pruned);
    if (bad.length === 0) break;
    if (pass > 256) {
      problems.push({ tensors: bad, reason: `the shape arithmetic did not settle at '${bad[0]}'` });
      break;
    }
    let fixed = false;
    // Further down, Reshapes of pruned activations (one per layer in a transformer) are fixed in the
    // same pass when their constant target can be worked out, instead of one layer per pass.
    for (const t of all) {
      const p = g.tensor(t).producer;
      if (bad.includes(t) || !expected.has(t) || !p || p.op !== 'Reshape' || edits.rewire.get(p.index)?.has(1)) continue;
      const target = reshapeTarget(p, shapes, shapes2, newShape);
      if (typeof target === 'string') continue; // decided when it is a first failure
      const name = `${p.name}__pruned_shape`;
      edits.add.set(name, { dims: [target.length], dataType: INT64, values: target });
      rewire(p, 1, name);
    }
    for (const t of bad) {
      const p = g.tensor(t).producer;
      if (p && p.op === 'Reshape' && !edits.rewire.get(p.index)?.has(1)) {
        const target = reshapeTarget(p, shapes, shapes2, newShape);
        if (typeof target === 'string') problems.push({ tensors: [t, p.inputs[0]!], reason: `the shape arithmetic of Reshape '${p.name}' cannot follow the pruned sizes: ${target}` });
        else {
          const name = `${p.name}__pruned_shape`;
          edits.add.set(name, { dims: [target.length], dataType: INT64, values: target });
          rewire(p, 1, name);
          fixed = true;
        }
      } else problems.push({ tensors: [t, ...(p ? p.inputs : [])], reason: `'${t}' would not have its pruned shape${p ? ` after ${p.op} '${p.name}'` : ''} (${pruned.unknown.get(t) ?? `[${pruned.shape.get(t)}] instead of [${newShape(t)}]`})` });
    }
    if (problems.length || !fixed) break;
    pruned = inferEdited(g, edits, shapes);
  }
  for (const [t, s] of pruned.shape) if (shapes.shape.get(t)?.join() !== s.join()) edits.changed.add(t);
  dropDead(g, edits);
  return { edits, shapes: pruned, problems };
}

/** Nodes and stored tensors that the rewiring left without a use (graph outputs always stay). */
function dropDead(g: Graph, edits: GraphEdits): void {
  const uses = new Map<string, number>();
  const inputsOf = (n: GNode) => n.inputs.map((x, i) => edits.rewire.get(n.index)?.get(i) ?? x);
  for (const n of g.nodes) if (n.graph === '') for (const x of inputsOf(n)) if (x) uses.set(x, (uses.get(x) ?? 0) + 1);
  for (const n of g.nodes) if (n.graph !== '') for (const x of n.inputs) if (x) uses.set(x, (uses.get(x) ?? 0) + 1); // subgraphs read outer names
  const used = (t: string) => (uses.get(t) ?? 0) > 0 || g.tensors.get(t)?.output === true;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.graph !== '' || n.outputs.some((o) => o && used(o))) continue;
    if (!['Constant', 'ConstantOfShape', 'Cast', 'Identity', 'Shape', 'Gather', 'Unsqueeze', 'Concat', 'Mul', 'Div', 'Add', 'Sub', 'Slice', 'Squeeze', 'Reshape', 'DequantizeLinear'].includes(n.op)) continue;
    edits.dropNodes.add(n.index);
    for (const x of inputsOf(n)) if (x) uses.set(x, uses.get(x)! - 1);
  }
  for (const t of g.tensors.values()) if (t.stored && !t.producer && !used(t.name)) edits.dropStored.add(t.name);
  for (const name of [...edits.add.keys()]) if (!used(name)) edits.add.delete(name);
}

function setAttr(edits: GraphEdits, n: GNode, name: string, value: number | number[]): void {
  edits.attrs.set(n.index, { ...(edits.attrs.get(n.index) ?? {}), [name]: value });
}

function splitSizes(g: Graph, n: GNode, edits: GraphEdits, newShape: (t: string) => number[] | undefined, rewire: (n: GNode, i: number, to: string) => void): void {
  const x = n.inputs[0]!;
  const r = newShape(x)!.length;
  const raw = attrInt(n, 'axis', 0);
  const axis = raw < 0 ? raw + r : raw;
  const sizes = n.outputs.map((o) => newShape(o)![axis]!);
  const old = n.outputs.map((o) => g.tensors.get(o) && newShape(o)) ;
  void old;
  if (g.opset >= 13) {
    if (!n.inputs[1]) return; // equal parts: they follow the input
    const name = `${n.name}__pruned_split`;
    edits.add.set(name, { dims: [sizes.length], dataType: INT64, values: sizes });
    rewire(n, 1, name);
  } else if (n.attrs['split']) setAttr(edits, n, 'split', sizes);
}

/** Constant Slice bounds on a pruned axis: shifted by the removed indices below each bound. */
function sliceBounds(g: Graph, n: GNode, edits: GraphEdits, shapes: Shapes, activation: ReadonlyMap<string, { removed: Set<number> }>, rewire: (n: GNode, i: number, to: string) => void): void {
  const x = n.inputs[0]!;
  const xs = shapes.shape.get(x)!;
  if (g.opset < 10) return; // attribute form: rare in exports PruneScope meets; the check below refuses if it matters
  const [starts, ends] = [shapes.value.get(n.inputs[1]!), shapes.value.get(n.inputs[2]!)];
  const axes = n.inputs[3] ? shapes.value.get(n.inputs[3]) : undefined;
  const steps = n.inputs[4] ? shapes.value.get(n.inputs[4]) : undefined;
  if (!starts || !ends) return;
  const ranges = sliceRanges(xs, starts, ends, axes, steps);
  let changed = false;
  const ns = [...starts];
  const ne = [...ends];
  ranges.forEach((rg, i) => {
    const removed = activation.get(slotKey({ tensor: x, axis: rg.axis }))?.removed;
    if (!removed || removed.size === 0 || rg.step !== 1) return;
    // Only constant bounds are rewritten; computed ones (torch's chunk of a fused QKV) follow the shapes.
    if (!g.tensor(n.inputs[1]!).stored && !g.tensor(n.inputs[1]!).producer?.op.startsWith('Constant')) return;
    const below = (b: number) => [...removed].filter((k) => k < b).length;
    ns[i] = rg.start - below(rg.start);
    ne[i] = rg.start + rg.count - below(rg.start + rg.count);
    changed = true;
  });
  if (!changed) return;
  edits.add.set(`${n.name}__pruned_starts`, { dims: [ns.length], dataType: INT64, values: ns });
  edits.add.set(`${n.name}__pruned_ends`, { dims: [ne.length], dataType: INT64, values: ne });
  rewire(n, 1, `${n.name}__pruned_starts`);
  rewire(n, 2, `${n.name}__pruned_ends`);
}

/** Shape inference on the graph with the edits applied. */
export function inferEdited(g: Graph, edits: GraphEdits, shapes: Shapes): Shapes {
  const nodes = g.nodes.map((n) => {
    const r = edits.rewire.get(n.index);
    const a = edits.attrs.get(n.index);
    return r || a ? { ...n, inputs: n.inputs.map((x, i) => r?.get(i) ?? x), attrs: { ...n.attrs, ...a } } : n;
  });
  const stored = (name: string) => {
    const nt = edits.replace.get(name) ?? edits.add.get(name);
    if (nt) return { dtype: 'float64' as const, dims: nt.dims, dataType: nt.dataType, origin: 'initializer' as const, read: () => Float64Array.from(nt.values) };
    return g.tensors.get(name)?.stored;
  };
  const edited = new Graph(nodes, g.inputs, g.outputs, stored, [], g.opset);
  const inputs = new Map(g.inputs.map((i) => [i.name, shapes.shape.get(i.name)!]));
  return inferShapes(edited, { inputs });
}

/** Tensors whose pruned shape is not the expected one (or could not be inferred). */
function mismatches(g: Graph, expected: ReadonlyMap<string, number[]>, before: Shapes, after: Shapes): { first: string[]; all: string[] } {
  const all: string[] = [];
  for (const t of g.tensors.keys()) {
    if (!before.shape.has(t)) continue;
    const want = expected.get(t);
    const got = after.shape.get(t);
    if (!got) all.push(t);
    else if (want && want.join() !== got.join()) all.push(t);
  }
  // Only the first failures are decided on: later ones may follow from them.
  const bad = new Set(all);
  const first = all.filter((t) => {
    const p = g.tensor(t).producer;
    return !p || !p.inputs.some((i) => bad.has(i));
  });
  return { first, all };
}

/**
 * A constant target for a Reshape whose computed one no longer fits: dims that follow the inputs'
 * sizes (they differ between two assignments of the input dims) become 0 (copied from the same
 * axis of the data) or -1 (the one inferred dim); the others are the new sizes.
 */
function reshapeTarget(n: GNode, shapes: Shapes, shapes2: Shapes, newShape: (t: string) => number[] | undefined): number[] | string {
  const x = n.inputs[0]!;
  const y = n.outputs[0]!;
  const want = newShape(y)!;
  const t1 = shapes.value.get(n.inputs[1]!);
  const t2 = shapes2.value.get(n.inputs[1]!);
  const y1 = shapes.shape.get(y)!;
  const y2 = shapes2.shape.get(y);
  const x1 = shapes.shape.get(x)!;
  const x2 = shapes2.shape.get(x);
  const nx = newShape(x)!;
  if (!t1 || !y2 || !x2) return 'its target could not be evaluated for a second input size';
  const allowZero = attrInt(n, 'allowzero', 0) === 1;
  let minus = false;
  const out: number[] = [];
  for (let i = 0; i < want.length; i++) {
    const dynamic = y1[i] !== y2[i] || (t2 !== undefined && t1[i] !== t2[i]);
    if (!dynamic) {
      out.push(want[i]!);
      continue;
    }
    if (!allowZero && i < x1.length && y1[i] === x1[i] && y2[i] === x2[i] && want[i] === nx[i]) out.push(0);
    else if (!minus) {
      out.push(-1);
      minus = true;
    } else return `dims ${out.length} and more follow the inputs' sizes in ways one constant cannot say`;
  }
  return out;
}

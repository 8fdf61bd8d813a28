/**
 * Node (structured) pruning of an ONNX model over its dependency groups: the graph is analysed
 * once (shapes for two input sizes, groups, importance), the planner picks each group's units to
 * remove, and the group edits become ONNX writer edits. Every weight layer gets a report row: its
 * group, whether its own outputs were cut, coupled, approximate or refused, and why.
 */
import type { Checkpoint } from '../../checkpoint.ts';
import { ConstantValues } from '../../graph/constantValues.ts';
import { DependencyGraph, type Group } from '../../graph/dependency.ts';
import type { Graph } from '../../graph/graph.ts';
import { type EnergyCache, groupImportance } from '../../graph/importance.ts';
import { type ResolvedInputs, resolveInputDims } from '../../graph/inputDims.ts';
import { onnxGraph } from '../../graph/onnxGraph.ts';
import { type Cut, type GraphEdits, planGroupEdits } from '../../graph/pruneGroups.ts';
import { inferShapes, type Shapes } from '../../graph/shapeInference.ts';
import type { PlannedGroup } from './groupPlanner.ts';

export interface StructureAnalysis {
  g: Graph;
  shapes: Shapes;
  /** The same graph with every defaulted input dim doubled (tells computed shape values that follow the input sizes). */
  shapes2: Shapes;
  dg: DependencyGraph;
  values: ConstantValues;
  inputs: ResolvedInputs;
  /** Groups that can give something up (not refused, at least two units, edits that apply), scored. */
  planned: Array<PlannedGroup & { group: Group }>;
  /** Groups the rules accept whose edits do not apply (the shape arithmetic cannot follow), with why. */
  late: Map<number, string>;
  /**
   * Bytes of graph structure the edits drop (shape arithmetic that a constant Reshape target
   * replaces, dead constants that are not weights) less the small tensors they add, measured on
   * the trial cut: what the file shrinks by besides the weights once the groups are cut.
   */
  graphBytesSaved: number;
  /** Milliseconds the analysis took (shape inference, groups, scores). */
  ms: number;
}

export function analyseStructure(ck: Checkpoint, inputShapes: ReadonlyArray<{ name: string | null; dims: number[] }> = []): StructureAnalysis {
  const t0 = performance.now();
  const g = onnxGraph(ck);
  const inputs = resolveInputDims(g, inputShapes);
  const shapes = inferShapes(g, { inputs: inputs.dims });
  const shapes2 = inferShapes(g, { inputs: resolveInputDims(g, inputShapes, 2).dims });
  const dg = new DependencyGraph(g, shapes);
  const values = new ConstantValues(g, shapes);
  const candidates = dg.groups.filter((gr) => !gr.refused && gr.classes.length > 1);
  // A trial cut (one unit of every group at once) finds the groups whose edits cannot apply, so
  // the planner, the preview and the export all work on the same set.
  const trial = planGroupEdits(dg, candidates.map((group) => ({ group, remove: [0] })), values, shapes2);
  const late = new Map(trial.refused.map((r) => [r.group.id, r.reason]));
  const cutConstants = new Set(ck.weights.map((w) => w.name));
  for (const gr of candidates) for (const m of gr.members.values()) if (m.constant) cutConstants.add(m.slot.tensor);
  const graphBytesSaved = structureBytesSaved(g, trial.edits, cutConstants);
  const energies: EnergyCache = new Map();
  const planned = candidates
    .filter((gr) => !late.has(gr.id))
    .map((group) => ({ id: group.id, group, classes: group.classes.length, scores: groupImportance(group, values, shapes, energies), paramsPerClass: paramsPerClass(group, shapes), layers: [...new Set(group.layers.map((l) => l.stored))] }));
  return { g, shapes, shapes2, dg, values, inputs, planned, late, graphBytesSaved, ms: performance.now() - t0 };
}

/** Protobuf overhead of a stored tensor besides its data (tags, dims, type, name). */
const tensorOverhead = (name: string, rank: number) => name.length + 8 + 2 * rank;

/** `sized`: weights and cut constants, whose bytes the preview counts tensor by tensor. */
function structureBytesSaved(g: Graph, e: GraphEdits, sized: ReadonlySet<string>): number {
  let saved = 0;
  for (const i of e.dropNodes) {
    const n = g.nodes[i]!;
    if (n.op === 'Constant' && n.outputs.some((o) => sized.has(o))) continue;
    saved += (n.bytes ?? 0) + 2;
  }
  for (const name of e.dropStored) {
    const t = g.tensor(name);
    if (sized.has(name) || t.producer || !t.stored) continue;
    const size = t.stored.dims.reduce((a, b) => a * b, 1);
    saved += size * (t.stored.dataType === 7 || t.stored.dataType === 11 ? 8 : 4) + tensorOverhead(name, t.stored.dims.length);
  }
  // Stryker disable next-line Regex: the other added tensors are copies, `<name>__pruned_<node>_<input>`, which no suffix here starts
  for (const [name, nt] of e.add) if (/__pruned_(shape|split|starts|ends)$/.test(name)) saved -= nt.values.length * 8 + tensorOverhead(name, 1);
  return saved;
}

/** Parameters each class takes with it: its indices in every constant member times the member's other dims. */
function paramsPerClass(group: Group, shapes: Shapes): Float64Array {
  const out = new Float64Array(group.classes.length);
  for (const m of group.members.values()) {
    if (!m.constant || m.pseudo) continue;
    const dims = shapes.shape.get(m.slot.tensor);
    // Stryker disable next-line ConditionalExpression: a guard: the dependency analysis checks every member's shape (checkSlot)
    if (!dims) continue;
    const other = dims.reduce((a, b) => a * b, 1) / dims[m.slot.axis]!;
    group.classes.forEach((units, c) => {
      const idx = new Set<number>();
      for (const u of units) for (const j of m.images[u]!) idx.add(j);
      out[c] += idx.size * other;
    });
  }
  return out;
}

/** The edits that remove the chosen units, and the groups that had to be given up while applying them. */
export function nodeEdits(a: StructureAnalysis, cuts: readonly Cut[]): { edits: GraphEdits; refused: Array<{ group: Group; reason: string }>; shapes: Shapes } {
  return planGroupEdits(a.dg, cuts, a.values, a.shapes2);
}

/** Why no group holds a weight: where it is read instead. */
function noGroupReason(a: StructureAnalysis, stored: string): string {
  const inner = a.g.nodes.find((n) => n.graph !== '' && n.inputs.includes(stored));
  if (inner) {
    const owner = inner.graph.split('/').slice(-2, -1)[0] ?? inner.graph;
    const host = a.g.nodes.find((n) => n.graph === '' && n.name === owner) ?? a.g.nodes.find((n) => n.name === owner);
    return `it is read inside the ${inner.graph.split('/').pop()} body of ${host ? `${host.op} node '${host.name}'` : `'${owner}'`} (by ${inner.op} node '${inner.name}'); weights in If/Loop bodies are not pruned`;
  }
  const t = a.g.tensors.get(stored);
  const use = t?.consumers[0];
  if (use) return `it is read by ${use.node.op} node '${use.node.name}' (input ${use.index}), not as a Conv/Gemm/MatMul weight whose output units could go`;
  return 'the dependency analysis found no node reading it as a weight whose output units could go';
}

/** Why a weight layer's own outputs are not cut, or undefined when they can be. */
export function layerRefusal(a: StructureAnalysis, stored: string): string | undefined {
  const gr = a.dg.groupOf.get(stored);
  if (!gr) return noGroupReason(a, stored);
  if (gr.refused) return `group ${gr.id}: ${gr.refused.reason}${gr.refused.node ? ` (${gr.refused.op} node '${gr.refused.node}')` : ''}`;
  if (gr.classes.length < 2) return `group ${gr.id}: its units are all tied together`;
  const late = a.late.get(gr.id);
  if (late) return `group ${gr.id}: ${late}`;
  return undefined;
}

/**
 * `prune --method node` on ONNX: the structure analysis, the group planner and the group edits,
 * turned into writer edits and a report row per weight layer (pruned, coupled, approximate,
 * refused with the op and node named) and per group.
 */
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { UsageError } from '../errors.ts';
import type { OnnxEdits } from '../formats/onnx/writeOnnx.ts';
import { groupCurve } from '../graph/importance.ts';
import type { GraphEdits } from '../graph/pruneGroups.ts';
import { type GroupChoice, type GroupTarget, planGroups } from './structured/groupPlanner.ts';
import { describeStructure } from './structured/describeStructure.ts';
import { toOnnxEdits } from './structured/onnxGraphEdits.ts';
import { budgetTarget } from './structured/previewGroups.ts';
import { analyseStructure, layerRefusal, nodeEdits, type StructureAnalysis } from './structured/pruneNodes.ts';
import { parsePlan, type PrunePlan } from './plan.ts';
import type { GroupReport, PruneLayerReport, PruneOptions } from './types.ts';

export interface OnnxNodePrune {
  edits: OnnxEdits;
  plan: PrunePlan;
  groups: GroupReport[];
  notes: string[];
  analysis: StructureAnalysis;
}

/** The group target the options ask for. */
function targetOf(ck: Checkpoint, o: PruneOptions, a: StructureAnalysis, eligible: StructureAnalysis['planned']): GroupTarget {
  if (o.plan !== undefined) {
    const plan = parsePlan(o.plan, ck, 'node');
    const byName = new Map(plan.layers.map((l) => [l.name, l]));
    return { kind: 'plan', ratioOf: (layer) => (byName.get(layer)?.skip ? undefined : byName.get(layer)?.ratio) };
  }
  if (o.eps !== undefined) return { kind: 'eps', eps: o.eps };
  if (o.budget !== undefined) {
    // Counted as the preview counts it: tensor by tensor, as the export writes them.
    const s = describeStructure(ck, a);
    const groups = eligible.map((g) => s.groups.find((x) => x.id === g.id)!);
    return budgetTarget(s, groups, o.budget, ck.weights.reduce((n, w) => n + w.size, 0));
  }
  return o.global ? { kind: 'global', ratio: o.ratio! } : { kind: 'ratio', ratio: o.ratio! };
}

export function pruneOnnxNodes(ck: Checkpoint, selected: readonly WeightTensor[], o: PruneOptions, layers: PruneLayerReport[]): OnnxNodePrune {
  const a = analyseStructure(ck, o.inputShapes ?? []);
  const wanted = new Set(selected.map((w) => w.name));
  const eligible = a.planned.filter((g) => g.layers.some((l) => wanted.has(l)));
  const { choices, problem } = planGroups(eligible, targetOf(ck, o, a, eligible));
  if (problem) throw new UsageError(problem);
  // Stryker disable next-line MethodExpression,ConditionalExpression,EqualityOperator: a shortcut: a cut of no units edits nothing
  const cuts = choices.filter((c) => c.remove.length > 0).map((c) => ({ group: a.planned.find((p) => p.id === c.group.id)!.group, remove: c.remove }));
  const out = nodeEdits(a, cuts);
  const refusedLate = new Map(out.refused.map((r) => [r.group.id, r.reason]));
  const chosen = new Map<number, GroupChoice>(choices.filter((c) => !refusedLate.has(c.group.id)).map((c) => [c.group.id, c]));
  const notes: string[] = [];
  if (a.inputs.chosen.length) notes.push(`dynamic input dims chosen for the analysis: ${a.inputs.chosen.join('; ')} (set them with --input-shape)`);
  for (const [id, reason] of refusedLate) notes.push(`group ${id} was left whole: ${reason}`);
  layerRows(a, selected, chosen, refusedLate, out.edits, layers);
  const groups: GroupReport[] = a.dg.groups.map((gr) => {
    const c = chosen.get(gr.id);
    const late = refusedLate.get(gr.id) ?? a.late.get(gr.id);
    const refused = gr.refused ? `${gr.refused.reason}${gr.refused.node ? ` (${gr.refused.op} node '${gr.refused.node}')` : ''}` : late ?? (gr.classes.length < 2 ? 'its units are all tied together' : undefined);
    return {
      id: gr.id,
      layers: [...new Set(gr.layers.map((l) => l.stored))],
      units: gr.classes.length,
      removed: c?.remove.length ?? 0,
      relErr: c ? c.relErr : null,
      approximate: gr.approximate,
      ...(refused ? { refused } : {}),
    };
  });
  const plan: PrunePlan = {
    version: 1,
    method: 'node',
    centre: 'none',
    layers: selected.map((w) => {
      const gr = a.dg.groupOf.get(w.name);
      const c = gr && chosen.get(gr.id);
      return c ? { name: w.name, ratio: c.remove.length / c.group.classes } : { name: w.name, ratio: 0, skip: true };
    }),
  };
  return { edits: toOnnxEdits(a.g, out.edits), plan, groups, notes, analysis: a };
}

/** The size of a stored tensor after the edits (its slice, or its per-use copies, or as it was). */
export function sizeAfter(e: GraphEdits, name: string, before: number): number {
  const r = e.replace.get(name);
  if (r) return r.dims.reduce((x, y) => x * y, 1);
  // Per-use copies are `<name>__pruned_<node>_<input>` (graph/pruneGroups.ts); shape and split operands, named after nodes, are not.
  const prefix = `${name}__pruned_`;
  const copies = [...e.add].filter(([k]) => k.startsWith(prefix) && /^\d+_\d+$/.test(k.slice(prefix.length))).reduce((s, [, t]) => s + t.dims.reduce((x, y) => x * y, 1), 0);
  return copies + (e.dropStored.has(name) ? 0 : before);
}

function layerRows(a: StructureAnalysis, selected: readonly WeightTensor[], chosen: ReadonlyMap<number, GroupChoice>, late: ReadonlyMap<number, string>, e: GraphEdits, layers: PruneLayerReport[]): void {
  for (const w of selected) {
    const after = sizeAfter(e, w.name, w.size);
    const gr = a.dg.groupOf.get(w.name);
    const refusal = layerRefusal(a, w.name) ?? (gr && late.has(gr.id) ? `group ${gr.id}: ${late.get(gr.id)}` : undefined);
    const c = gr ? chosen.get(gr.id) : undefined;
    const inputsCut = after < w.size ? '; its inputs shrink with the layers before it' : '';
    // Stryker disable next-line LogicalOperator,ConditionalExpression: a refused layer's group is never chosen, so !c alone decides
    if (refusal || !gr || !c) {
      layers.push({ name: w.name, method: 'node', ratio: 0, paramsBefore: w.size, paramsAfter: after, relErr: null, skipped: after === w.size, reason: `own outputs kept: ${refusal ?? 'not selected'}${inputsCut}` });
      continue;
    }
    const layer = gr.layers.find((l) => l.stored === w.name)!;
    const rootMember = gr.members.get(`${layer.root.axis}@${layer.root.tensor}`);
    const units = a.shapes.shape.get(layer.root.tensor)![layer.root.axis]!;
    const removedUnits = new Set<number>();
    // Stryker disable next-line OptionalChaining,ArrayDeclaration: a layer's root is always a member of its group
    for (const cls of c.remove) for (const u of gr.classes[cls]!) for (const j of rootMember?.images[u] ?? []) removedUnits.add(j);
    const coupled = [...new Set(gr.layers.map((l) => l.stored))].filter((n) => n !== w.name);
    const curve = groupCurve(a.planned.find((p) => p.id === gr.id)!.scores);
    layers.push({
      name: w.name,
      method: 'node',
      ratio: removedUnits.size / units,
      paramsBefore: w.size,
      paramsAfter: after,
      relErr: curve[c.remove.length] ?? null,
      skipped: false,
      reason: `${units - removedUnits.size} of ${units} units kept (group ${gr.id}${coupled.length ? `, coupled with ${coupled.slice(0, 3).join(', ')}${coupled.length > 3 ? ` and ${coupled.length - 3} more` : ''}` : ''})${gr.approximate.length ? '; approximate: normalisation statistics change' : ''}`,
      group: { id: gr.id, coupled, approximate: gr.approximate.length > 0 },
    });
  }
}

/**
 * The preview of a structured plan from a report's structure summary (no weights): the same group
 * planner as the export picks each group's classes, and every cut tensor is sized the way the
 * export writes it (sliced in place, or copied per use), so the counts are the export's. Pure;
 * bundled into the webview.
 */
import type { GroupScores } from '../../graph/importance.ts';
import { type PerClass, perClassAt, type StructureGroup, type StructureReport } from '../../report/structure.ts';
import { type GroupChoice, type GroupTarget, type PlannedGroup, planGroups } from './groupPlanner.ts';

export interface GroupChoicePreview {
  group: StructureGroup;
  /** Class indices removed. */
  remove: number[];
  relErr: number;
}

export interface StructurePreview {
  choices: GroupChoicePreview[];
  /** Elements and bytes removed from the stored tensors (copies added back). */
  paramsRemoved: number;
  bytesRemoved: number;
  /** Each cut tensor's elements after the plan. */
  sizeAfter: Map<string, number>;
  problem?: string;
}

/** The report's group as the planner sees it. */
export function plannedGroup(gr: StructureGroup): PlannedGroup {
  const s = gr.scores!;
  const scores: GroupScores = { raw: Float64Array.from(s.raw), normalized: Float64Array.from(s.normalized), scored: 1, energy: Float64Array.from(s.energy), totalEnergy: s.totalEnergy };
  return { id: gr.id, classes: gr.classes, scores, paramsPerClass: Float64Array.from(gr.paramsPerClass!), layers: gr.layers.map((l) => l.name) };
}

/** Groups that can give something up and hold the own outputs of a selected layer. */
export function eligibleGroups(s: StructureReport, selected: (layer: string) => boolean): StructureGroup[] {
  return s.groups.filter((g) => !g.refused && g.scores && g.layers.some((l) => selected(l.name)));
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const sumOver = (p: PerClass, remove: readonly number[]) => remove.reduce((a, c) => a + perClassAt(p, c), 0);

/** Node pruning's plan over the groups (the export's planner), sized. */
export function previewNodeGroups(s: StructureReport, selected: (layer: string) => boolean, target: GroupTarget | { kind: 'budget'; params: number; totalParams: number }): StructurePreview {
  const groups = eligibleGroups(s, selected);
  const planned = groups.map(plannedGroup);
  const t = 'totalParams' in target ? budgetTarget(s, groups, target.params, target.totalParams) : (target as GroupTarget);
  const { choices, problem } = planGroups(planned, t);
  const out = sizeChoices(s, choices.map((c, i) => ({ group: groups[i]!, remove: c.remove, relErr: c.relErr })));
  return problem ? { ...out, problem } : out;
}

/**
 * A budget of `params` kept parameters over `groups` (in the order they are planned), out of
 * `totalParams`: what a plan keeps is counted tensor by tensor as the export writes it, so a
 * tensor cut by two groups (a hidden layer's rows and columns) is counted once.
 */
export function budgetTarget(s: StructureReport, groups: readonly StructureGroup[], params: number, totalParams: number): GroupTarget {
  const keptAfter = (choices: GroupChoice[]) => totalParams - sizeChoices(s, choices.map((c, i) => ({ group: groups[i]!, remove: c.remove, relErr: c.relErr }))).paramsRemoved;
  return { kind: 'budget', params, keptAfter };
}

/** Sizes the stored tensors after the chosen removals, as the export writes them. */
export function sizeChoices(s: StructureReport, choices: GroupChoicePreview[]): StructurePreview {
  // Per tensor: use ('*' for in-place) → axis → removed count.
  const removed = new Map<number, Map<string, Map<number, number>>>();
  // Per tensor: use → the name it reads, when that is an Identity of the tensor (its copy is named after it).
  const reads = new Map<number, Map<string, string>>();
  for (const c of choices) {
    // Stryker disable next-line ConditionalExpression: a shortcut: an empty removal cuts nothing below either
    if (c.remove.length === 0) continue;
    for (const cut of c.group.cuts ?? []) {
      const n = sumOver(cut.perClass, c.remove);
      if (n === 0) continue;
      const uses = removed.get(cut.tensor) ?? new Map<string, Map<number, number>>();
      const key = s.tensors[cut.tensor]!.write === 'slice' ? '*' : cut.use ?? '*';
      const axes = uses.get(key) ?? new Map<number, number>();
      // Uses sliced alike remove the same indices: one axis is cut once.
      axes.set(cut.axis, Math.max(axes.get(cut.axis) ?? 0, n));
      uses.set(key, axes);
      removed.set(cut.tensor, uses);
      if (cut.reads) reads.set(cut.tensor, (reads.get(cut.tensor) ?? new Map<string, string>()).set(key, cut.reads));
    }
  }
  let paramsRemoved = 0;
  let bytesRemoved = 0;
  const sizeAfter = new Map<string, number>();
  for (const [i, uses] of removed) {
    const t = s.tensors[i]!;
    const before = t.computed ? 0 : product(t.dims);
    const cutSize = (axes: ReadonlyMap<number, number>) => product(t.dims.map((d, a) => d - (axes.get(a) ?? 0)));
    let after: number;
    let originalGoes: boolean;
    if (t.write === 'slice') {
      after = cutSize(uses.get('*')!);
      originalGoes = true; // rewritten in place (a Constant node's value becomes an initializer)
    } else {
      // One copy per cut use ('*': every use); the original stays while a use is left uncut.
      const copies = [...uses].reduce((a, [use, axes]) => a + cutSize(axes) * (use === '*' ? t.uses : 1), 0);
      const count = uses.has('*') ? t.uses : uses.size;
      originalGoes = count >= t.uses;
      after = copies + (originalGoes ? 0 : before);
      // Each copy is a new initializer named `<read name>__pruned_<node>_<input>` (for a use 'node:input',
      // a suffix of 9 + its length; 14 where every use is cut alike), and its node reads that name.
      const named = reads.get(i);
      const records = uses.has('*') ? new Array<[string, number]>(t.uses).fill([t.name, 14]) : [...uses.keys()].map((use): [string, number] => [named?.get(use) ?? t.name, 9 + use.length]);
      for (const [name, suffix] of records) bytesRemoved -= name.length + suffix + 8 + 2 * t.dims.length + suffix;
      if (originalGoes && !t.computed) bytesRemoved += t.name.length + 8 + 2 * t.dims.length;
    }
    sizeAfter.set(t.name, after);
    bytesRemoved += (before - after) * t.bytes + (originalGoes ? t.wrapper ?? 0 : 0);
    if (t.counted) paramsRemoved += before - after;
  }
  if (removed.size > 0) bytesRemoved += s.graphBytesSaved;
  return { choices, paramsRemoved, bytesRemoved, sizeAfter };
}

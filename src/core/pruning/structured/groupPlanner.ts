/**
 * How many pruning units each dependency group gives up (spec §4), for every way a node plan is
 * asked for: one ratio per group, ε on each group's curve, a parameter budget (one common ε*
 * over the group curves), one global threshold on the mean-normalised scores, or a plan file's
 * per-layer ratios (a group takes the largest of its layers'). The same planner serves the CLI,
 * the extension's export and its preview, so what is previewed is what is exported.
 */
import { groupCurve, type GroupScores, keptClasses, lowest } from '../../graph/importance.ts';

/** What the planner needs of a group: its units, their scores, and the parameters each unit carries. */
export interface PlannedGroup {
  id: number;
  classes: number;
  scores: GroupScores;
  /** Parameters removed with each class (over every constant member). */
  paramsPerClass: Float64Array;
  /** Layers whose own output units the group holds (for plan files and --layers). */
  layers: string[];
}

export type GroupTarget =
  | { kind: 'ratio'; ratio: number }
  | { kind: 'global'; ratio: number }
  | { kind: 'eps'; eps: number }
  /**
   * At most `params` parameters kept; `keptAfter` counts what a set of choices keeps, tensor by
   * tensor (previewGroups.budgetTarget: a hidden layer cut by two groups is counted once).
   */
  | { kind: 'budget'; params: number; keptAfter: (choices: GroupChoice[]) => number }
  | { kind: 'plan'; ratioOf: (layer: string) => number | undefined };

export interface GroupChoice {
  group: PlannedGroup;
  /** Classes removed (indices into the group's classes), lowest scores first. */
  remove: number[];
  /** Relative error on the group's curve after that removal. */
  relErr: number;
}

/** Classes to remove from a group: the `count` lowest-scoring, never all of them. */
function removal(g: PlannedGroup, count: number): GroupChoice {
  // Stryker disable next-line ArithmeticOperator: no target asks for all classes (keptClasses keeps one, countForEps stops before the last, global skips it); this only guards
  const n = Math.min(Math.max(0, count), g.classes - 1);
  return { group: g, remove: lowest(g.scores.raw, n), relErr: groupCurve(g.scores)[n]! };
}

/** The most classes whose curve stays strictly below ε. */
function countForEps(g: PlannedGroup, eps: number): number {
  const curve = groupCurve(g.scores);
  let n = 0;
  for (let j = 1; j < curve.length - 1; j++) if (curve[j]! < eps) n = j;
  return n;
}

export function planGroups(groups: readonly PlannedGroup[], t: GroupTarget): { choices: GroupChoice[]; problem?: string } {
  switch (t.kind) {
    case 'ratio':
      return { choices: groups.map((g) => removal(g, g.classes - keptClasses(g.classes, t.ratio))) };
    case 'eps':
      return { choices: groups.map((g) => removal(g, countForEps(g, t.eps))) };
    case 'plan':
      return {
        choices: groups.map((g) => {
          const ratios = g.layers.map(t.ratioOf).filter((r): r is number => r !== undefined);
          return removal(g, g.classes - keptClasses(g.classes, Math.max(0, ...ratios)));
        }),
      };
    case 'global': {
      // One threshold τ on the mean-normalised scores: the fraction r of all units below it goes
      // (each group keeps at least one).
      const all = groups.flatMap((g) => Array.from(g.scores.normalized, (s, c) => ({ g, c, s })));
      all.sort((a, b) => a.s - b.s);
      const target = Math.floor(t.ratio * all.length + 1e-9);
      const take = new Map<PlannedGroup, number>();
      let taken = 0;
      for (const x of all) {
        if (taken >= target) break;
        const n = take.get(x.g) ?? 0;
        if (n >= x.g.classes - 1) continue;
        take.set(x.g, n + 1);
        taken++;
      }
      return { choices: groups.map((g) => removal(g, take.get(g) ?? 0)) };
    }
    case 'budget': {
      const keptAt = (eps: number) => t.keptAfter(groups.map((g) => removal(g, countForEps(g, eps))));
      // ε just above 1 removes all but each group's last class. (Just below 1 does too: raw scores
      // are proportional to the energies, so the last class has the most energy and the curve before
      // it is at most √(1 − 1/classes).)
      // Stryker disable next-line ArithmeticOperator: equivalent, as above
      const floor = keptAt(1 + 1e-9);
      if (floor > t.params) return { choices: groups.map((g) => removal(g, 0)), problem: `a budget of ${t.params} parameters is below what node pruning of these groups reaches (${Math.round(floor)})` };
      let lo = 0;
      // Stryker disable next-line ArithmeticOperator: equivalent, as for the floor
      let hi = 1 + 1e-9;
      // Stryker disable next-line EqualityOperator: a 61st halving of an interval already below 1e-18 changes nothing
      for (let i = 0; i < 60; i++) {
        const mid = (lo + hi) / 2;
        if (keptAt(mid) <= t.params) hi = mid;
        else lo = mid;
      }
      return { choices: groups.map((g) => removal(g, countForEps(g, hi))) };
    }
  }
}

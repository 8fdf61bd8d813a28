/**
 * The structured planner called directly (pruning/structured/groupPlanner.ts), on two hand-made
 * groups whose curves are worked out by hand: every way a node plan is asked for (a ratio, ε, a
 * plan file's per-layer ratios, one global threshold, a parameter budget) and the budget's refusal.
 *
 * Group A: 4 classes, scores [4, 1, 3, 2], energies [16, 1, 9, 4] (total 30), parameters per class
 * [10, 1, 100, 1000]. Lowest first: 1, 3, 2, 0, so its curve is √(0/30), √(1/30), √(5/30), √(14/30), 1.
 * Group B: 2 classes, scores [1, 3], energies [1, 9] (total 10), parameters [7, 70]; curve 0, √0.1, 1.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type GroupChoice, type GroupTarget, type PlannedGroup, planGroups } from '../../src/core/pruning/structured/groupPlanner.ts';

function group(id: number, raw: number[], energy: number[], params: number[], layers: string[]): PlannedGroup {
  const mean = raw.reduce((a, x) => a + x, 0) / raw.length;
  return {
    id,
    classes: raw.length,
    scores: {
      raw: Float64Array.from(raw),
      normalized: Float64Array.from(raw, (x) => x / mean),
      scored: 1,
      energy: Float64Array.from(energy),
      totalEnergy: energy.reduce((a, x) => a + x, 0),
    },
    paramsPerClass: Float64Array.from(params),
    layers,
  };
}

const A = group(0, [4, 1, 3, 2], [16, 1, 9, 4], [10, 1, 100, 1000], ['a']);
const B = group(1, [1, 3], [1, 9], [7, 70], ['b', 'c']);
const curveA = [0, Math.sqrt(1 / 30), Math.sqrt(5 / 30), Math.sqrt(14 / 30), 1];
const curveB = [0, Math.sqrt(0.1), 1];
/** What each group removes in A's and B's order of lowest scores. */
const ORDER_A = [1, 3, 2, 0];
const ORDER_B = [0, 1];

function removed(t: GroupTarget): { counts: number[]; problem?: string } {
  const { choices, problem } = planGroups([A, B], t);
  assert.equal(choices.length, 2);
  assert.equal(choices[0]!.group, A);
  assert.equal(choices[1]!.group, B);
  const [a, b] = choices as [(typeof choices)[0], (typeof choices)[0]];
  // The removed classes are the lowest-scoring, in that order, and the error is the curve's.
  assert.deepEqual(a.remove, ORDER_A.slice(0, a.remove.length));
  assert.deepEqual(b.remove, ORDER_B.slice(0, b.remove.length));
  assert.ok(Math.abs(a.relErr - curveA[a.remove.length]!) < 1e-15, `A's error ${a.relErr}`);
  assert.ok(Math.abs(b.relErr - curveB[b.remove.length]!) < 1e-15, `B's error ${b.relErr}`);
  return { counts: [a.remove.length, b.remove.length], ...(problem === undefined ? {} : { problem }) };
}

test('a ratio keeps ⌈(1 − r)·classes⌉ of each group, at least one', () => {
  assert.deepEqual(removed({ kind: 'ratio', ratio: 0 }), { counts: [0, 0] });
  assert.deepEqual(removed({ kind: 'ratio', ratio: 0.25 }), { counts: [1, 0] }); // A keeps 3, B keeps ⌈1.5⌉ = 2
  assert.deepEqual(removed({ kind: 'ratio', ratio: 0.5 }), { counts: [2, 1] });
  assert.deepEqual(removed({ kind: 'ratio', ratio: 0.7 }), { counts: [2, 1] }); // A keeps ⌈1.2⌉ = 2
  assert.deepEqual(removed({ kind: 'ratio', ratio: 1 }), { counts: [3, 1] }); // never the whole group
});

test('ε removes the most classes whose error stays strictly below it, never the whole group', () => {
  assert.deepEqual(removed({ kind: 'eps', eps: 0 }), { counts: [0, 0] });
  assert.deepEqual(removed({ kind: 'eps', eps: 0.3 }), { counts: [1, 0] });
  assert.deepEqual(removed({ kind: 'eps', eps: Math.sqrt(0.1) }), { counts: [1, 0] }); // B's first step is not below √0.1
  assert.deepEqual(removed({ kind: 'eps', eps: Math.sqrt(5 / 30) }), { counts: [1, 1] }); // nor A's second below √(5/30)
  assert.deepEqual(removed({ kind: 'eps', eps: 0.41 }), { counts: [2, 1] });
  assert.deepEqual(removed({ kind: 'eps', eps: 0.9 }), { counts: [3, 1] });
  assert.deepEqual(removed({ kind: 'eps', eps: 5 }), { counts: [3, 1] });
});

test("a plan file's ratios: a group takes the largest of its layers', and none when no layer is listed", () => {
  const ratios: Record<string, number> = { a: 0.5, b: 0.1, c: 0.6 };
  assert.deepEqual(removed({ kind: 'plan', ratioOf: (l) => ratios[l] }), { counts: [2, 1] }); // B: max(0.1, 0.6) keeps ⌈0.8⌉ = 1
  assert.deepEqual(removed({ kind: 'plan', ratioOf: (l) => (l === 'b' ? 0.1 : undefined) }), { counts: [0, 0] }); // B keeps ⌈1.8⌉ = 2
  assert.deepEqual(removed({ kind: 'plan', ratioOf: () => undefined }), { counts: [0, 0] });
  assert.deepEqual(removed({ kind: 'plan', ratioOf: (l) => (l === 'a' ? 1 : 0) }), { counts: [3, 0] });
  assert.deepEqual(removed({ kind: 'plan', ratioOf: (l) => (l === 'b' ? 0.6 : undefined) }), { counts: [0, 1] }); // c unlisted: b's ratio
});

test('a global ratio removes that fraction of all units with the lowest normalised scores, each group keeping one', () => {
  // Normalised: A [1.6, 0.4, 1.2, 0.8], B [0.5, 1.5]; lowest first: A1, B0, A3, A2, B1, A0.
  assert.deepEqual(removed({ kind: 'global', ratio: 0 }), { counts: [0, 0] });
  assert.deepEqual(removed({ kind: 'global', ratio: 1 / 6 }), { counts: [1, 0] });
  assert.deepEqual(removed({ kind: 'global', ratio: 2 / 6 }), { counts: [1, 1] });
  assert.deepEqual(removed({ kind: 'global', ratio: 0.5 }), { counts: [2, 1] }); // ⌊3⌋ units
  assert.deepEqual(removed({ kind: 'global', ratio: 0.65 }), { counts: [2, 1] }); // ⌊3.9⌋ = 3 units
  assert.deepEqual(removed({ kind: 'global', ratio: 4 / 6 }), { counts: [3, 1] });
  assert.deepEqual(removed({ kind: 'global', ratio: 0.9 }), { counts: [3, 1] }); // B1 and A0 would empty their groups
});

test('a global ratio skips the last unit of a group and takes the next one of another', () => {
  // B with scores [1, 1.1]: normalised [0.952, 1.048]; lowest first A1 0.4, A3 0.8, B0, B1, A2 1.2, A0.
  const b = group(1, [1, 1.1], [1, 9], [7, 70], ['b']);
  const { choices } = planGroups([A, b], { kind: 'global', ratio: 4 / 6 });
  // four units: A1, A3, B0, then B1 would empty B, so A2
  assert.deepEqual(choices.map((c) => c.remove), [[1, 3, 2], [0]]);
});

test("a budget finds the smallest common ε that fits, with the parameters each group's removal frees", () => {
  // Parameters kept (fixed 5 + A's + B's) as ε grows: 1193 (nothing), 1192 (A1), 1185 (A1, B0),
  // 185 (A1, A3, B0), 85 (A1, A3, A2, B0).
  // Neither group's tensors are shared here, so what a plan keeps is `fixed` plus each group's
  // parameters less those of its removed classes.
  const keptAfter = (fixed: number) => (choices: GroupChoice[]) => fixed + choices.reduce((a, c) => a + c.group.paramsPerClass.reduce((s, p, k) => s + (c.remove.includes(k) ? 0 : p), 0), 0);
  const budget = (params: number) => removed({ kind: 'budget', params, keptAfter: keptAfter(5) });
  assert.deepEqual(budget(1193), { counts: [0, 0] });
  assert.deepEqual(budget(1192), { counts: [1, 0] });
  assert.deepEqual(budget(1191), { counts: [1, 1] });
  assert.deepEqual(budget(1185), { counts: [1, 1] });
  assert.deepEqual(budget(1184), { counts: [2, 1] });
  assert.deepEqual(budget(185), { counts: [2, 1] });
  assert.deepEqual(budget(184), { counts: [3, 1] });
  assert.deepEqual(budget(85), { counts: [3, 1] });
  assert.deepEqual(budget(84), { counts: [0, 0], problem: 'a budget of 84 parameters is below what node pruning of these groups reaches (85)' });
  assert.deepEqual(removed({ kind: 'budget', params: 89, keptAfter: keptAfter(10) }), { counts: [0, 0], problem: 'a budget of 89 parameters is below what node pruning of these groups reaches (90)' });
});

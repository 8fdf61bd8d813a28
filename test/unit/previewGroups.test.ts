/**
 * The structured preview called directly (pruning/structured/previewGroups.ts) on a hand-made
 * structure summary: which groups take part, the group planner's choice, and every cut tensor's
 * size after it, counted by hand: sliced in place, copied for one of two uses (the original
 * stays), or a computed constant (only its copy is stored). previewStructured.test.ts checks the
 * same sizes against real exports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StructureGroup, StructureReport, StructureTensor } from '../../src/core/report/structure.ts';
import { eligibleGroups, plannedGroup, previewNodeGroups } from '../../src/core/pruning/structured/previewGroups.ts';

const tensor = (name: string, dims: number[], extra: Partial<StructureTensor> = {}): StructureTensor => ({ name, dims, bytes: 4, counted: true, write: 'slice', uses: 1, ...extra });

/** Group 0's four units: scores [4, 1, 3, 2], so the lowest are 1, 3, 2, 0; each carries 9 parameters. */
const scores = { raw: [4, 1, 3, 2], normalized: [1.6, 0.4, 1.2, 0.8], energy: [16, 1, 9, 4], totalEnergy: 30 };
const g0: StructureGroup = {
  id: 0,
  layers: [{ name: 'W1', units: 4, perClass: 1 }],
  classes: 4,
  approximate: [],
  scores,
  paramsPerClass: [9, 9, 9, 9],
  cuts: [
    { tensor: 0, axis: 0, perClass: 1 }, // W1 4×3, its rows
    { tensor: 1, axis: 0, perClass: 1 }, // its bias
    { tensor: 2, axis: 1, perClass: [1, 1, 1, 1] }, // the consumer W2 5×4, its columns
    { tensor: 3, axis: 0, use: 'n1:2', perClass: 1 }, // an int8 zero point shared with an uncut use
    { tensor: 4, axis: 0, use: 'n2:1', perClass: 1 }, // a computed constant with one use
    { tensor: 5, axis: 1, perClass: 2 }, // a 3×8 weight whose columns come in pairs
  ],
};
const refused: StructureGroup = { id: 1, layers: [{ name: 'W3', units: 2, perClass: 1 }], classes: 2, approximate: [], refused: 'it reaches the graph output' };
const unselected: StructureGroup = { ...g0, id: 2, layers: [{ name: 'W4', units: 4, perClass: 1 }], cuts: [{ tensor: 6, axis: 0, perClass: 1 }] };
const report: StructureReport = {
  ms: 0,
  inputsChosen: [],
  tensors: [
    tensor('W1', [4, 3]),
    tensor('b1', [4]),
    tensor('W2', [5, 4]),
    tensor('zp', [4], { bytes: 1, write: 'copy', uses: 2 }),
    tensor('c', [4], { write: 'copy', computed: true, counted: false }),
    tensor('W5', [3, 8]),
    tensor('W4', [4, 4]),
  ],
  groups: [g0, refused, unselected],
  refusals: {},
  graphBytesSaved: 100,
};
const selected = (l: string) => l !== 'W4';

test('only groups that are not refused, are scored and hold a selected layer take part', () => {
  assert.deepEqual(eligibleGroups(report, selected), [g0]);
  assert.deepEqual(eligibleGroups(report, () => true), [g0, unselected]);
  assert.deepEqual(eligibleGroups(report, () => false), []);
  // A group with one selected layer of two takes part; a refused one does not, even with scores.
  const two: StructureGroup = { ...g0, id: 3, layers: [{ name: 'W4', units: 4, perClass: 1 }, { name: 'W1', units: 4, perClass: 1 }] };
  const refusedScored: StructureGroup = { ...g0, id: 4, refused: 'a reason' };
  assert.deepEqual(eligibleGroups({ ...report, groups: [two, refusedScored] }, selected), [two]);
  assert.deepEqual(plannedGroup(two).layers, ['W4', 'W1']);
});

test('a cut that removes no index of a tensor leaves it out of the sizes', () => {
  // W6 is cut only for classes 0 and 2; removing 1 and 3 leaves it whole.
  const sparse: StructureGroup = { ...g0, cuts: [...g0.cuts!, { tensor: 7, axis: 0, use: 'n3:1', perClass: [1, 0, 1, 0] }] };
  const p = previewNodeGroups({ ...report, tensors: [...report.tensors, tensor('W6', [2], { write: 'copy' })], groups: [sparse] }, selected, { kind: 'ratio', ratio: 0.5 });
  assert.deepEqual(p.choices[0]!.remove, [1, 3]);
  assert.equal(p.sizeAfter.has('W6'), false);
  assert.equal(p.sizeAfter.size, 6);
});

test('every cut tensor is sized as the export writes it', () => {
  const p = previewNodeGroups(report, selected, { kind: 'ratio', ratio: 0.5 });
  assert.equal(p.choices.length, 1);
  assert.deepEqual(p.choices[0]!.remove, [1, 3]);
  assert.ok(Math.abs(p.choices[0]!.relErr - Math.sqrt(5 / 30)) < 1e-15);
  assert.deepEqual(Object.fromEntries(p.sizeAfter), {
    W1: 2 * 3,
    b1: 2,
    W2: 5 * 2,
    zp: 2 + 4, // the copy for n1 and the original, which the other use still reads
    c: 2, // computed: only the copy is stored
    W5: 3 * 4, // two columns per unit
  });
  // Removed: W1 6, b1 2, W2 10, zp −2 (one more tensor), W5 12; c is not a parameter.
  assert.equal(p.paramsRemoved, 6 + 2 + 10 - 2 + 12);
  assert.equal(p.problem, undefined);
});

test('nothing removed: no tensor is cut, and no graph structure is dropped', () => {
  const p = previewNodeGroups(report, selected, { kind: 'ratio', ratio: 0 });
  assert.deepEqual(p.choices[0]!.remove, []);
  assert.equal(p.sizeAfter.size, 0);
  assert.equal(p.paramsRemoved, 0);
  assert.equal(p.bytesRemoved, 0);
});

test('a budget counts what a plan keeps tensor by tensor, as sized above, and passes the planner\'s refusal on', () => {
  // n units out remove 3n (W1) + n (b1) + 5n (W2) + 6n (W5) − (4 − n) (zp's copy beside its original) = 16n − 4:
  // of 100 parameters, 88 stay with one unit out, 72 with two, 56 with three (each group keeps one).
  const remove = (params: number) => previewNodeGroups(report, selected, { kind: 'budget', params, totalParams: 100 }).choices[0]!.remove;
  assert.deepEqual(remove(100), []);
  assert.deepEqual(remove(88), [1]);
  assert.deepEqual(remove(87), [1, 3]);
  assert.deepEqual(remove(72), [1, 3]);
  assert.deepEqual(remove(71), [1, 3, 2]);
  assert.deepEqual(remove(56), [1, 3, 2]);
  const p = previewNodeGroups(report, selected, { kind: 'budget', params: 55, totalParams: 100 });
  assert.equal(p.problem, 'a budget of 55 parameters is below what node pruning of these groups reaches (56)');
  assert.deepEqual(p.choices[0]!.remove, []);
  assert.equal(p.paramsRemoved, 0);
  // What is planned is what is sized: 100 − 72 = 28 removed.
  assert.equal(previewNodeGroups(report, selected, { kind: 'budget', params: 72, totalParams: 100 }).paramsRemoved, 28);
});

test('bytes: a sliced tensor drops its cut values and its wrapper; each copy adds its initializer record', () => {
  // The byte model of sizeChoices: a copy is a new initializer `<name>__pruned_<node>_<input>`
  // (the name plus 9 + the length of 'node:input', or 14 where every use is cut alike; 8 bytes of
  // field tags and lengths, 2 per dimension) read by a node input of the same length; a use that
  // reads an Identity of the tensor names its copy after that; an original that no use reads any
  // more drops its own record (name, 8, 2 per dimension) and its wrapper.
  // previewStructured.test.ts checks the sum against real exports.
  const g: StructureGroup = {
    id: 0,
    layers: [{ name: 'Wa', units: 4, perClass: 1 }],
    classes: 4,
    approximate: [],
    scores,
    paramsPerClass: [3, 3, 3, 3],
    cuts: [
      { tensor: 0, axis: 0, perClass: 1 }, // Wa 4×3, sliced in place
      { tensor: 1, axis: 0, perClass: 1 }, // sh 4×1, read by two nodes, cut for both ('*')
      { tensor: 2, axis: 0, use: 'n5:0', perClass: 1 }, // kept 4×1, its one use cut
      { tensor: 3, axis: 0, use: 'n6:1', reads: 'dedup.alias', perClass: 1 }, // dd 4, one of its two uses, through an Identity
    ],
  };
  const s: StructureReport = {
    ms: 0,
    inputsChosen: [],
    tensors: [
      tensor('Wa', [4, 3], { wrapper: 9 }),
      tensor('sh', [4, 1], { write: 'copy', uses: 2, wrapper: 5 }),
      tensor('kept', [4, 1], { write: 'copy', wrapper: 3 }),
      tensor('dd', [4], { write: 'copy', uses: 2 }),
    ],
    groups: [g],
    refusals: {},
    graphBytesSaved: 50,
  };
  const p = previewNodeGroups(s, () => true, { kind: 'ratio', ratio: 0.5 });
  assert.deepEqual(p.choices[0]!.remove, [1, 3]);
  assert.deepEqual(Object.fromEntries(p.sizeAfter), { Wa: 6, sh: 4, kept: 2, dd: 2 + 4 });
  assert.equal(p.paramsRemoved, 6 + 0 + 2 - 2);
  const wa = (12 - 6) * 4 + 9;
  // Two copies of 2 (one per use) replace the original of 4: no values saved, two records added.
  const sh = -2 * ('sh'.length + 14 + 8 + 2 * 2 + 14) + ('sh'.length + 8 + 2 * 2) + 5;
  const kept = (4 - 2) * 4 - ('kept'.length + 13 + 8 + 2 * 2 + 13) + ('kept'.length + 8 + 2 * 2) + 3;
  // dd's copy is named after the alias its use reads; the original stays for the other use.
  const dd = -2 * 4 - ('dedup.alias'.length + 13 + 8 + 2 + 13);
  assert.equal(p.bytesRemoved, wa + sh + kept + dd + 50);
  // A group with no cuts (a summary from an older report) cuts nothing.
  const bare = previewNodeGroups({ ...s, groups: [{ ...g, cuts: undefined }] }, () => true, { kind: 'ratio', ratio: 0.5 });
  assert.equal(bare.sizeAfter.size, 0);
  assert.equal(bare.bytesRemoved, 0);
});

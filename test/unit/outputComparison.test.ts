/**
 * The verification measures on closed-form outputs: deviations, the cosine (also when one side is
 * all zeros), top-1 only for class-score rows, accuracy from labels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { verificationConcern } from '../../src/core/report/describeVerification.ts';
import { OutputComparison } from '../../src/core/runtime/outputComparison.ts';

test('class scores: max |Δ|, relative error, cosine, top-1 agreement and accuracy by hand', () => {
  const c = new OutputComparison();
  // Two rows of three classes; the second row's argmax moves from class 2 to class 0.
  c.add([1, 2, 3, 0, 1, 2], [1, 2, 3, 4, 1, 2], 3, [2, 0]);
  const v = c.result('test', 2, 'random');
  assert.equal(v.maxAbs, 4);
  assert.ok(Math.abs(v.relErr - 4 / Math.sqrt(1 + 4 + 9 + 0 + 1 + 4)) < 1e-15);
  assert.ok(Math.abs(v.cosine - (1 + 4 + 9 + 0 + 1 + 4) / Math.sqrt(19 * 35)) < 1e-15);
  assert.equal(v.top1Agreement, 0.5);
  assert.equal(v.accuracyBefore, 0.5); // row 2's label 0 was missed before pruning
  assert.equal(v.accuracyAfter, 1);
});

test('an output that became all zeros has cosine 0, not 1; two zero outputs agree', () => {
  const c = new OutputComparison();
  c.add([0.5, 0.25], [0, 0], 2);
  const v = c.result('test', 1, 'random');
  assert.equal(v.cosine, 0);
  assert.equal(v.relErr, 1);
  const z = new OutputComparison();
  z.add([0, 0], [0, 0], 2);
  assert.equal(z.result('test', 1, 'random').cosine, 1);
});

test('no top-1 for one value per row, nor for maps, nor for extra outputs', () => {
  const single = new OutputComparison();
  single.add([0.1, 0.9, 0.4], [0.2, 0.8, 0.4], 1);
  assert.equal(single.result('t', 3, 'random').top1Agreement, null);
  const map = new OutputComparison();
  map.add([1, 2, 3, 4], [4, 3, 2, 1], 2, undefined, false); // a [1, 1, 2, 2] map: rows are not class scores
  assert.equal(map.result('t', 1, 'random').top1Agreement, null);
});

test('a verification is a concern when the outputs moved a lot, the top class changed or accuracy fell', () => {
  const base = { runtime: 'r', samples: 8, data: 'random', maxAbs: 0.01, relErr: 0.01, cosine: 0.9999, top1Agreement: 1, accuracyBefore: null, accuracyAfter: null };
  assert.equal(verificationConcern(base), null);
  assert.match(verificationConcern({ ...base, cosine: 0.5 })!, /cosine 0\.500/);
  assert.match(verificationConcern({ ...base, top1Agreement: 0.5 })!, /50\.0%/);
  assert.match(verificationConcern({ ...base, accuracyBefore: 0.985, accuracyAfter: 0.101 })!, /accuracy fell from 98\.5% to 10\.1%/);
  assert.equal(verificationConcern({ ...base, accuracyBefore: 0.985, accuracyAfter: 0.98 }), null);
  assert.match(verificationConcern({ ...base, maxAbs: NaN })!, /NaN/);
});

/**
 * The tail estimators' edge cases, one layer at a time (heavy-tails.md §2.2–2.3, "edge cases"):
 * the minimum-sample threshold, constant layers, the paper rule's refusal on a prime N, robust
 * zero dropping, and the work buffer. The values themselves are checked against numpy in
 * pipelineReference.test.ts; here each case is checked against a closed form or against the same
 * layer without the complication.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { truncationCandidates } from '../../src/core/analysis/mmo.ts';
import { sasSamples } from '../../src/core/analysis/prng.ts';
import { estimateTailIndices, type TailIndexResult, type TailOptions } from '../../src/core/analysis/tailIndex.ts';

const ROBUST: TailOptions = { mode: 'robust', seed: 7, permutations: 5, minSamples: 100 };
const PAPER: TailOptions = { ...ROBUST, mode: 'paper' };
const NO_ALTERNATIVES = { moment: null, momentRatio: null, pickands: null, paulauskas: null };

/** Runs the estimators on a copy (they consume the matrix). */
function run(data: ArrayLike<number>, rows: number, cols: number, opts: TailOptions, work?: Float64Array): TailIndexResult {
  return estimateTailIndices({ data: Float64Array.from(data), rows, cols }, opts, work);
}

const values = (r: TailIndexResult) => [r.multivariate.value, r.entries.value, r.norms.value, r.hill.value];

test('below minSamples every form names its N and the threshold; at exactly minSamples the estimate is the unthresholded one', () => {
  const x = sasSamples(1.5, 12 * 10, 3); // 12 rows × 10 columns: 12 rows, 120 entries
  const r = run(x, 12, 10, { ...ROBUST, minSamples: 121 });
  assert.deepEqual(
    [r.multivariate, r.entries, r.norms].map((e) => (e.value === null ? [e.reason, e.diagnostics?.N, e.diagnostics?.d] : e.value)),
    [
      ['too few samples (N = 12 < 121)', 12, 10],
      ['too few samples (N = 120 < 121)', 120, 1],
      ['too few samples (N = 12 < 121)', 12, 1],
    ],
  );
  assert.deepEqual(r.hill, { value: null, reason: 'too few samples (N = 120 < 121)' });
  assert.deepEqual(r.alternatives, NO_ALTERNATIVES);

  const at = run(x, 12, 10, { ...ROBUST, minSamples: 120 });
  // 13 also skips the 12-row forms, so the generator reaches the entries in the same state.
  const free = run(x, 12, 10, { ...ROBUST, minSamples: 13 });
  assert.equal(at.multivariate.value, null); // 12 rows < 120
  assert.deepEqual([at.entries.value, at.hill.value, at.alternatives], [free.entries.value, free.hill.value, free.alternatives]);
  assert.ok(typeof at.entries.value === 'number' && at.entries.value > 0.5 && at.entries.value <= 2);
});

test('a constant layer has no tail: the stable forms and Hill say why, and every alternative is null', () => {
  for (const opts of [ROBUST, PAPER]) {
    const r = run(new Float64Array(200 * 4).fill(0.25), 200, 4, opts);
    for (const e of [r.multivariate, r.entries, r.norms]) {
      assert.equal(e.value, null);
      assert.equal((e as { reason: string }).reason, 'constant or identical samples: the block sums do not grow');
    }
    assert.deepEqual(r.hill, { value: null, reason: 'constant samples: no tail to fit' });
    assert.deepEqual(r.alternatives, NO_ALTERNATIVES);
  }
});

test('paper mode refuses a prime number of rows as the authors\' code does; robust mode truncates and answers', () => {
  const x = sasSamples(1.6, 1009 * 2, 5); // 1009 rows (prime) × 2 columns: 2018 entries, which do divide
  const paper = run(x, 1009, 2, PAPER);
  assert.deepEqual(paper.multivariate, {
    value: null,
    reason: "paper mode: N = 1009 has no admissible block size (prime?); the authors' code fails here (robust mode truncates)",
    diagnostics: { N: 1009, d: 2, zeroFraction: 0 },
  });
  const robust = run(x, 1009, 2, ROBUST);
  assert.ok(robust.multivariate.value !== null);
  assert.equal(robust.multivariate.diagnostics.truncated, true);
  assert.deepEqual(robust.multivariate.diagnostics.candidates, truncationCandidates(1009));
  // The entries (2018 = 2 · 1009) divide: paper mode answers there, untruncated.
  assert.ok(paper.entries.value !== null);
  assert.equal(paper.entries.diagnostics.truncated, false);
});

test('Hill on a prime number of entries uses the truncation candidates', () => {
  const x = sasSamples(1.5, 64 * 8, 9);
  x[3] = 0;
  x[100] = 0;
  x[511] = 0; // robust mode drops the three exact zeros: 509 entries, a prime
  const r = run(x, 64, 8, ROBUST);
  assert.ok(r.hill.value !== null);
  assert.deepEqual(r.hill.diagnostics.candidates, truncationCandidates(509));
  assert.equal(r.hill.diagnostics.N, 509);
  assert.equal(r.hill.diagnostics.perCandidate.length, truncationCandidates(509).length);
});

test('robust mode drops all-zero rows: a layer with 50 zero rows inserted gives the same estimates; paper mode keeps them', () => {
  const rows = 200;
  const cols = 8;
  const a = sasSamples(1.4, rows * cols, 11);
  const padded = new Float64Array((rows + 50) * cols);
  for (let i = 0, src = 0; i < rows + 50; i++) {
    if (i % 5 === 2) continue; // every fifth row stays zero
    padded.set(a.subarray(src * cols, (src + 1) * cols), i * cols);
    src++;
  }
  const plain = run(a, rows, cols, ROBUST);
  const dropped = run(padded, rows + 50, cols, ROBUST);
  assert.deepEqual(values(dropped), values(plain));
  assert.equal(dropped.multivariate.diagnostics?.N, rows);
  assert.equal(dropped.multivariate.diagnostics?.zeroFraction, 50 / 250);
  const kept = run(padded, rows + 50, cols, PAPER);
  assert.equal(kept.multivariate.diagnostics?.N, rows + 50);
  assert.equal(kept.entries.diagnostics?.N, (rows + 50) * cols);
  assert.notEqual(kept.multivariate.value, plain.multivariate.value);
});

test('a one-column matrix (a 1×1 conv\'s kernel rows) gets a multivariate estimate, as numpy gives one (d = 1)', () => {
  const x = sasSamples(1.5, 300, 13);
  const r = run(x, 300, 1, ROBUST);
  assert.ok(r.multivariate.value !== null, (r.multivariate as { reason?: string }).reason);
  assert.equal(r.multivariate.diagnostics.d, 1);
  // With one column, the row norms are |centred entries|: the norms form differs, the entries form does not depend on d.
  assert.equal(r.entries.diagnostics?.N, 300);
});

test('the work buffer only holds the entries: a short, an exact and a long buffer give the same result as none', () => {
  const x = sasSamples(1.7, 120 * 6, 17);
  x[10] = 0;
  const none = run(x, 120, 6, ROBUST);
  for (const length of [10, 719, 720, 5000]) {
    const work = new Float64Array(length).fill(123.5);
    assert.deepEqual(run(x, 120, 6, ROBUST, work), none, `work buffer of ${length}`);
  }
});

/**
 * The blocked Gram kernel (linalg/gram.ts) and the eigensolver behind every spectrum, against
 * numpy's float64 eigvalsh of A.T @ A / A @ A.T (test/fixtures/scripts/make_gram_reference.py) on
 * random, rank-5 and ill-conditioned matrices whose shapes cross the 64-deep panels and the 4 × 4
 * tiles with remainders: every eigenvalue within 1e-10 of λ_max (issue 15's bound).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { smallerGram } from '../../src/core/linalg/gram.ts';
import { gramEigenvalues, gramEigenvaluesRawAndCentred } from '../../src/core/linalg/spectrum.ts';
import { symmetricEigenvalues } from '../../src/core/linalg/symmetricEigenvalues.ts';
import { GRAM_REFERENCE as REF, referenceMatrix as matrix, withinOfMax as within } from '../gramReference.ts';

// The large cases are the two-stage eigensolver's (test/integration/twoStageEigenvalues.test.ts).
for (const c of REF.cases.filter((x) => Math.min(x.m, x.n) < 640)) {
  test(`${c.kind} ${c.m}×${c.n}: eigenvalues of the blocked Gram within 1e-10·λ_max of numpy`, () => {
    const a = matrix(c.kind, c.m, c.n, c.seed);
    assert.ok(Math.abs(a[0]! - c.first) <= 1e-15 * Math.max(1, Math.abs(c.first)), 'same matrix as numpy');
    const { g, size } = smallerGram(a, c.m, c.n);
    assert.equal(size, Math.min(c.m, c.n));
    // The lower triangle only: the solver reads nothing else.
    for (let i = 0; i < size; i++) for (let j = i + 1; j < size; j++) assert.equal(g[i * size + j], 0);
    within(symmetricEigenvalues(g, size), c.eigenvalues, 'smallerGram');
    within(gramEigenvalues(a, c.m, c.n), c.eigenvalues, 'gramEigenvalues');
    within(gramEigenvaluesRawAndCentred(a, c.m, c.n, new Float64Array(c.n)).raw, c.eigenvalues, 'raw of the pair');
    if (c.kind === 'rank5') assert.ok(c.eigenvalues.slice(0, -5).every((e) => Math.abs(e) < 1e-12 * c.eigenvalues.at(-1)!), 'the reference has rank 5');
  });
}

test('the blocked Gram equals the plain sum of products on every entry, for shapes around the tile and panel sizes', () => {
  for (const [m, n] of [[1, 1], [2, 9], [9, 2], [4, 4], [5, 64], [64, 5], [65, 66], [66, 65], [127, 129], [3, 200]]) {
    const a = matrix('random', m!, n!, m! * 1000 + n!);
    const { g, size } = smallerGram(a, m!, n!);
    const depth = Math.max(m!, n!);
    const at = (i: number, t: number) => (m! >= n! ? a[t * n! + i]! : a[i * n! + t]!);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let t = 0; t < depth; t++) s += at(i, t) * at(j, t);
        assert.ok(Math.abs(g[i * size + j]! - s) <= 1e-13 * depth, `${m}×${n} (${i}, ${j}): ${g[i * size + j]} vs ${s}`);
      }
    }
  }
});

/**
 * Spectra as the analysis computes them on onnxruntime (runtime/ortLinalg.ts), for the matrices of
 * make_gram_reference.py past TWO_STAGE_MIN: onnxruntime's Gram, its centring, and the two-stage
 * eigensolver with the analysis's panel width. The raw spectrum within 1e-10·λ_max of numpy's
 * eigvalsh on random, rank-5 and ill-conditioned matrices; the centred one of the TypeScript path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnMedians } from '../../src/core/analysis/order.ts';
import { gramEigenvaluesRawAndCentred, gramEigenvaluesRawAndCentredOn, TWO_STAGE_MIN, twoStageBand } from '../../src/core/linalg/spectrum.ts';
import { ortLinalg } from '../../src/core/runtime/ortLinalg.ts';
import { GRAM_REFERENCE, referenceMatrix, withinOfMax } from '../gramReference.ts';

for (const c of GRAM_REFERENCE.cases.filter((x) => Math.min(x.m, x.n) >= TWO_STAGE_MIN)) {
  test(`${c.kind} ${c.m}×${c.n}: onnxruntime's Gram and the two-stage eigensolver within 1e-10·λ_max of numpy`, async () => {
    const k = await ortLinalg();
    assert.ok(k, 'onnxruntime-node loads its float64 kernels');
    const a = referenceMatrix(c.kind, c.m, c.n, c.seed);
    assert.ok(Math.abs(a[0]! - c.first) <= 1e-15 * Math.max(1, Math.abs(c.first)), 'same matrix as numpy');
    assert.equal(twoStageBand(Math.min(c.m, c.n)), 16);
    const med = columnMedians(a, c.m, c.n);
    const on = await gramEigenvaluesRawAndCentredOn(k, a, c.m, c.n, med);
    withinOfMax(on.raw, c.eigenvalues, 'raw');
    // The centred spectrum (once: the TypeScript path takes seconds here).
    if (c.kind === 'random') withinOfMax(on.centred, Array.from(gramEigenvaluesRawAndCentred(a, c.m, c.n, med).centred), 'centred vs TypeScript');
  });
}

test('the reference has one shape of each kind past TWO_STAGE_MIN', () => {
  assert.deepEqual(GRAM_REFERENCE.cases.filter((x) => Math.min(x.m, x.n) >= TWO_STAGE_MIN).map((x) => x.kind), ['random', 'rank5', 'illConditioned']);
});

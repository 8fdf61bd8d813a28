/**
 * The spec's spectral test vector (spectral_reference.py, numpy): the same synthetic post-ReLU
 * features from the same Mulberry32 stream, then N̂(λ), the eigenvalues, the greedy order, the
 * objective after each step and the next layer's reconstruction error, all to 1e-6.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { degreesOfFreedom, eigenvaluesDescending, leverageScores, SecondMoment } from '../../src/core/linalg/secondMoment.ts';
import { compensationMatrix, greedySpectralSelection, objectiveWeight } from '../../src/core/pruning/spectral.ts';
import { leverageDiagonalByElimination } from '../linalgReference.ts';
import { fixture } from '../helpers.ts';

const V = JSON.parse(fs.readFileSync(fixture('spec-vectors', 'spectral_test_vector.json'), 'utf8')) as {
  n: number; m: number; lambda: number; dof_N_hat: number; eigs_desc: number[]; theta: number;
  selected_J_in_order: number[]; objective_after_each_step: number[]; output_recon_mse: number; Sig00: number;
};

function synthetic() {
  const g = new Mulberry32(7);
  const [n, m, r] = [400, 12, 3];
  const draw = (rows: number, cols: number, f: (u: number) => number) => Array.from({ length: rows }, () => Array.from({ length: cols }, () => f(g.uniformOpen())));
  const U = draw(n, r, (u) => u - 0.5);
  const Vm = draw(r, m, (u) => u - 0.5);
  const E = draw(n, m, (u) => 0.05 * (u - 0.5));
  const phi = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let uv = 0;
      for (let p = 0; p < r; p++) uv += U[i]![p]! * Vm[p]![j]!;
      phi[i * m + j] = Math.max(uv * 4 + E[i]![j]!, 0);
    }
  }
  const w2 = Float64Array.from(draw(5, m, (u) => u - 0.5).flat()); // next layer, 5 × m
  return { n, m, phi, w2 };
}

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('spectral test vector: Σ̂, eigenvalues and N̂(λ)', () => {
  const { n, m, phi } = synthetic();
  const acc = new SecondMoment(m);
  acc.add(phi.subarray(0, 100 * m), 100); // streamed in two batches
  acc.add(phi.subarray(100 * m), n - 100);
  const s = acc.matrix();
  close(s[0]!, V.Sig00, 1e-12);
  let trace = 0;
  for (let i = 0; i < m; i++) trace += s[i * m + i]!;
  close((1e-3 * trace) / m, V.lambda, 1e-12);
  const eigs = eigenvaluesDescending(s, m);
  eigs.forEach((v, i) => close(v, V.eigs_desc[i]!, 1e-9));
  close(degreesOfFreedom(eigs, V.lambda), V.dof_N_hat, 1e-9);
  const q = leverageScores(s, m, V.lambda);
  close(q.reduce((a, b) => a + b, 0), 1, 1e-12);
  // q_j·N̂ = [(Σ+λI)⁻¹Σ]_jj, by plain elimination (test/linalgReference.ts).
  leverageDiagonalByElimination(s, m, V.lambda).forEach((d, j) => close(q[j]!, d / V.dof_N_hat, 1e-9));
});

test('spectral test vector: greedy order, objective after each step, and compensated next layer', () => {
  const { n, m, phi, w2 } = synthetic();
  const acc = new SecondMoment(m);
  acc.add(phi, n);
  const s = acc.matrix();
  const g = objectiveWeight(m, V.theta, [{ data: w2, rows: 5 }]);
  const tau = new Float64Array(m).fill(V.lambda);
  const sel = greedySpectralSelection(s, g, tau, m, 5);
  assert.deepEqual(sel.order, V.selected_J_in_order);
  sel.objective.forEach((v, i) => close(v, V.objective_after_each_step[i]!));
  // W2' = W2 Â in the selection's order; mean ‖W2 φ − W2' φ_J‖².
  const J = sel.order;
  const a = compensationMatrix(s, m, J, tau);
  let err = 0;
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < 5; o++) {
      let full = 0;
      let approx = 0;
      for (let j = 0; j < m; j++) full += w2[o * m + j]! * phi[i * m + j]!;
      for (let y = 0; y < J.length; y++) {
        let w = 0;
        for (let j = 0; j < m; j++) w += w2[o * m + j]! * a[j * J.length + y]!;
        approx += w * phi[i * m + J[y]!]!;
      }
      err += (full - approx) ** 2;
    }
  }
  close(err / n, V.output_recon_mse);
});

test('compensation with every node kept is the identity', () => {
  const { n, m, phi } = synthetic();
  const acc = new SecondMoment(m);
  acc.add(phi, n);
  const a = compensationMatrix(acc.matrix(), m, Array.from({ length: m }, (_, i) => i), new Float64Array(m).fill(0.1));
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) assert.equal(a[i * m + j], i === j ? 1 : 0);
});

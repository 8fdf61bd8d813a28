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

/** Σ̂ of the spec vector's features. */
function features() {
  const { n, m, phi, w2 } = synthetic();
  const acc = new SecondMoment(m);
  acc.add(phi, n);
  return { m, s: acc.matrix(), w2 };
}

/** Tr(G R_J), Tr(R_J) with R_J = Σ − Â Σ_JF, Â from compensationMatrix (Cholesky, not the greedy's rank-one updates). */
function residualTraces(s: Float64Array, g: Float64Array, m: number, kept: number[], tau: Float64Array): [number, number] {
  const r = Float64Array.from(s);
  if (kept.length) {
    const a = compensationMatrix(s, m, kept, tau);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) for (let y = 0; y < kept.length; y++) r[i * m + j] -= a[i * kept.length + y]! * s[kept[y]! * m + j]!;
  }
  let gr = 0;
  let tr = 0;
  for (let i = 0; i < m; i++) {
    tr += r[i * m + i]!;
    for (let j = 0; j < m; j++) gr += g[i * m + j]! * r[j * m + i]!;
  }
  return [gr, tr];
}

test('greedy selection: objective and activation error after every step equal Tr(G R_J) and Tr(R_J) recomputed', () => {
  const { m, s, w2 } = features();
  for (const theta of [0, 0.4, 1]) {
    const g = objectiveWeight(m, theta, [{ data: w2, rows: 5 }]);
    const tau = Float64Array.from({ length: m }, (_, j) => 0.01 * (1 + j / m)); // per-node ridge
    const sel = greedySpectralSelection(s, g, tau, m, m - 2);
    assert.equal(sel.order.length, m - 2);
    assert.equal(new Set(sel.order).size, m - 2);
    assert.equal(sel.objective.length, m - 1);
    for (let step = 0; step <= sel.order.length; step++) {
      const [gr, tr] = residualTraces(s, g, m, sel.order.slice(0, step), tau);
      close(sel.objective[step]!, gr, 1e-9);
      close(sel.activationError[step]!, tr, 1e-9);
    }
    // Each step takes the node that lowers the objective most: no other choice at step 2 does better.
    const before = sel.order.slice(0, 2);
    const taken = residualTraces(s, g, m, [...before, sel.order[2]!], tau)[0];
    for (let j = 0; j < m; j++) if (!sel.order.slice(0, 3).includes(j)) assert.ok(residualTraces(s, g, m, [...before, j], tau)[0] >= taken - 1e-12, `θ ${theta}: node ${j}`);
  }
});

test('greedy selection stops when the rule says so, before the step it is asked about', () => {
  const { m, s, w2 } = features();
  const g = objectiveWeight(m, 0.5, [{ data: w2, rows: 5 }]);
  const tau = new Float64Array(m).fill(0.01);
  const full = greedySpectralSelection(s, g, tau, m, 6);
  const seen: number[] = [];
  const stopped = greedySpectralSelection(s, g, tau, m, 6, (e) => {
    seen.push(e);
    return e <= full.activationError[2]!;
  });
  assert.deepEqual(stopped.order, full.order.slice(0, 2));
  assert.deepEqual(stopped.objective, full.objective.slice(0, 3));
  assert.deepEqual(seen, full.activationError.slice(0, 3)); // asked before steps 1, 2 and 3
  // A rule that never stops changes nothing.
  assert.deepEqual(greedySpectralSelection(s, g, tau, m, 6, () => false), full);
});

test('greedy selection breaks ties to the lowest index', () => {
  const m = 4;
  const eye = new Float64Array(m * m);
  for (let i = 0; i < m; i++) eye[i * m + i] = 1;
  const sel = greedySpectralSelection(eye, eye, new Float64Array(m).fill(0.1), m, m);
  assert.deepEqual(sel.order, [0, 1, 2, 3]);
  // Every step removes 1/(1 + 0.1) of a unit of activation energy.
  sel.activationError.forEach((e, i) => close(e, m - i / 1.1, 1e-15));
});

test('compensation of a reordered full set or a subset solves Â (Σ_JJ + I_τ) = Σ_FJ; objectiveWeight by hand', () => {
  const { m, s } = features();
  const tau = Float64Array.from({ length: m }, (_, j) => 0.02 + 0.001 * j);
  for (const kept of [[1, 0, ...Array.from({ length: m - 2 }, (_, i) => i + 2)], [3, 7, 0], [5]]) {
    const k = kept.length;
    const a = compensationMatrix(s, m, kept, tau);
    assert.equal(a.length, m * k);
    for (let i = 0; i < m; i++) {
      for (let y = 0; y < k; y++) {
        let lhs = 0;
        for (let x = 0; x < k; x++) lhs += a[i * k + x]! * (s[kept[x]! * m + kept[y]!]! + (x === y ? tau[kept[x]!]! : 0));
        close(lhs, s[i * m + kept[y]!]!, 1e-10);
      }
    }
  }
  // G = θI + (1 − θ) Σ_t Z_tᵀ Z_t, with two slices; θ = 1 is the identity.
  const z1 = { data: [1, 2, 0, -1, 3, 1], rows: 2 }; // 2 × 3
  const z2 = { data: [0, 1, 2], rows: 1 };
  const g = objectiveWeight(3, 0.25, [z1, z2]);
  const zz = [1 + 1, 2 - 3, 0 - 1, 2 - 3, 4 + 9 + 1, 3 + 2, 0 - 1, 3 + 2, 1 + 4]; // Σ ZᵀZ
  assert.deepEqual(Array.from(g), zz.map((v, i) => 0.75 * v + (i % 4 === 0 ? 0.25 : 0)));
  assert.deepEqual(Array.from(objectiveWeight(3, 1, [z1, z2])), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
});

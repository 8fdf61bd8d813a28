/**
 * The matrices of test/fixtures/scripts/make_gram_reference.py, regenerated bit for bit from
 * mulberry32, with numpy's eigenvalues of their smaller Gram matrices; and issue 15's bound.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import { fixture } from './helpers.ts';

export const GRAM_REFERENCE = JSON.parse(fs.readFileSync(fixture('expected', 'gram_reference.json'), 'utf8')) as {
  cases: Array<{ kind: 'random' | 'rank5' | 'illConditioned'; m: number; n: number; seed: number; first: number; eigenvalues: number[] }>;
};

export function referenceMatrix(kind: string, m: number, n: number, seed: number): Float64Array {
  const g = new Mulberry32(seed);
  const draw = (rows: number, cols: number) => Float64Array.from({ length: rows * cols }, () => g.uniformOpen() - 0.5);
  if (kind === 'random') return draw(m, n);
  if (kind === 'rank5') {
    const u = draw(m, 5);
    const v = draw(5, n);
    const a = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let r = 0; r < 5; r++) a[i * n + j] += u[i * 5 + r]! * v[r * n + j]!;
    return a;
  }
  const a = draw(m, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] *= 10 ** ((-6 * j) / (n - 1));
  return a;
}

export function withinOfMax(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-10 * scale, `${what} λ${i}: ${actual[i]} vs ${expected[i]}`);
}


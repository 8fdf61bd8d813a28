import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalShape, permuteAxes, toCanonical } from '../../src/core/tensor/layout.ts';

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

test('transpose maps (in, out) to (out, in)', () => {
  // stored [[0,1,2],[3,4,5]] (in=2, out=3) → [[0,3],[1,4],[2,5]]
  assert.deepEqual(canonicalShape({ kind: 'transpose' }, [2, 3]), [3, 2]);
  assert.deepEqual(Array.from(toCanonical({ kind: 'transpose' }, [2, 3], seq(6))), [0, 3, 1, 4, 2, 5]);
});

test('hwio maps a TF.js Conv2D kernel (kh, kw, in, out) to (out, in, kh, kw)', () => {
  const shape = [2, 3, 4, 5];
  const data = seq(120);
  const out = toCanonical({ kind: 'hwio' }, shape, data);
  assert.deepEqual(canonicalShape({ kind: 'hwio' }, shape), [5, 4, 2, 3]);
  // canonical[o][i][h][w] = stored[h][w][i][o]
  for (const [o, i, h, w] of [[0, 0, 0, 0], [4, 3, 1, 2], [2, 1, 0, 2], [3, 0, 1, 1]] as const) {
    assert.equal(out[((o * 4 + i) * 2 + h) * 3 + w], data[((h * 3 + w) * 4 + i) * 5 + o]);
  }
});

test('hwio also handles Conv1D kernels (k, in, out)', () => {
  const out = toCanonical({ kind: 'hwio' }, [3, 2, 2], seq(12));
  // canonical[o][i][k] = stored[k][i][o] = k*4 + i*2 + o
  assert.deepEqual(canonicalShape({ kind: 'hwio' }, [3, 2, 2]), [2, 2, 3]);
  assert.deepEqual(Array.from(out), [0, 4, 8, 2, 6, 10, 1, 5, 9, 3, 7, 11]);
});

test('hwim maps a depthwise kernel (kh, kw, in, mult) to (in·mult, 1, kh, kw)', () => {
  const shape = [1, 2, 3, 2];
  const out = toCanonical({ kind: 'hwim' }, shape, seq(12));
  assert.deepEqual(canonicalShape({ kind: 'hwim' }, shape), [6, 1, 1, 2]);
  // row (i*mult+m), column w = stored[0][w][i][m] = w*6 + i*2 + m
  assert.deepEqual(Array.from(out), [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]);
});

test('swap01 maps ConvTranspose (in, out, kh, kw) to (out, in, kh, kw)', () => {
  const out = toCanonical({ kind: 'swap01' }, [2, 3, 1, 1], seq(6));
  assert.deepEqual(Array.from(out), [0, 3, 1, 4, 2, 5]);
});

test('merge-leading folds ONNX recurrent (dirs, gates·hidden, in) into rows', () => {
  assert.deepEqual(canonicalShape({ kind: 'merge-leading' }, [2, 12, 5]), [24, 5]);
});

test('permuteAxes agrees with index arithmetic, and a permutation followed by its inverse is the identity', () => {
  const shape = [2, 3, 4, 5];
  const data = Float32Array.from({ length: 120 }, (_, i) => i);
  const nhwc = permuteAxes(data, shape, [0, 2, 3, 1]); // NCHW → NHWC
  for (let n = 0; n < 2; n++)
    for (let c = 0; c < 3; c++)
      for (let h = 0; h < 4; h++)
        for (let w = 0; w < 5; w++) assert.equal(nhwc[((n * 4 + h) * 5 + w) * 3 + c], ((n * 3 + c) * 4 + h) * 5 + w);
  assert.deepEqual(permuteAxes(nhwc, [2, 4, 5, 3], [0, 3, 1, 2]), data);
  assert.deepEqual(permuteAxes(Float64Array.of(1, 2, 3, 4, 5, 6), [2, 3], [1, 0]), Float64Array.of(1, 4, 2, 5, 3, 6));
});

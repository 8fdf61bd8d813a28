/**
 * The gate trainer's Adam: equal to tfjs' own Adam step for step, and, after `carry` keeps some
 * entries of a variable, equal to Adam run on those entries alone from the start (Adam is
 * elementwise, so the moments of the kept units are all it needs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTfjs } from '../../src/core/runtime/loadTfjs.ts';
import { Adam } from '../../src/core/training/adam.ts';

const GRADS = [
  [0.5, -1, 2, 0.25, -0.75, 1.5],
  [0.1, 0.3, -0.2, 0.05, 1, -2],
  [-0.4, 0.9, 0.6, -1.2, 0.2, 0.7],
  [2, -0.5, 0.3, 0.8, -0.1, 0.05],
  [0.6, 0.2, -1.1, 0.4, 0.9, -0.3],
];
const START = [1, -2, 0.5, 3, -0.25, 0];

test('Adam matches tf.train.adam step for step', async () => {
  const { tf } = await loadTfjs();
  const ours = tf.variable(tf.tensor2d(START, [2, 3]));
  const theirs = tf.variable(tf.tensor2d(START, [2, 3]));
  const adam = new Adam(tf, 0.01);
  const reference = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  for (const g of GRADS) {
    adam.step([[ours, tf.tensor2d(g, [2, 3])]]);
    reference.applyGradients([{ name: theirs.name, tensor: tf.tensor2d(g, [2, 3]) }]);
  }
  const [a, b] = [ours.dataSync(), theirs.dataSync()];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `${i}: ${a[i]} vs ${b[i]}`);
  assert.ok(Math.abs(a[0]! - START[0]!) > 0.01, `the variable moved: ${a[0]}`); // 5 steps of up to lr each
});

test('after carry, the kept columns continue exactly as Adam on those columns alone', async () => {
  const { tf } = await loadTfjs();
  const keep = [0, 2];
  const cols = (row: number[]) => [row[0]!, row[2]!, row[3]!, row[5]!]; // columns 0 and 2 of a 2 × 3 matrix
  let full = tf.variable(tf.tensor2d(START, [2, 3]));
  const alone = tf.variable(tf.tensor2d(cols(START), [2, 2]));
  const a = new Adam(tf, 0.05);
  const b = new Adam(tf, 0.05);
  GRADS.forEach((g, t) => {
    if (t === 3) {
      const idx = tf.tensor1d(keep, 'int32');
      const smaller = tf.variable(tf.gather(full, idx, 1));
      a.carry(full, smaller, idx, 1);
      full = smaller;
    }
    a.step([[full, t < 3 ? tf.tensor2d(g, [2, 3]) : tf.tensor2d(cols(g), [2, 2])]]);
    b.step([[alone, tf.tensor2d(cols(g), [2, 2])]]);
  });
  assert.deepEqual(full.shape, [2, 2]);
  const [x, y] = [full.dataSync(), alone.dataSync()];
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) < 1e-6, `${i}: ${x[i]} vs ${y[i]}`);
});

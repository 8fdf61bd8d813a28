import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTfjs } from '../../src/core/formats/tfjs/readTfjs.ts';
import { canonicalShape } from '../../src/core/tensor/layout.ts';
import { MATRIX_KINDS } from '../../src/core/checkpoint.ts';
import { expected, fixture, sha256OfValues } from '../helpers.ts';

for (const name of ['cnn', 'rnn', 'quantized', 'graph']) {
  test(`tfjs ${name}: params, weightParams and decoded values match tfjs's own numbers`, () => {
    const exp = expected(`tfjs-${name}`);
    const ck = readTfjs(fixture('tfjs', name, 'model.json'));
    try {
      assert.equal(ck.format, name === 'graph' ? 'tfjs-graph' : 'tfjs-layers');
      assert.equal(ck.weights.reduce((n, w) => n + w.size, 0), exp.params);
      assert.equal(ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind)).reduce((n, w) => n + w.size, 0), exp.weightParams);
      assert.deepEqual(ck.weights.map((w) => w.name).sort(), Object.keys(exp.tensors).sort());
      for (const w of ck.weights) {
        assert.equal(sha256OfValues(w.read()), exp.tensors[w.name]!.sha256, `${w.name} decoded values differ from tfjs's`);
      }
      for (const [tensor, kind] of Object.entries(exp.kinds ?? {})) {
        assert.equal(ck.weights.find((w) => w.name === tensor)?.layer.kind, kind, tensor);
      }
    } finally {
      ck.close();
    }
  });
}

test('tfjs cnn: weights spanning shard boundaries, Keras kinds and canonical shapes', () => {
  const ck = readTfjs(fixture('tfjs', 'cnn', 'model.json'));
  const rows = Object.fromEntries(ck.weights.map((w) => [w.name, `${w.layer.kind} ${canonicalShape(w.layer.layout, w.shape).join('x')}`]));
  assert.deepEqual(rows, {
    'conv/kernel': 'conv 4x2x3x3',
    'conv/bias': 'bias 4',
    'bn/gamma': 'norm 4',
    'bn/beta': 'norm 4',
    'bn/moving_mean': 'norm 4',
    'bn/moving_variance': 'norm 4',
    'dw/depthwise_kernel': 'depthwise-conv 8x1x3x3',
    'dw/bias': 'bias 8',
    'sep/depthwise_kernel': 'depthwise-conv 8x1x3x3',
    'sep/pointwise_kernel': 'conv 6x8x1x1',
    'sep/bias': 'bias 6',
    'fc1/kernel': 'dense 12x216',
    'fc1/bias': 'bias 12',
    'fc2/kernel': 'dense 5x12',
    'fc2/bias': 'bias 5',
  });
  ck.close();
});

test('tfjs quantized: uint8/uint16 are reported as quantized with their min/scale, float16 is dequantized', () => {
  const ck = readTfjs(fixture('tfjs', 'quantized', 'model.json'));
  const q = Object.fromEntries(ck.weights.map((w) => [w.name, `${w.dtype}:${w.quantized?.scheme ?? '-'}`]));
  assert.deepEqual(q, {
    'q1/kernel': 'uint8:affine',
    'q1/bias': 'uint8:affine',
    'q2/kernel': 'uint16:affine',
    'q2/bias': 'uint16:affine',
    'q3/kernel': 'float16:-',
    'q3/bias': 'float16:-',
  });
  ck.close();
});

test('tfjs rnn: LSTM kernel and recurrent kernel are recurrent, embeddings are an embedding', () => {
  const ck = readTfjs(fixture('tfjs', 'rnn', 'model.json'));
  const k = Object.fromEntries(ck.weights.map((w) => [w.name, `${w.layer.kind} ${canonicalShape(w.layer.layout, w.shape).join('x')}`]));
  assert.equal(k['lstm/kernel'], 'recurrent 40x8');
  assert.equal(k['lstm/recurrent_kernel'], 'recurrent 40x10');
  assert.equal(k['emb/embeddings'], 'embedding 30x8');
  ck.close();
});

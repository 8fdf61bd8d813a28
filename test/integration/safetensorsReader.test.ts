import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSafetensors, readSafetensorsIndex } from '../../src/core/formats/safetensors/readSafetensors.ts';
import { MATRIX_KINDS } from '../../src/core/checkpoint.ts';
import { expected, fixture, sha256OfValues } from '../helpers.ts';

const cases = [
  ['single file', () => readSafetensors(fixture('safetensors', 'model.safetensors'))],
  ['sharded index', () => readSafetensorsIndex(fixture('safetensors', 'sharded', 'model.safetensors.index.json'))],
] as const;

for (const [label, open] of cases) {
  test(`safetensors ${label}: params, inferred kinds and decoded values match numpy`, () => {
    const exp = expected('safetensors');
    const ck = open();
    try {
      assert.equal(ck.weights.reduce((n, w) => n + w.size, 0), exp.params);
      assert.equal(ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind)).reduce((n, w) => n + w.size, 0), exp.weightParams);
      assert.deepEqual(ck.weights.map((w) => w.name).sort(), Object.keys(exp.tensors).sort()); // the I64 counter is not a weight
      for (const w of ck.weights) {
        assert.equal(sha256OfValues(w.read()), exp.tensors[w.name]!.sha256, w.name);
        assert.equal(w.layer.inferred, true);
      }
      for (const [tensor, kind] of Object.entries(exp.kinds!)) assert.equal(ck.weights.find((w) => w.name === tensor)?.layer.kind, kind, tensor);
      assert.match(ck.warnings.join(' '), /inferred from tensor names and shapes/);
      assert.equal(ck.weights.find((w) => w.name === 'fc.weight')!.dtype, 'float16');
      assert.equal(ck.weights.find((w) => w.name === 'extra.bf16.weight')!.dtype, 'bfloat16');
    } finally {
      ck.close();
    }
  });
}

test('safetensors: only the header is read up front', () => {
  const ck = readSafetensors(fixture('safetensors', 'model.safetensors'));
  const header = ck.bytesRead();
  const total = ck.weights.reduce((n, w) => n + w.byteLength, 0);
  for (const w of ck.weights) w.read();
  assert.equal(ck.bytesRead() - header, total);
  ck.close();
});

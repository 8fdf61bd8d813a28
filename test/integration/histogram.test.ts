import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { expected, fixture } from '../helpers.ts';

type Hist = { min: number; max: number; counts: number[] };
const reference = expected('histograms') as unknown as Record<string, Hist>;

for (const model of ['onnx/mlp.onnx', 'onnx/cnn_bn.onnx']) {
  test(`weight histograms of ${model} equal numpy.histogram's`, async () => {
    const report = await analyzeModel(fixture(model), { workers: 0, spectra: false });
    const names = Object.keys(reference).filter((k) => k.startsWith(`${model}:`));
    assert.ok(names.length >= 3);
    for (const key of names) {
      const layer = report.layers.find((l) => `${model}:${l.name}` === key);
      assert.ok(layer?.histogram, key);
      assert.deepEqual(layer.histogram, reference[key], key);
    }
  });
}

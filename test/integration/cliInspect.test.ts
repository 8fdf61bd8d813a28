import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { expected, fixture, runCli } from '../helpers.ts';

const CASES: Array<[string, string, string]> = [
  ['onnx/mlp.onnx', 'mlp.onnx', 'onnx'],
  ['onnx/cnn_bn.onnx', 'cnn_bn.onnx', 'onnx'],
  ['onnx/lstm.onnx', 'lstm.onnx', 'onnx'],
  ['onnx/mlp_external.onnx', 'mlp_external.onnx', 'onnx'],
  ['onnx/constants.onnx', 'constants.onnx', 'onnx'],
  ['onnx/dtypes.onnx', 'dtypes.onnx', 'onnx'],
  ['tfjs/cnn/model.json', 'tfjs-cnn', 'tfjs-layers'],
  ['tfjs/rnn/model.json', 'tfjs-rnn', 'tfjs-layers'],
  ['tfjs/quantized/model.json', 'tfjs-quantized', 'tfjs-layers'],
  ['tfjs/graph/model.json', 'tfjs-graph', 'tfjs-graph'],
  ['safetensors/model.safetensors', 'safetensors', 'safetensors'],
  ['safetensors/sharded/model.safetensors.index.json', 'safetensors', 'safetensors'],
];

for (const [file, ref, format] of CASES) {
  test(`inspect --json ${file}: one JSON object whose totals equal the independent reference`, () => {
    const r = runCli(['inspect', fixture(...file.split('/')), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout); // throws unless stdout is exactly one JSON document
    const exp = expected(ref);
    assert.equal(out.format, format);
    assert.equal(out.totals.params, exp.params);
    assert.equal(out.totals.weightParams, exp.weightParams);
    // Every file of the model: a TF.js or sharded folder is all model files; ONNX external data is one more.
    const main = fixture(...file.split('/'));
    const files = format.startsWith('tfjs') || file.includes('sharded') ? fs.readdirSync(path.dirname(main)).map((f) => path.join(path.dirname(main), f)) : file.includes('external') ? [main, fixture('onnx', 'mlp_external.weights')] : [main];
    assert.equal(out.totals.files, files.length);
    assert.equal(out.totals.fileBytes, files.reduce((a, f) => a + fs.statSync(f).size, 0));
    assert.equal(out.layers.reduce((n: number, l: { params: number }) => n + l.params, 0), exp.params);
    for (const key of ['format', 'producer', 'opset', 'layers', 'totals']) assert.ok(key in out, key);
    for (const l of out.layers) {
      for (const key of ['name', 'kind', 'op', 'shape', 'dtype', 'params', 'quantized']) assert.ok(key in l, `${l.name}.${key}`);
      assert.equal(l.shape.reduce((a: number, b: number) => a * b, 1), l.params, `${l.name} canonical shape keeps the element count`);
    }
  });
}

test('inspect --json reports quantized layers and the ONNX opset', () => {
  const out = JSON.parse(runCli(['inspect', fixture('onnx', 'dtypes.onnx'), '--json']).stdout);
  assert.equal(out.opset, 13);
  assert.equal(out.producer, 'prunescope-fixtures');
  assert.deepEqual(
    out.layers.filter((l: { quantized: boolean }) => l.quantized).map((l: { name: string; dtype: string }) => `${l.name}:${l.dtype}`).sort(),
    ['w_q8:int8', 'w_qu8:uint8'],
  );
  assert.equal(out.totals.bytes, 4 * 6 * 2 + 6 * 5 * 2 + 5 * 3 * 2 + 9 * 4 + 6 * 8 + 14 + 4 + 21 + 12);
});

test('inspect (text) prints the layer table and the totals line', () => {
  const r = runCli(['inspect', fixture('onnx', 'cnn_bn.onnx')]);
  assert.equal(r.status, 0);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^cnn_bn\.onnx: onnx, made by pytorch 1\.13\.0, opset 13$/);
  assert.match(lines[2]!, /^name\s+kind\s+op\s+shape \(out×in×kh×kw\)\s+dtype\s+params$/);
  assert.ok(lines.some((l) => /^\S+\s+depthwise-conv\s+Conv\s+8×1×3×3\s+float32\s+72$/.test(l)), r.stdout);
  assert.match(r.stdout, new RegExp(`11 weight tensors · 570 params · 512 in weight matrices/kernels · 2\\.2 KiB stored · ${(fs.statSync(fixture('onnx', 'cnn_bn.onnx')).size / 1024).toFixed(1).replace('.', '\\.')} KiB on disk in 1 file$`, 'm'));
});

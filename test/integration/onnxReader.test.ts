import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readOnnx } from '../../src/core/formats/onnx/readOnnx.ts';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { expected, fixture, floatBytes, paramsByKind, sha256OfValues, tempDir } from '../helpers.ts';

const FIXTURES = ['mlp', 'cnn_bn', 'lstm', 'mlp_external', 'constants', 'dtypes'];

for (const name of FIXTURES) {
  test(`${name}.onnx: totals, kinds and every decoded tensor match the onnx/torch reference`, () => {
    const exp = expected(`${name}.onnx`);
    const ck = readOnnx(fixture('onnx', `${name}.onnx`));
    try {
      assert.equal(ck.format, 'onnx');
      assert.equal(ck.producer, exp.producer);
      assert.equal(ck.opset, exp.opset);
      assert.equal(ck.weights.reduce((n, w) => n + w.size, 0), exp.params);
      assert.deepEqual(ck.weights.map((w) => w.name).sort(), Object.keys(exp.tensors).sort());
      if (exp.paramsByKind) assert.deepEqual(paramsByKind(ck), exp.paramsByKind);
      for (const w of ck.weights) {
        const e = exp.tensors[w.name]!;
        assert.deepEqual(w.shape, e.dims, w.name);
        assert.equal(w.quantized !== undefined, e.quantized, `${w.name} quantized`);
        assert.equal(sha256OfValues(w.read()), e.sha256, `${w.name} (${w.dtype}) decoded values differ from numpy's`);
        if (w.readInto) {
          const into = new Float64Array(w.size);
          w.readInto(into);
          assert.deepEqual(into, Float64Array.from(w.read()), `${w.name}: chunked readInto differs from read`);
        }
      }
      for (const [tensor, kind] of Object.entries(exp.kinds ?? {})) {
        assert.equal(ck.weights.find((w) => w.name === tensor)?.layer.kind, kind, tensor);
      }
    } finally {
      ck.close();
    }
  });
}

test('constants.onnx: Constant-node weights and initializers inside If branches and a Loop body are found', () => {
  const ck = readOnnx(fixture('onnx', 'constants.onnx'));
  const byName = new Map(ck.weights.map((w) => [w.name, w]));
  assert.equal(byName.get('w1')!.layer.op, 'main_matmul');
  assert.equal(byName.get('w_then')!.layer.op, 'then_matmul');
  assert.equal(byName.get('w_else')!.layer.op, 'else_matmul');
  assert.equal(byName.get('w_loop')!.layer.op, 'loop_matmul');
  assert.equal(byName.get('w_loop_init')!.layer.op, 'loop_matmul2');
  assert.deepEqual(
    ck.ops.filter((o) => o.graph !== '').map((o) => `${o.graph}:${o.name}`).sort(),
    [
      'branch/else_branch:else_matmul',
      'branch/then_branch:then_const',
      'branch/then_branch:then_matmul',
      'loop/body:loop_cond',
      'loop/body:loop_const',
      'loop/body:loop_matmul',
      'loop/body:loop_matmul2',
    ],
  );
  ck.close();
});

test('cnn_bn.onnx: conv kinds, BatchNorm inputs and the canonical layouts', () => {
  const ck = readOnnx(fixture('onnx', 'cnn_bn.onnx'));
  const kinds = ck.weights.map((w) => `${w.layer.opType}:${w.layer.kind}:${w.shape.join('x')}`).sort();
  assert.deepEqual(kinds.filter((k) => k.startsWith('Conv:') && !k.includes('bias')), [
    'Conv:conv:8x3x3x3',
    'Conv:depthwise-conv:8x1x3x3',
    'Conv:grouped-conv:16x4x1x1',
  ]);
  assert.equal(ck.weights.filter((w) => w.layer.opType === 'BatchNormalization' && w.layer.kind === 'norm').length, 4);
  const fc = ck.weights.find((w) => w.layer.opType === 'Gemm' && w.layer.kind === 'dense')!;
  assert.deepEqual(fc.layer.layout, { kind: 'identity' }); // transB = 1 from torch
  ck.close();
});

test('lstm.onnx: W and R are recurrent (rows = gates·hidden), the table feeding Gather is an embedding', () => {
  const ck = readOnnx(fixture('onnx', 'lstm.onnx'));
  const rec = ck.weights.filter((w) => w.layer.kind === 'recurrent').map((w) => [w.layer.inputIndex, w.shape.join('x')]);
  assert.deepEqual(rec.sort(), [[1, '1x96x16'], [2, '1x96x24']]);
  assert.equal(ck.weights.find((w) => w.name === 'emb.weight')!.layer.kind, 'embedding');
  ck.close();
});

test('dtypes.onnx: fp16/bf16 raw, typed *_data fields, float64 and per-axis uint8 dequantization', () => {
  const ck = readOnnx(fixture('onnx', 'dtypes.onnx'));
  const w = (n: string) => ck.weights.find((x) => x.name === n)!;
  assert.deepEqual(
    ck.weights.map((x) => `${x.name}:${x.dtype}`).sort(),
    ['w_bf16:bfloat16', 'w_f16:float16', 'w_f16_typed:float16', 'w_f32_typed:float32', 'w_f64:float64', 'w_q8:int8', 'w_q8_scale:float32', 'w_qu8:uint8', 'w_qu8_scale:float32'],
  );
  assert.ok(w('w_f64').read() instanceof Float64Array);
  assert.deepEqual(w('w_qu8').quantized, { scheme: 'linear', storedDtype: 'uint8', scale: 'w_qu8_scale', zeroPoint: 'w_qu8_zp', axis: 1 });
  assert.equal(w('w_q8').layer.kind, 'dense'); // classified through DequantizeLinear
  assert.equal(w('w_f16').layer.kind, 'dense'); // classified through Cast
  // Typed-field tensors re-encode to the same packed bytes they decode from.
  const typed = w('w_f16_typed');
  assert.equal(typed.readBytes().length, typed.byteLength);
  ck.close();
});

test('raw_data at odd file offsets decodes correctly (no misaligned typed views)', () => {
  const exp = expected('mlp.onnx');
  const ck = readOnnx(fixture('onnx', 'mlp.onnx'));
  // At least one payload of this fixture starts at an odd offset; its values still match numpy.
  const file = fs.readFileSync(fixture('onnx', 'mlp.onnx'));
  const odd = ck.weights.filter((w) => {
    const bytes = w.readBytes();
    const at = file.indexOf(Buffer.from(bytes));
    return at % 4 !== 0;
  });
  assert.ok(odd.length > 0, 'fixture should contain an unaligned raw_data');
  for (const w of odd) assert.equal(sha256OfValues(w.read()), exp.tensors[w.name]!.sha256);
  ck.close();
});

test('reading the structure reads no tensor bytes; reading a tensor reads exactly its bytes', () => {
  const { dir, cleanup } = tempDir();
  try {
    const n = 2_000_000; // 8 MB initializer
    const file = path.join(dir, 'big.onnx');
    buildOnnxModel({
      producer: 'test',
      opset: 13,
      graphName: 'g',
      inputs: [{ name: 'x', elemType: 1, dims: [1, 1000] }],
      outputs: [{ name: 'y', elemType: 1, dims: [1, 2000] }],
      nodes: [{ name: 'mm', opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dataType: 1, dims: [1000, 2000], raw: floatBytes(Array.from({ length: n }, (_, i) => i % 7)) }],
    }).writeToFile(file);
    const ck = readOnnx(file);
    const structureBytes = ck.bytesRead();
    assert.ok(structureBytes < 70_000, `structure read ${structureBytes} bytes of ${fs.statSync(file).size}`);
    const values = ck.weights[0]!.read();
    assert.equal(ck.bytesRead() - structureBytes, n * 4);
    assert.equal(values[13], 6);
    assert.deepEqual(ck.weights[0]!.layer, { kind: 'dense', op: 'mm', opType: 'MatMul', inputIndex: 1, layout: { kind: 'transpose' }, inferred: false });
    ck.close();
  } finally {
    cleanup();
  }
});

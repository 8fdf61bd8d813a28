/**
 * The ONNX side of structured edits (pruning/structured/onnxGraphEdits.ts): every data type's
 * little-endian encoding, written out byte by byte here, and Constant-node weights made writable
 * on test/fixtures/onnx/constants.onnx (a main-graph Constant `w1` at main-graph position 0, an
 * initializer `w_else` and Constants inside an If branch and a Loop body).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import type { InitializerReplacement } from '../../src/core/formats/onnx/writeOnnx.ts';
import { constantsAsInitializers, encodeByDataType } from '../../src/core/pruning/structured/onnxGraphEdits.ts';
import { fixture } from '../helpers.ts';

const bytes = (b: Uint8Array) => [...b];
const floatBytes = (a: Float32Array | Float64Array) => [...new Uint8Array(a.buffer)];

test('every ONNX data type encodes little-endian, integers rounded', () => {
  const v = [1, -2, 3.6];
  assert.deepEqual(bytes(encodeByDataType(v, 1)), floatBytes(Float32Array.from(v)));
  assert.deepEqual(bytes(encodeByDataType(v, 11)), floatBytes(Float64Array.from(v)));
  // float16: 1 = 0x3C00, −2 = 0xC000, 3.6 → 1.8·2¹, mantissa round(0.8·1024) = 819 = 0x333: 0x4333
  assert.deepEqual(bytes(encodeByDataType(v, 10)), [0x00, 0x3c, 0x00, 0xc0, 0x33, 0x43]);
  // bfloat16: the top half of float32 rounded to nearest (3.6 = 0x40666666 → 0x4066)
  assert.deepEqual(bytes(encodeByDataType(v, 16)), [0x80, 0x3f, 0x00, 0xc0, 0x66, 0x40]);
  assert.deepEqual(bytes(encodeByDataType(v, 2)), [1, 0xfe, 4]); // uint8 wraps −2
  assert.deepEqual(bytes(encodeByDataType([1, 0, 1], 9)), [1, 0, 1]); // bool
  assert.deepEqual(bytes(encodeByDataType(v, 3)), [1, 0xfe, 4]); // int8
  assert.deepEqual(bytes(encodeByDataType(v, 4)), [1, 0, 0xfe, 0xff, 4, 0]); // uint16
  assert.deepEqual(bytes(encodeByDataType(v, 5)), [1, 0, 0xfe, 0xff, 4, 0]); // int16
  assert.deepEqual(bytes(encodeByDataType(v, 6)), [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 4, 0, 0, 0]); // int32
  assert.deepEqual(bytes(encodeByDataType(v, 12)), [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 4, 0, 0, 0]); // uint32
  const int64 = [1, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 4, 0, 0, 0, 0, 0, 0, 0];
  assert.deepEqual(bytes(encodeByDataType(v, 7)), int64);
  assert.deepEqual(bytes(encodeByDataType(v, 13)), int64);
  assert.deepEqual(bytes(encodeByDataType([300], 6)), [0x2c, 0x01, 0, 0]);
  assert.throws(() => encodeByDataType(v, 8), { name: 'RangeError', message: 'no encoder for ONNX data type 8' }); // string
});

test('a main-graph Constant that is replaced becomes an initializer and its node goes; initializers and subgraph constants are left alone', () => {
  const ck = openCheckpoint(fixture('onnx', 'constants.onnx'));
  const r = (n: number): InitializerReplacement => ({ dims: [n], dataType: 1, raw: new Uint8Array(4 * n) });
  const extra = { name: 'extra', ...r(1) };
  const e = constantsAsInitializers(ck, {
    replace: new Map([['w1', r(2)], ['w_else', r(3)], ['w_then', r(4)]]),
    add: [extra],
    remove: new Set(['w_loop_init']),
    dropNodes: new Set([3]),
  });
  assert.deepEqual([...e.replace.keys()], ['w_else', 'w_then']);
  assert.deepEqual(e.add, [extra, { name: 'w1', ...r(2) }]);
  assert.deepEqual([...e.dropNodes!].sort(), [0, 3]);
  assert.deepEqual([...e.remove!], ['w_loop_init']);

  // Removed: the Constant's node goes instead (no initializer of that name exists to drop).
  const d = constantsAsInitializers(ck, { replace: new Map(), remove: new Set(['w1', 'w_loop_init']) });
  assert.deepEqual([...d.remove!], ['w_loop_init']);
  assert.deepEqual([...d.dropNodes!], [0]);
  assert.deepEqual(d.add, []);
  // A name no Constant produces (the MatMul's output) is left as it is; no remove list is fine.
  const h = constantsAsInitializers(ck, { replace: new Map([['h', r(2)]]) });
  assert.deepEqual([...h.replace.keys()], ['h']);
  assert.deepEqual([...h.dropNodes!], []);
  assert.deepEqual([...h.remove!], []);
  ck.close();
  // Positions count main-graph nodes: the export whose weights are all Constant nodes, third of them.
  const rc = openCheckpoint(fixture('onnx', 'zoo', 'resnet_constants_op13.onnx'));
  const c = constantsAsInitializers(rc, { replace: new Map([['onnx::Conv_126', r(1)]]), remove: new Set(['fc.bias']) });
  assert.deepEqual([...c.dropNodes!].sort(), [1, 2]);
  assert.deepEqual(c.add!.map((a) => a.name), ['onnx::Conv_126']);
  rc.close();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeValues, elementCount, floatToHalf, halfToFloat } from '../../src/core/tensor/dtype.ts';

test('halfToFloat decodes the IEEE binary16 landmarks exactly', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504); // largest normal
  assert.equal(halfToFloat(0x0400), 2 ** -14); // smallest normal
  assert.equal(halfToFloat(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.ok(Object.is(halfToFloat(0x8000), -0));
});

test('floatToHalf rounds to nearest even and round-trips every finite half', () => {
  for (let h = 0; h < 0x7c00; h++) assert.equal(floatToHalf(halfToFloat(h)), h);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie → even (down)
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(floatToHalf(70000), 0x7c00); // overflow → inf
});

test('decodeValues decodes bfloat16 as the top half of float32', () => {
  const bits = new Uint16Array([0x3f80, 0xc040, 0x3eaa]); // 1, -3, 0.33203125
  assert.deepEqual(Array.from(decodeValues(new Uint8Array(bits.buffer), 'bfloat16', 3)), [1, -3, 0.33203125]);
});

test('decodeValues copies unaligned views before typed access', () => {
  const backing = new Uint8Array(13);
  new DataView(backing.buffer).setFloat32(1, 1.5, true);
  new DataView(backing.buffer).setFloat32(5, -2.25, true);
  assert.deepEqual(Array.from(decodeValues(backing.subarray(1, 9), 'float32', 2)), [1.5, -2.25]);
});

test('decodeValues reads int64 and int8 little-endian', () => {
  const i64 = new BigInt64Array([-3n, 2n ** 40n]);
  assert.deepEqual(Array.from(decodeValues(new Uint8Array(i64.buffer), 'int64', 2)), [-3, 2 ** 40]);
  assert.deepEqual(Array.from(decodeValues(Uint8Array.from([0xff, 0x80, 0x7f]), 'int8', 3)), [-1, -128, 127]);
});

test('elementCount rejects negative, fractional and overflowing shapes', () => {
  assert.equal(elementCount([3, 4, 5]), 60);
  assert.equal(elementCount([]), 1);
  assert.equal(elementCount([0, 7]), 0);
  assert.equal(elementCount([-1, 4]), undefined);
  assert.equal(elementCount([2.5]), undefined);
  assert.equal(elementCount([2 ** 30, 2 ** 30, 2 ** 30]), undefined);
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readNpy } from '../../src/core/formats/npy.ts';
import { fixture, tempDir } from '../helpers.ts';

const EXPECTED = JSON.parse(fs.readFileSync(fixture('expected', 'npy.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;

for (const [name, e] of Object.entries(EXPECTED)) {
  test(`readNpy ${name}: shape and values equal numpy's`, () => {
    const a = readNpy(fixture('npy', `${name}.npy`));
    assert.deepEqual(a.shape, e.shape);
    assert.deepEqual(Array.from(a.values), e.values.map((v) => (a.values instanceof Float32Array ? Math.fround(v) : v)));
  });
}

test('readNpy: clear errors for non-npy, truncated and big-endian files', () => {
  const { dir, cleanup } = tempDir();
  try {
    const bad = path.join(dir, 'a.npy');
    fs.writeFileSync(bad, 'not numpy at all');
    assert.throws(() => readNpy(bad), /a\.npy: not a \.npy file/);
    const full = fs.readFileSync(fixture('npy', 'mlp_x.npy'));
    fs.writeFileSync(bad, full.subarray(0, full.length - 8));
    assert.throws(() => readNpy(bad), /truncated: shape \(40, 20\) needs 3200 bytes of data, the file has 3192/);
    fs.writeFileSync(bad, Buffer.from(full.toString('latin1').replace("'<f4'", "'>f4'"), 'latin1'));
    assert.throws(() => readNpy(bad), /dtype '>f4' is not supported/);
  } finally {
    cleanup();
  }
});

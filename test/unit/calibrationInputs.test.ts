/** Calibration inputs: a .npy, a folder of .npy files, a folder of images (against torch's resize). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readNpy } from '../../src/core/formats/npy.ts';
import { readCalibration } from '../../src/core/runtime/calibrationInputs.ts';
import { fixture, tempDir, writeNpy } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

test('a .npy file gives its first samples; a folder of .npy files is concatenated in name order', () => {
  const x = readNpy(fixture('npy', 'digits_calib_x.npy'));
  const first = readCalibration(fixture('npy', 'digits_calib_x.npy'), 100);
  assert.deepEqual(first.shape, [100, 64]);
  assert.deepEqual(Array.from(first.values), Array.from(x.values.subarray(0, 6400)));
  const dir = path.join(tmp.dir, 'parts');
  fs.mkdirSync(dir);
  writeNpy(path.join(dir, 'part-2.npy'), '<f4', [200, 64], Float32Array.from(x.values.subarray(150 * 64, 350 * 64)));
  writeNpy(path.join(dir, 'part-1.npy'), '<f4', [150, 64], Float32Array.from(x.values.subarray(0, 150 * 64)));
  const joined = readCalibration(dir, 300);
  assert.deepEqual(joined.shape, [300, 64]);
  assert.deepEqual(Array.from(joined.values), Array.from(x.values.subarray(0, 300 * 64)));
  writeNpy(path.join(dir, 'part-3.npy'), '<f4', [2, 8], new Float32Array(16));
  assert.throws(() => readCalibration(dir, 1000), /has samples of shape \(8\), but part-1\.npy has \(64\)/);
});

test('a folder of PNG/JPEG images is decoded, resized and normalised as torch does', () => {
  const x = readCalibration(fixture('images'), 10, { height: 4, width: 3, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] });
  const want = readNpy(fixture('expected', 'calibration_images.npy'));
  assert.deepEqual(x.shape, [3, 3, 4, 3]);
  const per = 3 * 4 * 3;
  for (let i = 0; i < x.values.length; i++) {
    // PNGs exactly (to float32 rounding); the JPEG within two grey levels (decoders differ).
    const tol = i < 2 * per ? 1e-5 : 2 / 255 / 0.2;
    assert.ok(Math.abs(x.values[i]! - want.values[i]!) <= tol, `value ${i}: ${x.values[i]} vs ${want.values[i]}`);
  }
  const nhwc = readCalibration(fixture('images'), 1, { height: 4, width: 3, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], layout: 'nhwc' });
  assert.deepEqual(nhwc.shape, [1, 4, 3, 3]);
  assert.equal(nhwc.values[(1 * 3 + 2) * 3 + 1], x.values[(1 * 4 + 1) * 3 + 2]); // (y=1, x=2, c=1)
  assert.throws(() => readCalibration(fixture('images'), 10), /give their input size \(--image-size HxW/);
});

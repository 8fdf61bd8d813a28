import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { REPORT_SCHEMA } from '../../src/core/report/reportSchema.ts';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { fixture, runCliAsync, tempDir, withRenderedPage } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(REPORT_SCHEMA);

const MODELS = [
  'onnx/mlp.onnx',
  'onnx/cnn_bn.onnx',
  'onnx/lstm.onnx',
  'onnx/mlp_external.onnx',
  'onnx/constants.onnx',
  'onnx/dtypes.onnx',
  'tfjs/cnn/model.json',
  'tfjs/rnn/model.json',
  'tfjs/quantized/model.json',
  'tfjs/graph/model.json',
  'safetensors/model.safetensors',
  'safetensors/sharded/model.safetensors.index.json',
];

for (const m of MODELS) {
  test(`analyze ${m}: exit 0, JSON valid against the schema, one result per weight matrix`, async () => {
    const base = path.join(tmp.dir, m.replace(/[/.]/g, '_'));
    const r = await runCliAsync(['analyze', fixture(...m.split('/')), '--json', `${base}.json`, '--html', `${base}.html`, '--workers', '1']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
    assert.ok(validate(report), ajv.errorsText(validate.errors));
    const inspect = JSON.parse((await runCliAsync(['inspect', fixture(...m.split('/')), '--json'])).stdout);
    assert.equal(report.model.params, inspect.totals.params);
    assert.equal(report.model.weightParams, inspect.totals.weightParams);
    assert.equal(JSON.stringify(report).includes('Infinity'), false);
    assert.ok(fs.statSync(`${base}.html`).size > 100_000); // chart.js is inlined
    assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp')), []);
  });
}

test('analyze: same seed → identical results; workers and in-thread agree; --layers filters', async () => {
  const file = fixture('tfjs', 'cnn', 'model.json');
  const a = await analyzeModel(file, { workers: 2, seed: 5 });
  const b = await analyzeModel(file, { workers: 0, seed: 5 });
  const strip = (r: typeof a) => r.layers.map((l) => ({ ...l, ms: 0 }));
  assert.deepEqual(strip(a), strip(b));
  const only = await analyzeModel(file, { workers: 0, layers: /^fc/ });
  assert.deepEqual(only.layers.map((l) => l.name), ['fc1/kernel', 'fc2/kernel']);
});

test('analyze: an aborted run rejects promptly and leaves no worker behind', async () => {
  const ctrl = new AbortController();
  const started = Date.now();
  const p = analyzeModel(fixture('onnx', 'lstm.onnx'), { workers: 2, signal: ctrl.signal });
  ctrl.abort();
  await assert.rejects(p, { name: 'Cancelled' });
  assert.ok(Date.now() - started < 1000);
});

test('analyze --html (with calibration data) renders every chart in headless Chromium', async () => {
  const out = path.join(tmp.dir, 'example.html');
  const r = await runCliAsync(['analyze', fixture('onnx', 'digits_mlp.onnx'), '--data', fixture('npy', 'digits_calib_x.npy'), '--html', out]);
  assert.equal(r.status, 0, r.stderr);
  await withRenderedPage(out, async ({ page, charts, errors, external }) => {
    assert.deepEqual(errors, []);
    assert.deepEqual(external, []);
    assert.deepEqual(charts.map((c) => c.id), ['chart-alpha', 'chart-alpha-esd', 'chart-curves', 'chart-esd', 'chart-hist', 'chart-act']);
    for (const c of charts) {
      assert.ok(c.datasets >= (c.id === 'chart-hist' ? 1 : 2) && c.points > 0, `${c.id}: ${JSON.stringify(c)}`);
      assert.ok(c.painted > 1000, `${c.id} is blank`);
    }
    assert.equal(await page.locator('#layers tbody tr').count(), 3); // digits: 0.weight, 2.weight, 4.weight
    if (process.env['PRUNESCOPE_SCREENSHOT']) await page.screenshot({ path: process.env['PRUNESCOPE_SCREENSHOT'], fullPage: true });
  });
});

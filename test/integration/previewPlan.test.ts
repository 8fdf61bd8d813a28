/**
 * The prune panel's preview (from the report's sampled curves) against what pruning the model
 * actually does, on a real fixture, and in closed-form cases.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { curveAt, previewPlan, ratioForEps } from '../../src/core/pruning/previewPlan.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import type { AnalysisReport } from '../../src/core/report/report.ts';
import { fixture, ROOT, tempDir } from '../helpers.ts';

const MODEL = path.join(ROOT, 'examples', 'mlp.onnx'); // trained: its layers' α differ
const tmp = tempDir();
after(tmp.cleanup);
let report: AnalysisReport;
before(async () => {
  report = await analyzeModel(MODEL, { workers: 0 });
});

test('curveAt interpolates linearly and ratioForEps takes the last sampled ratio below ε', () => {
  const ratios = [0, 0.5, 1];
  const curve = [0, 0.2, 1];
  assert.equal(curveAt(ratios, curve, 0.25), 0.1);
  assert.ok(Math.abs(curveAt(ratios, curve, 0.75) - 0.6) < 1e-15);
  assert.equal(ratioForEps(ratios, curve, 0.3), 0.5);
  assert.equal(ratioForEps(ratios, curve, 0.2), 0); // strictly below, as prunableAtEps
});

test('preview at a ratio: kept parameters are exact, and per-layer errors match the pruned model', async () => {
  const preview = previewPlan(report, { method: 'magnitude', target: { kind: 'ratio', ratio: 0.5 }, global: false, alphaBelow: null });
  const pruned = await pruneModel(MODEL, path.join(tmp.dir, 'm.onnx'), { method: 'magnitude', ratio: 0.5, centre: 'median', verify: false });
  assert.equal(preview.paramsAfter, pruned.paramsAfter);
  for (const l of preview.layers) {
    const actual = pruned.layers.find((p) => p.name === l.name)!;
    assert.equal(l.paramsAfter, actual.paramsAfter, l.name);
    // 0.5 is a grid ratio of the report's curve, which is centred on the median as this pruning is.
    assert.ok(Math.abs(l.relErr - actual.relErr!) < 1e-9, `${l.name}: ${l.relErr} vs ${actual.relErr}`);
  }
  assert.equal(preview.bytesAfter, preview.bytesBefore); // magnitude keeps the dense shapes
  assert.equal(preview.bytesSparse, preview.bytesBefore); // at 50% COO (12 bytes per non-zero) is larger than dense
  const sparse = previewPlan(report, { method: 'magnitude', target: { kind: 'ratio', ratio: 0.9 }, global: false, alphaBelow: null });
  assert.ok(sparse.bytesSparse! < 0.5 * sparse.bytesBefore, String(sparse.bytesSparse));
});

test('preview at ε: each layer ratio is the exact prunable fraction rounded down to the curve grid', () => {
  const eps = report.settings.eps;
  const preview = previewPlan(report, { method: 'magnitude', target: { kind: 'eps', eps }, global: false, alphaBelow: null });
  for (const l of preview.layers) {
    const exact = report.layers.find((x) => x.name === l.name)!.prunableAtEps.magnitude!;
    assert.ok(l.ratio <= exact && exact - l.ratio < 0.025, `${l.name}: ${l.ratio} vs ${exact}`);
    assert.ok(l.relErr < eps);
  }
});

test('preview of a parameter budget stays within it, and singular pruning counts r·(m + n)', () => {
  const budget = 30_000; // of 50,826
  const preview = previewPlan(report, { method: 'singular', target: { kind: 'budget', params: budget }, global: false, alphaBelow: null });
  assert.equal(preview.problem, null);
  assert.ok(preview.paramsAfter <= budget, String(preview.paramsAfter));
  for (const l of preview.layers) {
    const layer = report.layers.find((x) => x.name === l.name)!;
    const [m, n] = [layer.shape[0]!, layer.params / layer.shape[0]!];
    const rank = Math.round(Math.min(m, n) * (1 - l.ratio));
    assert.equal(l.paramsAfter, rank * (m + n) < m * n ? rank * (m + n) : m * n, l.name);
  }
  const tooSmall = previewPlan(report, { method: 'singular', target: { kind: 'budget', params: 10 }, global: false, alphaBelow: null });
  assert.match(tooSmall.problem!, /below what singular pruning/);
});

test('auto from α prunes only the layers whose α-stable is below the cutoff', () => {
  const heavy = report.layers.filter((l) => l.alphaStable.multivariate !== null && l.alphaStable.multivariate < 1.999).map((l) => l.name);
  assert.ok(heavy.length >= 1 && heavy.length < report.layers.length);
  const preview = previewPlan(report, { method: 'node', target: { kind: 'ratio', ratio: 0.25 }, global: false, alphaBelow: 1.999 });
  assert.deepEqual(preview.layers.filter((l) => !l.skip).map((l) => l.name), heavy);
  assert.equal(preview.layersPattern, `^(${heavy.map((n) => n.replace('.', '\\.')).join('|')})$`);
});

test('global magnitude preview: one threshold whose total pruned fraction is the ratio', () => {
  const preview = previewPlan(report, { method: 'magnitude', target: { kind: 'ratio', ratio: 0.6 }, global: true, alphaBelow: null });
  const total = preview.layers.reduce((a, l) => a + l.paramsBefore, 0);
  const removed = preview.layers.reduce((a, l) => a + l.paramsBefore - l.paramsAfter, 0);
  assert.ok(Math.abs(removed / total - 0.6) < 0.002, String(removed / total));
  assert.ok(new Set(preview.layers.map((l) => l.ratio.toFixed(3))).size > 1); // layers differ
});

test('spectral preview: per-layer kept parameters match spectral pruning, and its error bound is at or below the greedy error', async () => {
  const digits = fixture('onnx', 'digits_mlp.onnx');
  const calib = fixture('npy', 'digits_calib_x.npy');
  const withData = await analyzeModel(digits, { workers: 0, data: calib });
  const preview = previewPlan(withData, { method: 'spectral', target: { kind: 'ratio', ratio: 0.5 }, global: false, alphaBelow: null });
  const real = await pruneModel(digits, path.join(tmp.dir, 'spectral.onnx'), { method: 'spectral', ratio: 0.5, data: calib });
  assert.equal(preview.paramsAfter, real.paramsAfter);
  for (const l of preview.layers) {
    const actual = real.layers.find((r) => r.name === l.name)!;
    assert.equal(l.paramsAfter, actual.paramsAfter, l.name);
    if (actual.ratio === 0) {
      // Own outputs kept (the last layer feeds the graph output); its inputs may still shrink.
      assert.match(l.skip!, /graph output/);
      continue;
    }
    assert.equal(l.ratio, actual.ratio, l.name);
    assert.ok(l.relErr <= actual.relErr! + 1e-12, `${l.name}: bound ${l.relErr} > greedy ${actual.relErr}`);
    assert.ok(l.relErr > actual.relErr! / 3, `${l.name}: the bound ${l.relErr} is far below ${actual.relErr}`); // 0.022 vs 0.048 here
  }
  assert.match(previewPlan(withData, { method: 'spectral', target: { kind: 'budget', params: 1000 }, global: false, alphaBelow: null }).problem!, /ratio or ε/);
  // Without calibration data a ratio still sizes (the export calibrates on random inputs then); ε needs the spectra.
  const noData = await analyzeModel(digits, { workers: 0 });
  assert.equal(previewPlan(noData, { method: 'spectral', target: { kind: 'ratio', ratio: 0.5 }, global: false, alphaBelow: null }).paramsAfter, real.paramsAfter);
  const eps = previewPlan(noData, { method: 'spectral', target: { kind: 'eps', eps: 0.1 }, global: false, alphaBelow: null });
  assert.equal(eps.problem, 'nothing would be pruned with these settings');
  assert.match(eps.layers[0]!.skip!, /no activation spectrum/);
});

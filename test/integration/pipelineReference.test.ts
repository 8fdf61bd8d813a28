/**
 * The layer-level pipeline against an independent numpy reference (issue 14):
 * test/fixtures/scripts/make_pipeline_reference.py computes, from heavy-tails.md alone, what
 * `analyze` must report for a conv kernel, a pointwise conv, a dense matrix and the classifier of
 * test/fixtures/onnx/pipeline.onnx — tail indices through the whole pipeline (centring, zero
 * dropping, seeded permutations, median over permutations), Hill and the four order-statistic
 * alternatives, curves and k*(0.1) — in both modes —
 * and the elementwise statistics and 64-bin histogram.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import type { LayerStats } from '../../src/core/analysis/analyzeLayer.ts';
import { analyzeModel } from '../../src/core/analysis/analyzeModel.ts';
import { fixture } from '../helpers.ts';

interface CurveRef {
  values: number[];
  kStar: number;
  n: number;
}
interface LayerRef {
  seed: number;
  multivariate: number | null;
  entries: number | null;
  norms: number | null;
  hill: number | null;
  alternatives: Record<'moment' | 'momentRatio' | 'pickands' | 'paulauskas', number | null> | null;
  curves: Record<'magnitude' | 'nodeColumns' | 'nodeRows' | 'singular', CurveRef>;
}
/** numpy's LayerStats (absMax is checked as max(−min, max)) and 64-bin histogram. */
type ElementwiseRef = Omit<LayerStats, 'absMax'> & { histogram: number[] };
const REF = JSON.parse(fs.readFileSync(fixture('expected', 'pipeline_reference.json'), 'utf8')) as {
  ratios: number[];
  layers: Record<string, Record<'paper' | 'robust', LayerRef> & { elementwise: ElementwiseRef }>;
};
const TOL = 1e-9;

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) return assert.equal(actual, null, `${what}: expected no estimate`);
  assert.ok(actual !== null && Math.abs(actual - expected) <= TOL * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs numpy ${expected}`);
}

for (const mode of ['paper', 'robust'] as const) {
  for (const nodeConvention of ['columns', 'rows'] as const) {
    test(`pipeline.onnx, ${mode} mode, node convention ${nodeConvention}: every layer equals the numpy reference to 1e-9`, async () => {
      const report = await analyzeModel(fixture('onnx', 'pipeline.onnx'), { workers: 0, mode, nodeConvention, seed: 0, eps: 0.1 });
      assert.deepEqual(report.layers.map((l) => l.name).sort(), Object.keys(REF.layers).sort());
      for (const layer of report.layers) {
        const ref = REF.layers[layer.name]![mode];
        const at = `${layer.name} (${mode})`;
        const el = REF.layers[layer.name]!.elementwise;
        const stats = layer.stats!;
        assert.deepEqual([stats.count, stats.zeroFraction, stats.min, stats.max], [el.count, el.zeroFraction, el.min, el.max], `${at}: count, zeros, min, max`);
        assert.equal(stats.absMax, Math.max(-el.min, el.max), `${at}: absMax`);
        close(stats.mean, el.mean, `${at} mean`);
        close(stats.std, el.std, `${at} std`);
        assert.deepEqual(layer.histogram, { min: el.min, max: el.max, counts: el.histogram }, `${at}: numpy's histogram`);
        assert.equal(layer.diagnostics.seed, ref.seed, `${at}: per-layer seed`);
        close(layer.alphaStable.multivariate, ref.multivariate, `${at} α multivariate`);
        close(layer.alphaStable.entries, ref.entries, `${at} α entries`);
        close(layer.alphaStable.norms, ref.norms, `${at} α norms`);
        close(layer.alphaHill, ref.hill, `${at} Hill`);
        assert.deepEqual(Object.keys(layer.alphaAlternatives ?? {}).sort(), Object.keys(ref.alternatives ?? {}).sort(), `${at} alternatives`);
        for (const [name, v] of Object.entries(ref.alternatives ?? {})) close(layer.alphaAlternatives![name as 'moment'], v, `${at} α ${name}`);
        assert.deepEqual(layer.curves.ratios, REF.ratios);
        const curves = { magnitude: ref.curves.magnitude, node: nodeConvention === 'columns' ? ref.curves.nodeColumns : ref.curves.nodeRows, singular: ref.curves.singular };
        for (const [method, c] of Object.entries(curves) as Array<['magnitude' | 'node' | 'singular', CurveRef]>) {
          const got = layer.curves[method]!;
          for (let i = 0; i < c.values.length; i++) close(got[i]!, c.values[i]!, `${at} ${method} curve at ratio ${REF.ratios[i]}`);
          assert.deepEqual(layer.kStar[method], { k: c.kStar, n: c.n }, `${at} ${method} k*`);
        }
      }
    });
  }
}

test('pipeline reference: the modes really differ on this fixture (zero dropping, truncation, the transposed classifier)', () => {
  const d = REF.layers['dense.weight']!;
  assert.notEqual(d.paper.multivariate, d.robust.multivariate); // 128 rows vs 127 (prime → truncated)
  assert.equal(REF.layers['classifier.weight']!.robust.multivariate, null); // 10 rows < 100 samples
  assert.notEqual(REF.layers['classifier.weight']!.paper.multivariate, null); // transposed: 128 rows
});

test('status and reasons follow the estimates: a layer with every estimate has none; the ESD eigenvalues are ascending (a conv pools its 9 slices of 8)', async () => {
  for (const mode of ['robust', 'paper'] as const) {
    const r = await analyzeModel(fixture('onnx', 'pipeline.onnx'), { workers: 0, mode });
    for (const l of r.layers) {
      const ref = REF.layers[l.name]![mode];
      const missing = (['multivariate', 'norms'] as const).filter((f) => ref[f] === null);
      // The reference has no multivariate and norms estimate only where the classifier has 10 rows (robust mode keeps W's orientation).
      assert.deepEqual(l.reasons, missing.map((f) => `alphaStable.${f}: too few samples (N = 10 < 100)`), `${mode} ${l.name}`);
      assert.equal(l.status, missing.length ? 'partial' : 'ok', `${mode} ${l.name}`);
      assert.equal((l.diagnostics.hill as { N?: number } | undefined)?.N !== undefined, ref.hill !== null, `${mode} ${l.name}: Hill diagnostics`);
      const eig = l.esd!.eigenvalues;
      assert.ok(eig.every((v, i) => i === 0 || eig[i - 1]! <= v), `${mode} ${l.name}: ascending`);
      assert.equal(eig.length, { 'conv.weight': 9 * 8, 'pointwise.weight': 16, 'dense.weight': 16, 'classifier.weight': 10 }[l.name], l.name);
    }
  }
});

/**
 * Structured pruning on real exports (the torchvision / torch zoo in test/fixtures/onnx/zoo, from
 * make_structured_zoo.py), the acceptance of the structured-pruning spec for every fixture:
 * - at least 90% of the weight layers have their own output units in a prunable group; every
 *   other one is refused with a reason;
 * - `prune --method node --ratio 0.3` removes at least 20% of the conv/linear parameters, and the
 *   result loads and runs in onnxruntime with the outputs' shapes unchanged;
 * - exactness (spec §5), for every group that is not approximate, on a seeded random set of its
 *   units: zeroing every consumer-side slice that reads them gives the reference; pruning exactly
 *   those units gives the same outputs to max |Δ| ≤ 1e-5 · max |y|;
 * - onnx.checker (full) accepts every pruned model.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { analyseStructure } from '../../src/core/pruning/structured/pruneNodes.ts';
import { fixture, onnxChecker, tempDir } from '../helpers.ts';
import { checkExactGroups, feedOf, runFirstOutput } from '../structuredHarness.ts';

const tmp = tempDir();
after(tmp.cleanup);
const ZOO = fixture('onnx', 'zoo');
const models = fs.readdirSync(ZOO).filter((f) => f.endsWith('.onnx')).sort();
const written: string[] = [];

for (const name of models) {
  test(`zoo ${name}: coverage, 20% at ratio 0.3 that runs, and exactness of every exact group`, async () => {
    const file = path.join(ZOO, name);
    const ck = openCheckpoint(file);
    const a = analyseStructure(ck);
    // Coverage: weight layers (stored weights read by a Conv/Gemm/MatMul/Gather) with their own units in a prunable group.
    const layers = [...new Set(a.dg.layers.map((l) => l.stored))];
    const prunable = layers.filter((l) => {
      const gr = a.dg.groupOf.get(l)!;
      return !gr.refused && gr.classes.length > 1;
    });
    assert.ok(prunable.length >= 0.9 * layers.length, `${prunable.length} of ${layers.length} layers prunable`);
    for (const l of layers.filter((x) => !prunable.includes(x))) assert.match(a.dg.groupOf.get(l)!.refused?.reason ?? '', /\w{4}/, `${l} is refused with a reason`);

    // prune --method node --ratio 0.3: at least 20% of the conv/linear parameters, a model that runs, the same output shape.
    const out = path.join(tmp.dir, name);
    const r = await pruneModel(file, out, { method: 'node', ratio: 0.3 });
    written.push(out);
    const before = r.layers.reduce((s, l) => s + l.paramsBefore, 0);
    const kept = r.layers.reduce((s, l) => s + l.paramsAfter, 0);
    assert.ok(kept <= 0.8 * before, `conv/linear parameters ${before} → ${kept}`);
    const pruned = openCheckpoint(out);
    assert.equal(pruned.weights.reduce((s, w) => s + w.size, 0), r.paramsAfter, 'the reported total is the written one');
    pruned.close();
    const feed = feedOf(a, 3);
    const [y0, y1] = [await runFirstOutput(file, feed), await runFirstOutput(out, feed)];
    assert.deepEqual(y1.dims, y0.dims);

    // Exactness, group by group.
    const { checked } = await checkExactGroups(file, ck, a, tmp.dir);
    assert.ok(checked >= 3, `${checked} exact groups checked`);
    ck.close();
  });
}

test('onnx.checker (full) accepts every pruned zoo model', (t) => {
  const bad = onnxChecker(written);
  if (bad === null) return t.skip('python3-onnx is not installed (apt-get install python3-onnx)');
  assert.equal(written.length, models.length);
  assert.deepEqual(bad, []);
});

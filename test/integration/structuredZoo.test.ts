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
import * as ort from 'onnxruntime-node';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import type { Group } from '../../src/core/graph/dependency.ts';
import type { GraphEdits } from '../../src/core/graph/pruneGroups.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { toOnnxEdits } from '../../src/core/pruning/structured/onnxGraphEdits.ts';
import { analyseStructure, nodeEdits, type StructureAnalysis } from '../../src/core/pruning/structured/pruneNodes.ts';
import { fixture, onnxChecker, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const ZOO = fixture('onnx', 'zoo');
const models = fs.readdirSync(ZOO).filter((f) => f.endsWith('.onnx')).sort();
const written: string[] = [];

/** A seeded random input for each graph input, at the analysis's dims. */
function feedOf(a: StructureAnalysis, seed: number): Record<string, ort.Tensor> {
  const rng = new Mulberry32(seed);
  const feed: Record<string, ort.Tensor> = {};
  for (const i of a.g.inputs) {
    const d = a.inputs.dims.get(i.name)!;
    feed[i.name] = new ort.Tensor('float32', Float32Array.from({ length: d.reduce((x, y) => x * y, 1) }, () => 2 * rng.uniformOpen() - 1), d);
  }
  return feed;
}

async function run(file: string, feed: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const s = await ort.InferenceSession.create(file);
  try {
    return (await s.run(feed))[s.outputNames[0]!]!;
  } finally {
    await s.release();
  }
}

const emptyEdits = (): GraphEdits => ({ replace: new Map(), add: new Map(), rewire: new Map(), attrs: new Map(), changed: new Set(), dropNodes: new Set(), dropStored: new Set() });

/** Consumer-side slices: a weight's input axis, where a unit's channels stop (Conv in-channels, Gemm/MatMul rows). */
function consumerSide(op: string, index: number, axis: number, transB: boolean): boolean {
  if (index !== 1) return false;
  if (op === 'Conv') return axis === 1;
  if (op === 'ConvTranspose') return axis === 0;
  if (op === 'Gemm') return axis === (transB ? 1 : 0);
  return op === 'MatMul' && axis === 0;
}

/** The reference of spec §5: every consumer-side slice reading the removed units set to zero (to the zero point when quantized). */
function zeroedEdits(a: StructureAnalysis, gr: Group, remove: readonly number[]): GraphEdits {
  const e = emptyEdits();
  for (const m of gr.members.values()) {
    if (!m.constant || !m.matrix) continue;
    const uses = a.g.tensor(m.slot.tensor).consumers.filter((u) => consumerSide(u.node.op, u.index, m.slot.axis, u.node.attrs['transB'] === 1));
    if (uses.length === 0) continue;
    const idx = new Set<number>();
    for (const c of remove) for (const u of gr.classes[c]!) for (const j of m.images[u]!) idx.add(j);
    const dq = a.g.tensor(m.slot.tensor).producer;
    const target = dq?.op === 'DequantizeLinear' ? dq.inputs[0]! : m.slot.tensor;
    const dims = a.shapes.shape.get(target)!;
    const v = Float64Array.from(e.replace.get(target)?.values ?? a.values.read(target)!);
    const zp = dq?.op === 'DequantizeLinear' && dq.inputs[2] ? a.values.read(dq.inputs[2]) : undefined;
    const inner = dims.slice(m.slot.axis + 1).reduce((x, y) => x * y, 1);
    const perRow = dims.slice(1).reduce((x, y) => x * y, 1);
    for (let i = 0; i < v.length; i++) if (idx.has(Math.floor(i / inner) % dims[m.slot.axis]!)) v[i] = zp ? (zp.length > 1 ? zp[Math.floor(i / perRow)]! : zp[0]!) : 0;
    e.replace.set(target, { dims, dataType: a.shapes.dtype.get(target) ?? 1, values: v });
  }
  return e;
}

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
    const [y0, y1] = [await run(file, feed), await run(out, feed)];
    assert.deepEqual(y1.dims, y0.dims);

    // Exactness, group by group.
    const rng = new Mulberry32(11);
    let checked = 0;
    for (const p of a.planned) {
      const gr = p.group;
      if (gr.approximate.length) continue;
      const k = Math.max(1, Math.floor(gr.classes.length * (0.2 + 0.5 * rng.uniformOpen())));
      const order = Array.from({ length: gr.classes.length }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const remove = order.slice(0, Math.min(k, gr.classes.length - 1));
      const zf = path.join(tmp.dir, `zero-${gr.id}-${name}`);
      const pf = path.join(tmp.dir, `cut-${gr.id}-${name}`);
      writeOnnxWithEdits(file, zf, toOnnxEdits(ck, a.g, zeroedEdits(a, gr, remove)));
      const cut = nodeEdits(a, [{ group: gr, remove }]);
      assert.deepEqual(cut.refused.map((x) => x.reason), [], `group ${gr.id} can be cut`);
      writeOnnxWithEdits(file, pf, toOnnxEdits(ck, a.g, cut.edits));
      const ref = (await run(zf, feed)).data as Float32Array;
      const got = (await run(pf, feed)).data as Float32Array;
      let maxD = 0;
      let maxY = 0;
      for (let i = 0; i < ref.length; i++) {
        maxD = Math.max(maxD, Math.abs(ref[i]! - got[i]!));
        maxY = Math.max(maxY, Math.abs(ref[i]!));
      }
      assert.ok(maxY > 0, `group ${gr.id}: the reference output is not all zero`);
      assert.ok(maxD <= 1e-5 * maxY, `group ${gr.id} (${gr.layers[0]!.stored}), ${remove.length} of ${gr.classes.length} units: max |Δ| ${maxD} vs max |y| ${maxY}`);
      checked++;
    }
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

/**
 * Graph paths no other fixture reaches (test/fixtures/scripts/make_coverage_fixtures.py):
 * Conv → MaxPool → Flatten → Gemm, per-channel Mul/Add constants, and an old-style export whose
 * initializers are graph inputs too (IR 3) with value_info, metadata_props and doc_strings.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { analyseStructure } from '../../src/core/pruning/structured/pruneNodes.ts';
import { fixture, onnxPythonCheck, runCliAsync, tempDir } from '../helpers.ts';
import { checkExactGroups } from '../structuredHarness.ts';
import { readWeights } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

/** Indices of the rows of `before` (rows × cols) that `after` keeps, in order (rows are distinct here). */
function keptRows(before: Float64Array, after: Float64Array, cols: number): number[] {
  const rows = (v: Float64Array) => Array.from({ length: v.length / cols }, (_, i) => Array.from(v.subarray(i * cols, (i + 1) * cols)).join());
  const b = rows(before);
  return rows(after).map((r) => b.indexOf(r));
}

const shapesOf = (file: string) => Object.fromEntries([...readWeights(file)].map(([n, w]) => [n, w.shape.join('x')]));

test('Conv → MaxPool → Flatten → Gemm: a filter takes its 4×4 block of Gemm columns with it, and every group is exact', async () => {
  const file = fixture('onnx', 'conv_pool_flatten.onnx');
  await pruneModel(file, out('cpf.onnx'), { method: 'node', ratio: 0.5 });
  assert.deepEqual(shapesOf(out('cpf.onnx')), {
    'conv.weight': '4x3x3x3',
    'conv.bias': '4',
    'fc1.weight': '16x64',
    'fc1.bias': '16',
    'fc2.weight': '10x16',
    'fc2.bias': '10',
  });
  // From the files: the kept filters f and kept fc1 rows u; fc1's columns must be the blocks f·16 … f·16+15, in order.
  const [a, b] = [readWeights(file), readWeights(out('cpf.onnx'))];
  const filters = keptRows(a.get('conv.weight')!.stored, b.get('conv.weight')!.stored, 27);
  assert.equal(filters.length, 4);
  assert.ok(filters.every((f) => f >= 0));
  const w1 = a.get('fc1.weight')!.stored;
  const p1 = b.get('fc1.weight')!.stored;
  const cols = filters.flatMap((f) => Array.from({ length: 16 }, (_, j) => f * 16 + j));
  const rowsKept: number[] = [];
  for (let r = 0; r < 16; r++) {
    const row = Array.from(p1.subarray(r * 64, (r + 1) * 64)).join();
    const match = Array.from({ length: 32 }, (_, u) => u).find((u) => cols.map((c) => w1[u * 128 + c]!).join() === row);
    assert.notEqual(match, undefined, `pruned fc1 row ${r} is original row u restricted to the kept filters' column blocks`);
    rowsKept.push(match!);
  }
  assert.deepEqual([...rowsKept].sort((x, y) => x - y), rowsKept, 'rows stay in order');
  const ck = openCheckpoint(file);
  const { checked } = await checkExactGroups(file, ck, analyseStructure(ck), tmp.dir);
  ck.close();
  assert.equal(checked, 2);
});

test('per-channel Mul and Add constants are sliced with their channels, and every group is exact', async () => {
  const file = fixture('onnx', 'channel_affine.onnx');
  await pruneModel(file, out('affine.onnx'), { method: 'node', ratio: 0.5 });
  assert.deepEqual(shapesOf(out('affine.onnx')), {
    'conv1.weight': '4x3x3x3',
    scale: '1x4x1x1',
    shift: '4x1x1',
    'conv2.weight': '3x4x1x1',
    'conv2.bias': '3',
    'fc.weight': '10x3',
    'fc.bias': '10',
  });
  const [a, b] = [readWeights(file), readWeights(out('affine.onnx'))];
  const kept = keptRows(a.get('conv1.weight')!.stored, b.get('conv1.weight')!.stored, 27);
  assert.ok(kept.every((f) => f >= 0));
  for (const name of ['scale', 'shift']) assert.deepEqual(Array.from(b.get(name)!.stored), kept.map((f) => a.get(name)!.stored[f]!), `${name} follows the kept channels ${kept}`);
  const ck = openCheckpoint(file);
  const { checked } = await checkExactGroups(file, ck, analyseStructure(ck), tmp.dir);
  ck.close();
  assert.equal(checked, 2);
});

const INSPECT = [
  'import json',
  'm = onnx.load(sys.argv[1])',
  'onnx.checker.check_model(m, full_check=True)',
  'print(json.dumps({"ir": m.ir_version, "doc": m.doc_string, "graphDoc": m.graph.doc_string, "props": {p.key: p.value for p in m.metadata_props},',
  '  "inputs": [[i.name, [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]] for i in m.graph.input],',
  '  "initializers": sorted(t.name for t in m.graph.initializer), "nodeDocs": [n.doc_string for n in m.graph.node if n.doc_string]}, sort_keys=True, separators=(",", ":")))',
].join('\n');

for (const method of ['magnitude', 'node', 'singular'] as const) {
  test(`initializers listed as graph inputs (IR 3), value_info and metadata: ${method} pruning writes a model onnx.checker and onnxruntime accept, metadata kept`, async (t) => {
    const file = fixture('onnx', 'keep_inputs.onnx');
    const target = out(`keep-${method}.onnx`);
    const r = await pruneModel(file, target, { method, ratio: 0.5, verify: true });
    assert.ok(r.paramsAfter < r.paramsBefore || method === 'magnitude');
    assert.ok(r.verify!.samples === 32 && r.verify!.cosine > 0.75, JSON.stringify(r.verify));
    const weights = readWeights(target);
    const inputs = [['x', ['batch', 12]], ...[...weights].map(([n, w]) => [n, w.shape])].sort();
    // Without Python too: the declared graph inputs are exactly x and one per written initializer, with its shape.
    const ck = openCheckpoint(target);
    const declared = ck.graphValues!.inputs.map((i) => [i.name, i.dims]).sort();
    ck.close();
    assert.deepEqual(declared, inputs);
    const expectedInputs = JSON.stringify(inputs);
    const docs = method === 'singular' ? [] : ['first layer', 'second layer']; // the factorised Gemms are new nodes
    const summary = JSON.stringify({
      doc: 'model doc',
      graphDoc: 'graph doc',
      initializers: [...weights.keys()].sort(),
      inputs: JSON.parse(expectedInputs),
      ir: 3,
      nodeDocs: docs,
      props: { author: 'prunescope tests', license: 'MIT' },
    });
    await onnxPythonCheck(t, 'onnx.checker (full); one graph input per initializer with its written shape; docs and metadata_props kept', INSPECT.replace('"inputs": [[', '"inputs": sorted([[').replace('for i in m.graph.input],', 'for i in m.graph.input]),'), target, summary);
  });
}

test('refusals say exactly why and write nothing', async () => {
  const file = fixture('onnx', 'conv_pool_flatten.onnx');
  const r = await runCliAsync(['prune', file, '--method', 'node', '--ratio', '0.5', '--layers', '^fc2\\.', '-o', out('refused.onnx')]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "prunescope: error: node pruning would remove nothing, so nothing was written (1 layer: it reaches the graph output 'y')\n");
  const s = await runCliAsync(['prune', file, '--method', 'singular', '--ratio', '0', '-o', out('refused-sv.onnx')]);
  assert.equal(s.status, 1);
  assert.match(s.stderr, /^prunescope: error: singular pruning would remove nothing, so nothing was written/);
  assert.deepEqual(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('refused')), []);
});

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { sasSamples } from '../../src/core/analysis/prng.ts';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { fixture, floatBytes, runCliAsync, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

/** x → MatMul(heavy: SαS(1.2) entries) → Relu → MatMul(light: Gaussian entries) → y. */
function heavyAndLight(): string {
  const file = out('heavy-light.onnx');
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    inputs: [{ name: 'x', elemType: 1, dims: [1, 64] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, 64] }],
    nodes: [
      { name: 'mm1', opType: 'MatMul', inputs: ['x', 'heavy'], outputs: ['h'] },
      { name: 'act', opType: 'Relu', inputs: ['h'], outputs: ['a'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['a', 'light'], outputs: ['y'] },
    ],
    initializers: [
      { name: 'heavy', dataType: 1, dims: [64, 64], raw: floatBytes(sasSamples(1.2, 4096, 1).map((v) => v * 0.01)) },
      { name: 'light', dataType: 1, dims: [64, 64], raw: floatBytes(sasSamples(2, 4096, 2).map((v) => v * 0.01)) },
    ],
  }).writeToFile(file);
  return file;
}

test('--budget keeps at most the budget, using one error level: the heavy-tailed layer prunes far more', async () => {
  const file = heavyAndLight();
  for (const method of ['magnitude', 'singular'] as const) {
    const r = await pruneModel(file, out(`budget-${method}.onnx`), { method, budget: 4096 });
    assert.ok(r.paramsAfter <= 4096, `${method}: ${r.paramsAfter}`);
    const ratio = Object.fromEntries(r.layers.map((l) => [l.name, l.ratio]));
    assert.ok(ratio['heavy']! > ratio['light']! + 0.2, `${method}: ${JSON.stringify(ratio)}`);
    const eps = r.plan.layers.map((l) => l.eps);
    assert.equal(eps[0], eps[1]);
  }
  const m = await pruneModel(file, out('budget-exact.onnx'), { method: 'magnitude', budget: 4096 });
  assert.ok(m.paramsAfter > 4096 - 8, `magnitude lands within a few weights of the budget: ${m.paramsAfter}`);
});

test('--eps works for node and singular pruning too: every layer stays below ε', async () => {
  for (const method of ['node', 'singular'] as const) {
    const r = await pruneModel(fixture('onnx', 'mlp.onnx'), out(`eps-${method}.onnx`), { method, eps: 0.3 });
    for (const l of r.layers.filter((x) => !x.skipped)) assert.ok(l.relErr! < 0.3, `${method} ${l.name}: ${l.relErr}`);
  }
});

test('a plan round-trips: the --json plan fed back through --plan gives the same file', async () => {
  const first = await runCliAsync(['prune', fixture('onnx', 'mlp.onnx'), '-o', out('plan-a.onnx'), '--method', 'node', '--eps', '0.4', '--json']);
  assert.equal(first.status, 0, first.stderr);
  fs.writeFileSync(out('plan.json'), JSON.stringify(JSON.parse(first.stdout).plan));
  const second = await runCliAsync(['prune', fixture('onnx', 'mlp.onnx'), '-o', out('plan-b.onnx'), '--method', 'node', '--plan', out('plan.json')]);
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(fs.readFileSync(out('plan-b.onnx')), fs.readFileSync(out('plan-a.onnx')));
});

test('bad plans and budgets are refused before any work', async () => {
  const model = fixture('onnx', 'mlp.onnx');
  const write = (name: string, v: unknown) => (fs.writeFileSync(out(name), JSON.stringify(v)), out(name));
  const cases: Array<[string[], RegExp]> = [
    [['--plan', write('p1.json', { version: 1, layers: [{ name: 'nope', ratio: 0.5 }] })], /names layer 'nope', which this model does not have/],
    [['--plan', write('p2.json', { version: 1, layers: [{ name: 'fc1.weight', ratio: 1 }] })], /ratio for 'fc1.weight' must be in \[0, 1\)/],
    [['--plan', write('p3.json', { version: 1, method: 'singular', layers: [] })], /the plan is for --method singular, not magnitude/],
    [['--plan', write('p4.json', [1, 2])], /not a PruneScope plan/],
    [['--budget', '10'], /does not even cover the 58 parameters that are not pruned/],
    [['--budget=-5'], /--budget must be a positive number of parameters/],
    [['--budget', '100', '--ratio', '0.5'], /exactly one of --ratio, --eps, --budget or --plan/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCliAsync(['prune', model, '--method', 'magnitude', '-o', out('never.onnx'), ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  assert.equal(fs.existsSync(out('never.onnx')), false);
});

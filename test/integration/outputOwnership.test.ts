/**
 * Nothing lost: outputs never replace inputs (by path, symlink or hard link; --force or not),
 * existing files need --force, and a prune interrupted (SIGINT) or killed (SIGKILL) at any point
 * leaves neither temp files nor a half-written or inconsistent model behind.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { sweepStaleTemps } from '../../src/core/io/outputTransaction.ts';
import { fixture, floatBytes, runCliAsync, startCli, tempDir } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const folder = () => {
  const d = path.join(tmp.dir, `case${n++}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const ours = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('.prunescope-') || f.endsWith('.tmp')) : []);
const MLP = fixture('onnx', 'mlp.onnx');
const prune = (model: string, out: string, ...extra: string[]) => runCliAsync(['prune', model, '--method', 'magnitude', '--ratio', '0.5', '-o', out, ...extra]);

/** A copy of the MLP whose weights live in `<dir>/<dataName>` (written by our own writer, then renamed). */
async function externalModel(dir: string, modelName: string, dataName: string): Promise<string> {
  const r = await prune(MLP, path.join(dir, dataName.replace(/\.data$/, '')), '--external-data');
  assert.equal(r.status, 0, r.stderr);
  const model = path.join(dir, modelName);
  fs.renameSync(path.join(dir, dataName.replace(/\.data$/, '')), model);
  assert.deepEqual(openCheckpoint(model).files.map((f) => path.basename(f)), [modelName, dataName]);
  return model;
}

test("the source's own external-data file is never written over (the issue's case: in.onnx keeps its weights in out.onnx.data)", async () => {
  const dir = folder();
  const input = await externalModel(dir, 'in.onnx', 'out.onnx.data');
  const before = sha(path.join(dir, 'out.onnx.data'));
  for (const force of [[], ['--force']]) {
    const r = await prune(input, path.join(dir, 'out.onnx'), '--external-data', ...force);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, "prunescope: error: out.onnx.data: refusing to write over a file of the original model (in.onnx): an input is never written over (--force does not change that)\n");
  }
  assert.equal(sha(path.join(dir, 'out.onnx.data')), before);
  assert.equal(fs.existsSync(path.join(dir, 'out.onnx')), false);
  const ck = openCheckpoint(input); // the original still opens and reads
  assert.equal(ck.weights[0]!.read().length, 640);
  ck.close();
  assert.deepEqual(ours(dir), []);
});

test('hard links, symlinks and --plan files count as inputs', async () => {
  const dir = folder();
  const model = path.join(dir, 'm.onnx');
  fs.copyFileSync(MLP, model);
  fs.linkSync(model, path.join(dir, 'hard.onnx'));
  fs.symlinkSync(model, path.join(dir, 'soft.onnx'));
  for (const out of ['hard.onnx', 'soft.onnx']) {
    const r = await prune(model, path.join(dir, out), '--force');
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`${out}: refusing to write over the original model`));
  }
  // a plan file that happens to be named like the output
  const plan = path.join(dir, 'plan.onnx');
  fs.writeFileSync(plan, JSON.stringify({ version: 1, layers: [{ name: 'fc1.weight', ratio: 0.5 }] }));
  const before = sha(plan);
  const r = await runCliAsync(['prune', model, '--method', 'magnitude', '--plan', plan, '-o', plan, '--force']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /plan\.onnx: refusing to write over the input plan\.onnx/);
  assert.equal(sha(plan), before);
  assert.equal(sha(model), sha(MLP));
});

test('existing side files (<out>.data, a TF.js shard) are not replaced without --force', async () => {
  const dir = folder();
  const data = path.join(dir, 'out.onnx.data');
  fs.writeFileSync(data, 'somebody else');
  const r1 = await prune(MLP, path.join(dir, 'out.onnx'), '--external-data');
  assert.equal(r1.status, 1);
  assert.equal(r1.stderr, 'prunescope: error: out.onnx.data: already exists (pass --force to replace it)\n');
  assert.equal(fs.readFileSync(data, 'utf8'), 'somebody else');
  assert.equal(fs.existsSync(path.join(dir, 'out.onnx')), false);

  const tf = path.join(dir, 'tf');
  fs.mkdirSync(tf);
  fs.writeFileSync(path.join(tf, 'group1-shard1of1.bin'), 'not ours');
  const r2 = await prune(fixture('tfjs', 'cnn', 'model.json'), path.join(tf, 'model.json'));
  assert.equal(r2.status, 1);
  assert.equal(r2.stderr, 'prunescope: error: group1-shard1of1.bin: already exists (pass --force to replace it)\n');
  assert.equal(fs.readFileSync(path.join(tf, 'group1-shard1of1.bin'), 'utf8'), 'not ours');
  assert.deepEqual(fs.readdirSync(tf), ['group1-shard1of1.bin']);
});

test('--force replaces a model and its own side files, under fresh names, and removes the old ones', async () => {
  const dir = folder();
  const out = path.join(dir, 'out.onnx');
  assert.equal((await prune(MLP, out, '--external-data')).status, 0);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out.onnx', 'out.onnx.data']);
  const r = await runCliAsync(['prune', MLP, '--method', 'magnitude', '--ratio', '0.25', '-o', out, '--external-data', '--force']);
  assert.equal(r.status, 0, r.stderr);
  const files = fs.readdirSync(dir).sort();
  assert.equal(files.length, 2);
  assert.match(files[1]!, /^out\.onnx\.[0-9a-f]{8}\.data$/, 'the new data file has a name of its own; the old one is gone');
  assert.deepEqual(openCheckpoint(out).files.map((f) => path.basename(f)), files);

  const tf = path.join(dir, 'tf');
  assert.equal((await prune(fixture('tfjs', 'cnn', 'model.json'), path.join(tf, 'model.json'))).status, 0);
  assert.equal((await prune(fixture('tfjs', 'cnn', 'model.json'), path.join(tf, 'model.json'), '--force')).status, 0);
  const shards = fs.readdirSync(tf).filter((f) => f.endsWith('.bin'));
  assert.equal(shards.length, 1);
  assert.match(shards[0]!, /^group1-shard1of1\.[0-9a-f]{8}\.bin$/);
  const manifest = JSON.parse(fs.readFileSync(path.join(tf, 'model.json'), 'utf8')).weightsManifest;
  assert.deepEqual(manifest[0].paths, shards);
});

test('a kill between the side-file and the model renames leaves the previous model whole', async () => {
  const dir = folder();
  const out = path.join(dir, 'out.onnx');
  assert.equal((await prune(MLP, out, '--external-data')).status, 0);
  const old = openCheckpoint(out);
  const oldValues = old.weights.map((w) => Array.from(w.read()));
  old.close();
  const run = startCli(['prune', MLP, '--method', 'magnitude', '--ratio', '0.9', '-o', out, '--external-data', '--force'], { PRUNESCOPE_TEST_PAUSE: 'between-renames' });
  await run.waitFor(/test pause at between-renames/);
  run.child.kill('SIGKILL');
  await run.exited;
  const after = openCheckpoint(out);
  assert.deepEqual(after.weights.map((w) => Array.from(w.read())), oldValues, 'the old model reads its own, unchanged data');
  assert.deepEqual(after.files.map((f) => path.basename(f)), ['out.onnx', 'out.onnx.data']);
  after.close();
});

for (const point of ['opened', 'staged', 'committing'] as const) {
  test(`SIGINT at '${point}' (the staging folder exists): exit 130, no temp files, the existing output untouched`, async () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    fs.writeFileSync(out, 'the previous output');
    const run = startCli(['prune', MLP, '--method', 'magnitude', '--ratio', '0.5', '-o', out, '--force', '--verify'], { PRUNESCOPE_TEST_PAUSE: point });
    await run.waitFor(new RegExp(`test pause at ${point}`));
    assert.equal(ours(dir).length, 1, 'the staging folder is there while paused');
    if (point !== 'opened') assert.deepEqual(fs.readdirSync(path.join(dir, ours(dir)[0]!)), ['out.onnx'], 'the staged model is written');
    run.child.kill('SIGINT');
    const { status } = await run.exited;
    assert.equal(status, 130, run.stderr());
    assert.match(run.stderr(), /prunescope: cancelled\n$/);
    assert.deepEqual(ours(dir), []);
    assert.equal(fs.readFileSync(out, 'utf8'), 'the previous output');
  });
}

test('SIGINT while a large model is being written (no pause hook): no temp files are left, whatever the timing', async () => {
  const dir = folder();
  const big = path.join(dir, 'big.onnx');
  const d = 2048;
  const w = new Float32Array(d * d).map((_, i) => Math.sin(i));
  buildOnnxModel({
    producer: 'test',
    opset: 13,
    graphName: 'g',
    inputs: [{ name: 'x', elemType: 1, dims: [1, d] }],
    outputs: [{ name: 'y', elemType: 1, dims: [1, d] }],
    nodes: [{ name: 'mm', opType: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dataType: 1, dims: [d, d], raw: floatBytes(w) }],
  }).writeToFile(big);
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir);
  // Three moments: as soon as the staging folder appears (pruning), as soon as the staged model
  // appears (writing), and 20 ms after that.
  for (const [i, when] of (['staging', 'file', 'file+20ms'] as const).entries()) {
    const out = path.join(outDir, `o${i}.onnx`);
    const run = startCli(['prune', big, '--method', 'magnitude', '--ratio', '0.5', '-o', out]);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        const staging = ours(outDir)[0];
        const hasFile = staging !== undefined && fs.existsSync(path.join(outDir, staging, `o${i}.onnx`));
        if ((when === 'staging' && staging) || (when !== 'staging' && hasFile) || run.child.exitCode !== null) {
          clearInterval(poll);
          setTimeout(() => {
            run.child.kill('SIGINT');
            resolve();
          }, when === 'file+20ms' ? 20 : 0);
        }
      }, 2);
    });
    const { status } = await run.exited;
    assert.deepEqual(ours(outDir), [], `${when}: temp files left (exit ${status})`);
    if (status === 130) assert.equal(fs.existsSync(out), false, `${when}: cancelled, so nothing is under the final name`);
    else assert.equal(status, 0, run.stderr());
  }
});

test('after a SIGKILL the staging folder stays, and the next run in that folder sweeps it (never a live process\'s)', async () => {
  const dir = folder();
  const run = startCli(['prune', MLP, '--method', 'magnitude', '--ratio', '0.5', '-o', path.join(dir, 'a.onnx')], { PRUNESCOPE_TEST_PAUSE: 'staged' });
  await run.waitFor(/test pause at staged/);
  run.child.kill('SIGKILL');
  await run.exited;
  const [stale] = ours(dir);
  assert.match(stale!, new RegExp(`^\\.prunescope-${run.child.pid}-[0-9a-f]{8}\\.tmp$`));
  const live = `.prunescope-${process.pid}-0123abcd.tmp`; // this test process is alive
  fs.mkdirSync(path.join(dir, live));
  const r = await prune(MLP, path.join(dir, 'b.onnx'));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(ours(dir), [live]);
  assert.deepEqual(sweepStaleTemps(dir), [], 'our own pid is alive');
  fs.rmSync(path.join(dir, live), { recursive: true });
});

test('train-gates: the model and its --log/--html never replace an input, and need --force to replace an output', async () => {
  const dir = folder();
  const x = fixture('npy', 'digits_test_x.npy');
  const y = fixture('npy', 'digits_test_y.npy');
  const labels = path.join(dir, 'labels.npy');
  fs.copyFileSync(y, labels);
  const base = ['train-gates', fixture('onnx', 'digits_mlp.onnx'), '--data', x, '--labels', labels, '--epochs', '1'];
  const r1 = await runCliAsync([...base, '-o', path.join(dir, 'g.onnx'), '--log', labels, '--force']);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /labels\.npy: is the --labels input: an input is never written over/);
  assert.equal(sha(labels), sha(y));
  assert.equal(fs.existsSync(path.join(dir, 'g.onnx')), false);
  fs.writeFileSync(path.join(dir, 'g.onnx'), 'keep');
  const r2 = await runCliAsync([...base, '-o', path.join(dir, 'g.onnx')]);
  assert.equal(r2.status, 1);
  assert.equal(r2.stderr, 'prunescope: error: g.onnx: already exists (pass --force to replace it)\n');
  assert.equal(fs.readFileSync(path.join(dir, 'g.onnx'), 'utf8'), 'keep');
  assert.deepEqual(ours(dir), []);
});

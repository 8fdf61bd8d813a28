import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readSafetensors } from '../../src/core/formats/safetensors/readSafetensors.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { fixture, sha256OfValues, tempDir } from '../helpers.ts';
import { magnitudeCut } from '../writtenWeights.ts';

const tmp = tempDir();
after(tmp.cleanup);
const out = (name: string) => path.join(tmp.dir, name);

test('safetensors: magnitude pruning rewrites the weight matrices and carries every other tensor over byte for byte', async () => {
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('half.safetensors'), { method: 'magnitude', ratio: 0.5 });
  const a = readSafetensors(fixture('safetensors', 'model.safetensors'));
  const b = readSafetensors(out('half.safetensors'));
  assert.deepEqual(b.weights.map((w) => `${w.name}:${w.dtype}:${w.shape}`), a.weights.map((w) => `${w.name}:${w.dtype}:${w.shape}`));
  for (const w of a.weights) {
    const w2 = b.weights.find((x) => x.name === w.name)!;
    const layer = r.layers.find((l) => l.name === w.name);
    if (layer) {
      assert.equal(w2.read().filter((v) => v === 0).length, Math.floor(0.5 * w.size), w.name);
      const cut = magnitudeCut(Float64Array.from(w.read()), Float64Array.from(w2.read()));
      assert.ok(cut.maxPruned <= cut.minKept && Math.abs(cut.relErr - layer.relErr!) < 1e-6, `${w.name}: ${JSON.stringify(cut)} vs reported ${layer.relErr}`);
    } else assert.equal(sha256OfValues(w2.read()), sha256OfValues(w.read()), w.name);
  }
  // The int64 counter (not a weight) is still there, with its bytes.
  const header = (f: string) => JSON.parse(fs.readFileSync(f).subarray(8, 8 + Number(fs.readFileSync(f).readBigUInt64LE(0))).toString());
  assert.deepEqual(header(out('half.safetensors'))['bn.num_batches_tracked'].dtype, 'I64');
  assert.equal(header(out('half.safetensors')).__metadata__.pruned_by, 'prunescope magnitude');
  assert.equal(Number(fs.readFileSync(out('half.safetensors')).readBigUInt64LE(0)) % 8, 0);
  a.close();
  b.close();
});

test('safetensors: singular-value pruning writes the dense reconstruction (Eckart–Young error, checked on the written matrix); node pruning is refused (no graph)', async () => {
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('sv.safetensors'), { method: 'singular', ratio: 0.5 });
  const a = readSafetensors(fixture('safetensors', 'model.safetensors'));
  const b = readSafetensors(out('sv.safetensors'));
  const { gramEigenvalues, singularFromSquared } = await import('../../src/core/linalg/spectrum.ts');
  for (const l of r.layers.filter((x) => a.weights.find((w) => w.name === x.name)!.shape.length === 2)) {
    const w = a.weights.find((x) => x.name === l.name)!;
    const [m, n] = w.shape as [number, number];
    const x = Float64Array.from(w.read());
    const y = Float64Array.from(b.weights.find((v) => v.name === l.name)!.read());
    const s = singularFromSquared(gramEigenvalues(x.slice(), m, n));
    const keep = s.length - Math.floor(0.5 * s.length);
    // The best rank-k approximation misses exactly the dropped singular values (float16 storage aside).
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) {
      diff += (x[i]! - y[i]!) ** 2;
      norm += x[i]! ** 2;
    }
    const dropped = Array.from(s.slice(keep)).reduce((acc, v) => acc + v * v, 0);
    const tol = w.dtype === 'float16' || w.dtype === 'bfloat16' ? 2e-3 : 1e-6; // the written matrix is rounded to its storage type
    assert.ok(Math.abs(Math.sqrt(diff / norm) - Math.sqrt(dropped / norm)) < tol, `${l.name}: ${Math.sqrt(diff / norm)} vs ${Math.sqrt(dropped / norm)}`);
    assert.ok(Math.abs(l.relErr! - Math.sqrt(dropped / norm)) < 1e-9 + tol, `${l.name}: reported ${l.relErr}`);
  }
  a.close();
  b.close();
  await assert.rejects(pruneModel(fixture('safetensors', 'model.safetensors'), out('node.safetensors'), { method: 'node', ratio: 0.5 }), /node pruning needs a graph/);
});

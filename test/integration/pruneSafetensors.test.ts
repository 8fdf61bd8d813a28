import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readSafetensors } from '../../src/core/formats/safetensors/readSafetensors.ts';
import { pruneModel } from '../../src/core/pruning/pruneModel.ts';
import { fixture, sha256OfValues, tempDir } from '../helpers.ts';

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
    if (layer) assert.equal(w2.read().filter((v) => v === 0).length, Math.floor(0.5 * w.size), w.name);
    else assert.equal(sha256OfValues(w2.read()), sha256OfValues(w.read()), w.name);
  }
  // The int64 counter (not a weight) is still there, with its bytes.
  const header = (f: string) => JSON.parse(fs.readFileSync(f).subarray(8, 8 + Number(fs.readFileSync(f).readBigUInt64LE(0))).toString());
  assert.deepEqual(header(out('half.safetensors'))['bn.num_batches_tracked'].dtype, 'I64');
  assert.equal(header(out('half.safetensors')).__metadata__.pruned_by, 'prunescope magnitude');
  assert.equal(Number(fs.readFileSync(out('half.safetensors')).readBigUInt64LE(0)) % 8, 0);
  a.close();
  b.close();
});

test('safetensors: singular-value pruning writes the dense reconstruction; node pruning is refused (no graph)', async () => {
  const r = await pruneModel(fixture('safetensors', 'model.safetensors'), out('sv.safetensors'), { method: 'singular', ratio: 0 });
  const a = readSafetensors(fixture('safetensors', 'model.safetensors'));
  const b = readSafetensors(out('sv.safetensors'));
  for (const l of r.layers) {
    const x = a.weights.find((w) => w.name === l.name)!.read();
    const y = b.weights.find((w) => w.name === l.name)!.read();
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
    assert.ok(d < (l.name === 'fc.weight' ? 2e-3 : 1e-5), `${l.name}: ${d}`); // fc.weight is float16
  }
  a.close();
  b.close();
  await assert.rejects(pruneModel(fixture('safetensors', 'model.safetensors'), out('node.safetensors'), { method: 'node', ratio: 0.5 }), /node pruning needs a graph/);
});

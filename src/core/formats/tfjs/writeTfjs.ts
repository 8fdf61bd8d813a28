/**
 * Writes a TF.js layers-model: model.json (every field of the source kept, the topology as given)
 * and one weight shard, in the manifest format tfjs reads. Each weight is stored as float32, or
 * re-quantized to the scheme it had in the source (uint8 / uint16 affine, float16).
 * Files are written as temp files and renamed, model.json last.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../errors.ts';
import { encodeFloats } from '../../tensor/dtype.ts';

export type TfjsQuantization = 'uint8' | 'uint16' | 'float16' | undefined;

export interface TfjsWeightOut {
  name: string;
  shape: number[];
  values: ArrayLike<number>;
  quantization?: TfjsQuantization;
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32';
  quantization?: { dtype: string; min?: number; scale?: number };
}

/** Affine quantization as tensorflowjs_converter does it: q = round((v − min) / scale). */
function quantize(values: ArrayLike<number>, dtype: 'uint8' | 'uint16'): { bytes: Uint8Array; min: number; scale: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  if (!Number.isFinite(min)) min = max = 0;
  const levels = dtype === 'uint8' ? 255 : 65535;
  const scale = max > min ? (max - min) / levels : 1;
  const q = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.min(levels, Math.max(0, Math.round((values[i]! - min) / scale)));
  return { bytes: new Uint8Array(q.buffer), min: Math.fround(min), scale: Math.fround(scale) };
}

/**
 * `source` is the original model.json's path and its parsed content; every field of it but the
 * topology and the manifest is carried over.
 */
export function writeTfjsLayersModel(source: { file: string; json: Record<string, unknown> }, target: string, topology: unknown, weights: TfjsWeightOut[], force = false): void {
  const src = path.resolve(source.file);
  const out = path.resolve(target);
  if (path.basename(out) !== 'model.json' && !out.endsWith('.json')) throw new CheckpointError(out, 'a TF.js output must be a model.json path');
  if (path.dirname(out) === path.dirname(src)) throw new CheckpointError(src, 'refusing to write the pruned model into the original model\'s folder');
  if (fs.existsSync(out) && !force) throw new CheckpointError(out, 'already exists (pass --force to replace it)');
  const chunks: Uint8Array[] = [];
  const manifest: ManifestEntry[] = [];
  for (const w of weights) {
    const entry: ManifestEntry = { name: w.name, shape: w.shape, dtype: 'float32' };
    if (w.quantization === 'uint8' || w.quantization === 'uint16') {
      const q = quantize(w.values, w.quantization);
      entry.quantization = { dtype: w.quantization, min: q.min, scale: q.scale };
      chunks.push(q.bytes);
    } else if (w.quantization === 'float16') {
      entry.quantization = { dtype: 'float16' };
      chunks.push(encodeFloats(w.values, 'float16'));
    } else chunks.push(encodeFloats(w.values, 'float32'));
    manifest.push(entry);
  }
  const dir = path.dirname(out);
  fs.mkdirSync(dir, { recursive: true });
  const shard = 'group1-shard1of1.bin';
  const data = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const written = { ...source.json, modelTopology: topology, weightsManifest: [{ paths: [shard], weights: manifest }] };
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmpShard = path.join(dir, `.${shard}.${tag}.tmp`);
  const tmpJson = path.join(dir, `.${path.basename(out)}.${tag}.tmp`);
  try {
    fs.writeFileSync(tmpShard, data);
    fs.writeFileSync(tmpJson, JSON.stringify(written));
    fs.renameSync(tmpShard, path.join(dir, shard));
    fs.renameSync(tmpJson, out);
  } finally {
    fs.rmSync(tmpShard, { force: true });
    fs.rmSync(tmpJson, { force: true });
  }
}

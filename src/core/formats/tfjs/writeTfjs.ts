/**
 * Writes a TF.js layers-model: model.json (every field of the source kept, the topology as given)
 * and one weight shard, in the manifest format tfjs reads. Each weight is stored as float32, or
 * re-quantized to the scheme it had in the source (uint8 / uint16 affine, float16).
 * Files are staged and renamed into place, model.json last (io/outputTransaction.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../errors.ts';
import { encodeFloats } from '../../tensor/dtype.ts';
import { InputFiles } from '../../io/inputFiles.ts';
import { type OutputTransaction, writeTarget } from '../../io/outputTransaction.ts';

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

/** The shard name PruneScope writes (one shard per model). */
export const TFJS_SHARD = 'group1-shard1of1.bin';

/**
 * `source` is the original model.json's path and its parsed content; every field of it but the
 * topology and the manifest is carried over. `target`: an open OutputTransaction (staged; the
 * caller verifies and commits) or a model.json path (written here, shard first, model.json last).
 */
export function writeTfjsLayersModel(source: { file: string; json: Record<string, unknown> }, target: OutputTransaction | string, topology: unknown, weights: TfjsWeightOut[], force = false): void {
  const src = path.resolve(source.file);
  const out = path.resolve(typeof target === 'string' ? target : target.model);
  if (!out.endsWith('.json')) throw new CheckpointError(out, 'a TF.js output must be a model.json path');
  if (path.dirname(out) === path.dirname(src)) throw new CheckpointError(src, 'refusing to write the pruned model into the original model\'s folder');
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
  const data = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const inputs = new InputFiles().add(src, 'the original model');
  writeTarget(target, { inputs, force, sideFiles: [TFJS_SHARD] }, (tx) => {
    const shard = tx.sideName(TFJS_SHARD);
    const written = { ...source.json, modelTopology: topology, weightsManifest: [{ paths: [shard], weights: manifest }] };
    tx.write(() => {
      fs.writeFileSync(tx.stagedPath(shard), data);
      fs.writeFileSync(tx.stagedModel, JSON.stringify(written));
    });
  });
}

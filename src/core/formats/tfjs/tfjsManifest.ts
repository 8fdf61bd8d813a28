import * as fs from 'node:fs';
import * as path from 'node:path';
import type { QuantizationInfo } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import { type ByteSourcePool, resolveInside } from '../../io/byteSource.ts';
import { type DType, decodeValues, elementCount } from '../../tensor/dtype.ts';

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

/** A manifest entry located in its group's concatenated shard bytes, not yet read. */
export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  /** The logical dtype (what tfjs decodes to). */
  dtype: DType;
  /** The dtype the bytes are stored as (differs when quantized). */
  storedDtype: DType;
  size: number;
  byteLength: number;
  quantized?: QuantizationInfo;
  readBytes(): Uint8Array;
  read(): Float32Array | Float64Array;
}

const LOGICAL: Record<string, DType> = { float32: 'float32', int32: 'int32', bool: 'bool' };
const QUANTIZED: Record<string, DType> = { uint8: 'uint8', uint16: 'uint16', float16: 'float16' };

/**
 * Lays out every weight of `weightsManifest` over its group's shard files (checked to exist, to stay
 * in the model's folder and to be long enough) and returns lazy readers. Reads no tensor bytes.
 */
export function locateTfjsWeights(file: string, manifest: unknown, pool: ByteSourcePool, shardFiles: string[] = []): TfjsWeightEntry[] {
  if (!Array.isArray(manifest)) throw new CheckpointError(file, 'weightsManifest is missing or not a list');
  const folder = path.dirname(file);
  const entries: TfjsWeightEntry[] = [];
  manifest.forEach((group: { paths?: unknown; weights?: unknown }, g) => {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new CheckpointError(file, `weightsManifest group ${g} needs 'paths' and 'weights' lists`);
    }
    const shards = (group.paths as unknown[]).map((p) => {
      if (typeof p !== 'string') throw new CheckpointError(file, `weightsManifest group ${g} has a non-string shard path`);
      const target = resolveInside(file, folder, p, 'weight shard');
      let size: number;
      try {
        size = fs.statSync(target).size;
      } catch {
        throw new CheckpointError(file, `weight shard '${quote(p)}' is missing`);
      }
      if (!shardFiles.includes(target)) shardFiles.push(target);
      return { rel: p, target, start: 0, size };
    });
    let total = 0;
    for (const s of shards) {
      s.start = total;
      total += s.size;
    }
    let offset = 0;
    for (const w of group.weights as ManifestWeight[]) {
      const entry = describeWeight(file, w);
      const start = offset;
      offset += entry.byteLength;
      if (offset > total) {
        throw new CheckpointError(
          file,
          `weight shards of group ${g} are short: '${quote(w.name)}' needs bytes ${start}..${offset} but the shards hold ${total}`,
        );
      }
      const readBytes = () => readAcross(shards, pool, start, entry.byteLength);
      entries.push({ ...entry, readBytes, read: () => decodeEntry(entry, readBytes()) });
    }
  });
  return entries;
}

function describeWeight(file: string, w: ManifestWeight): Omit<TfjsWeightEntry, 'readBytes' | 'read'> {
  if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
    throw new CheckpointError(file, 'a weightsManifest entry lacks a name or shape');
  }
  const dtype = LOGICAL[w.dtype];
  if (!dtype) throw new CheckpointError(file, `weight '${quote(w.name)}' has dtype '${quote(w.dtype)}', which PruneScope does not support`);
  const size = elementCount(w.shape);
  if (size === undefined) {
    throw new CheckpointError(file, `weight '${quote(w.name)}' has shape [${w.shape.join(', ')}] whose product is negative or overflows`);
  }
  let storedDtype = dtype;
  let quantized: QuantizationInfo | undefined;
  if (w.quantization) {
    const q = QUANTIZED[w.quantization.dtype];
    if (!q) throw new CheckpointError(file, `weight '${quote(w.name)}' uses quantization dtype '${quote(w.quantization.dtype)}', which PruneScope does not support`);
    storedDtype = q;
    if (q === 'float16') {
      quantized = { scheme: 'float16', storedDtype: q };
    } else {
      const { min, scale } = w.quantization;
      if (typeof min !== 'number' || typeof scale !== 'number') {
        throw new CheckpointError(file, `weight '${quote(w.name)}' is ${q}-quantized but has no numeric min/scale`);
      }
      quantized = { scheme: 'affine', storedDtype: q, min, affineScale: scale };
    }
  }
  const bytes = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 }[storedDtype as 'float32'];
  return { name: w.name, shape: w.shape, dtype, storedDtype, size, byteLength: size * bytes, ...(quantized ? { quantized } : {}) };
}

/** Decodes as tfjs's own decodeWeights does: q·scale + min computed in doubles, stored as float32. */
function decodeEntry(e: Omit<TfjsWeightEntry, 'readBytes' | 'read'>, bytes: Uint8Array): Float32Array | Float64Array {
  const q = e.quantized;
  if (!q || q.scheme === 'float16') return decodeValues(bytes, e.storedDtype, e.size);
  const raw = decodeValues(bytes, e.storedDtype, e.size);
  const out = new Float32Array(e.size);
  const { affineScale, min } = q as { affineScale: number; min: number };
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]! * affineScale + min;
  return out;
}

function readAcross(
  shards: Array<{ target: string; start: number; size: number }>,
  pool: ByteSourcePool,
  start: number,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  for (const s of shards) {
    if (done === length) break;
    const from = start + done;
    if (from >= s.start + s.size || from < s.start) continue;
    const n = Math.min(length - done, s.start + s.size - from);
    out.set(pool.get(s.target).read(from - s.start, n), done);
    done += n;
  }
  return out;
}

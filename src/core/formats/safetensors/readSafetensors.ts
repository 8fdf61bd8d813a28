import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint, LayerInfo, WeightTensor } from '../../checkpoint.ts';
import { CheckpointError, quote } from '../../errors.ts';
import { ByteSourcePool, type FileByteSource, readRegularFile, resolveInside } from '../../io/byteSource.ts';
import { parseJsonFile } from '../../io/parseJson.ts';
import { type DType, bytesPerElement, decodeChunkedInto, decodeValues, elementCount, isFloatDType } from '../../tensor/dtype.ts';

/** The safetensors spec caps the JSON header at 100 MB. */
const MAX_HEADER = 100 * 1024 * 1024;

const DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads a single .safetensors file: only its JSON header is read up front. */
export function readSafetensors(file: string): Checkpoint {
  const pool = new ByteSourcePool();
  try {
    const { weights, carried, metadata } = readShard(file, pool.get(file));
    return finish(file, weights, carried, metadata, pool);
  } catch (e) {
    pool.closeAll();
    throw e;
  }
}

/** Reads a sharded checkpoint through its `model.safetensors.index.json`. */
export function readSafetensorsIndex(file: string): Checkpoint {
  const index = parseJsonFile(file, readRegularFile(file, MAX_HEADER).toString('utf8'), 'the index') as { weight_map?: Record<string, unknown>; metadata?: Record<string, unknown> } | null;
  if (!index || typeof index.weight_map !== 'object' || index.weight_map === null) {
    throw new CheckpointError(file, "not a safetensors index: it has no 'weight_map' object");
  }
  const pool = new ByteSourcePool();
  try {
    const shards = new Map<string, string[]>();
    for (const [name, shard] of Object.entries(index.weight_map)) {
      if (typeof shard !== 'string') throw new CheckpointError(file, `weight_map entry '${quote(name)}' is not a file name`);
      shards.set(shard, [...(shards.get(shard) ?? []), name]);
    }
    const weights: WeightTensor[] = [];
    const carried: NonNullable<Checkpoint['carried']> = [];
    for (const [shard, names] of shards) {
      const target = resolveInside(file, path.dirname(file), shard, 'safetensors shard');
      if (!fs.existsSync(target)) throw new CheckpointError(file, `safetensors shard '${quote(shard)}' is missing`);
      const { weights: inShard, carried: otherInShard, all } = readShard(target, pool.get(target));
      for (const n of names) {
        if (!all.has(n)) throw new CheckpointError(file, `weight_map puts '${quote(n)}' in '${quote(shard)}', but that shard has no such tensor`);
      }
      const wanted = new Set(names);
      weights.push(...inShard.filter((w) => wanted.has(w.name)));
      carried.push(...otherInShard.filter((t) => wanted.has(t.name)));
    }
    return finish(file, weights, carried, (index.metadata ?? {}) as Record<string, unknown>, pool);
  } catch (e) {
    pool.closeAll();
    throw e;
  }
}

function finish(file: string, weights: WeightTensor[], carried: NonNullable<Checkpoint['carried']>, metadata: Record<string, unknown>, pool: ByteSourcePool): Checkpoint {
  const format = typeof metadata['format'] === 'string' ? ` (${metadata['format']})` : '';
  return {
    format: 'safetensors',
    file,
    files: [file, ...pool.files().filter((f) => f !== file)],
    producer: `safetensors${format}`,
    ops: [],
    weights,
    carried,
    metadata: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])),
    warnings: weights.length ? ['safetensors has no graph: layers were inferred from tensor names and shapes (PyTorch layout assumed)'] : [],
    bytesRead: () => pool.bytesRead(),
    close: () => pool.closeAll(),
  };
}

function readShard(
  file: string,
  source: FileByteSource,
): { weights: WeightTensor[]; carried: NonNullable<Checkpoint['carried']>; metadata: Record<string, unknown>; all: Set<string> } {
  if (source.size < 8) throw new CheckpointError(file, `truncated: a safetensors file needs an 8-byte header length but has ${source.size} bytes`);
  const lenBytes = source.read(0, 8);
  const headerLength = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLength > MAX_HEADER) throw new CheckpointError(file, `not a safetensors file: header length ${headerLength} is over the 100 MB limit`);
  if (8 + headerLength > source.size) {
    throw new CheckpointError(file, `truncated: the header needs ${headerLength} bytes but the file has ${source.size - 8} after the length`);
  }
  const header = parseJsonFile(file, Buffer.from(source.read(8, headerLength)).toString('utf8'), 'not a safetensors file: its header') as Record<string, unknown> | null;
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new CheckpointError(file, 'not a safetensors file: its header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = source.size - dataStart;
  const weights: WeightTensor[] = [];
  const carried: NonNullable<Checkpoint['carried']> = [];
  const all = new Set<string>();
  const spans: Array<[number, number, string]> = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    all.add(name);
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new CheckpointError(file, `tensor '${quote(name)}' has a malformed header entry`);
    }
    const dtype = DTYPES[e.dtype];
    if (!dtype) throw new CheckpointError(file, `tensor '${quote(name)}' has dtype ${e.dtype}, which PruneScope does not support`);
    const size = elementCount(e.shape);
    if (size === undefined) throw new CheckpointError(file, `tensor '${quote(name)}' has shape [${e.shape.join(', ')}] whose product is negative or overflows`);
    const [begin, end] = e.data_offsets;
    const byteLength = size * bytesPerElement(dtype);
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin) {
      throw new CheckpointError(file, `tensor '${quote(name)}' has invalid data_offsets [${begin}, ${end}]`);
    }
    if (end - begin !== byteLength) {
      throw new CheckpointError(file, `tensor '${quote(name)}' has shape [${e.shape.join(', ')}] (${size} × ${dtype}) but ${end - begin} bytes in data_offsets`);
    }
    if (end > dataLength) throw new CheckpointError(file, `truncated: tensor '${quote(name)}' needs data bytes ${begin}..${end} but the file holds ${dataLength}`);
    spans.push([begin, end, name]);
    const read = () => source.read(dataStart + begin, byteLength);
    if (!isFloatDType(dtype)) {
      carried.push({ name, dtype: e.dtype, shape: e.shape, readBytes: read }); // step counters, position ids
      continue;
    }
    weights.push({
      name,
      dtype,
      shape: e.shape,
      size,
      byteLength,
      layer: inferLayer(name, e.shape),
      readBytes: read,
      read: () => decodeValues(read(), dtype, size),
      readInto: (target: Float64Array) => decodeChunkedInto(target, dtype, size, (o, n) => source.read(dataStart + begin + o, n)),
    });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) throw new CheckpointError(file, `tensors '${quote(spans[i - 1]![2])}' and '${quote(spans[i]![2])}' overlap`);
  }
  const metadata = (header['__metadata__'] as Record<string, unknown> | undefined) ?? {};
  return { weights, carried, metadata, all };
}

/** Guesses a weight's layer from its name and shape, assuming PyTorch conventions. */
export function inferLayer(name: string, shape: readonly number[]): LayerInfo {
  const lower = name.toLowerCase();
  const leaf = lower.split('.').pop() ?? lower;
  const base = { op: name.split('.').slice(0, -1).join('.'), opType: '', inputIndex: -1, inferred: true, note: 'inferred from the name and shape' };
  const none = { kind: 'none' } as const;
  if (shape.length === 1) {
    if (/(norm|^ln|\.ln|_ln|bn\d*\.|layernorm|running_(mean|var))/.test(lower)) return { ...base, kind: 'norm', layout: none };
    if (leaf.startsWith('bias')) return { ...base, kind: 'bias', layout: none };
    return { ...base, kind: 'other', layout: none };
  }
  if (shape.length === 2) {
    if (/weight_(ih|hh)/.test(leaf)) return { ...base, kind: 'recurrent', layout: { kind: 'identity' } };
    if (/(embed|wte|wpe|tok_emb|pos_emb)/.test(lower)) return { ...base, kind: 'embedding', layout: { kind: 'identity' } };
    return { ...base, kind: 'dense', layout: { kind: 'identity' } };
  }
  if (shape.length >= 3 && shape.length <= 5 && leaf.startsWith('weight')) {
    return { ...base, kind: 'conv', layout: { kind: 'identity' }, note: 'inferred from the name and shape (groups unknown)' };
  }
  return { ...base, kind: 'other', layout: none };
}

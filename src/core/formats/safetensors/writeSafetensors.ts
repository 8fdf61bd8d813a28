/**
 * Writes a single .safetensors file: 8-byte little-endian header length, JSON header (padded with
 * spaces to 8-byte alignment), packed little-endian data. Staged, then renamed into place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../errors.ts';
import { InputFiles } from '../../io/inputFiles.ts';
import { type OutputTransaction, writeTarget } from '../../io/outputTransaction.ts';

const NAMES: Record<string, string> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint64: 'U64',
  uint32: 'U32',
  uint16: 'U16',
  uint8: 'U8',
  bool: 'BOOL',
};

export interface SafetensorsTensorOut {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** `target`: an open OutputTransaction (staged; the caller commits) or a path (written atomically here). */
export function writeSafetensors(target: OutputTransaction | string, tensors: SafetensorsTensorOut[], metadata: Record<string, string>, force = false, inputs = new InputFiles()): void {
  const out = path.resolve(typeof target === 'string' ? target : target.model);
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    // PruneScope dtype names, or a safetensors name carried over from a source header.
    const dtype = NAMES[t.dtype] ?? (Object.values(NAMES).includes(t.dtype) ? t.dtype : undefined);
    if (!dtype) throw new CheckpointError(out, `cannot write dtype ${t.dtype} to safetensors`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeTarget(target, { inputs, force }, (tx) =>
    tx.write(() => {
      const fd = fs.openSync(tx.stagedModel, 'w');
      try {
        fs.writeSync(fd, len);
        fs.writeSync(fd, json);
        for (const t of tensors) fs.writeSync(fd, t.bytes);
      } finally {
        fs.closeSync(fd);
      }
    }),
  );
}

/**
 * Writes a single .safetensors file: 8-byte little-endian header length, JSON header (padded with
 * spaces to 8-byte alignment), packed little-endian data. Atomic: temp file, then rename.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../errors.ts';

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

export function writeSafetensors(target: string, tensors: SafetensorsTensorOut[], metadata: Record<string, string>, force = false): void {
  const out = path.resolve(target);
  if (fs.existsSync(out) && !force) throw new CheckpointError(out, 'already exists (pass --force to replace it)');
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
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, len);
      fs.writeSync(fd, json);
      for (const t of tensors) fs.writeSync(fd, t.bytes);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

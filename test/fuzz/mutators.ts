/**
 * Mutations of model files for the fuzz harness: byte-level (flips, truncation, insertion,
 * duplicated and deleted chunks), protobuf-aware (lengths, varints, dims, data types, fields
 * dropped or repeated), JSON-aware (manifests, safetensors headers, index files) and NaN/Inf
 * weights. Every mutation is a pure function of the input bytes and the PRNG.
 */
import type { Mulberry32 } from '../../src/core/analysis/prng.ts';
import { jsonDepth } from '../../src/core/io/parseJson.ts';

export type Rng = Mulberry32;

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.below(xs.length)]!;

// ── byte level ─────────────────────────────────────────────────────────────────────────────

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a, 0x22];

export function mutateBytes(r: Rng, b: Uint8Array): { bytes: Uint8Array; how: string } {
  const n = b.length;
  const at = () => r.below(Math.max(1, n));
  switch (r.below(6)) {
    case 0: {
      const out = b.slice();
      const k = 1 + r.below(8);
      for (let i = 0; i < k && n; i++) out[at()]! ^= 1 << r.below(8);
      return { bytes: out, how: `flip ${k} bits` };
    }
    case 1: {
      const out = b.slice();
      const k = 1 + r.below(8);
      for (let i = 0; i < k && n; i++) out[at()] = pick(r, INTERESTING_BYTES);
      return { bytes: out, how: `set ${k} bytes` };
    }
    case 2: {
      const cut = at();
      return { bytes: b.slice(0, cut), how: `truncate at ${cut}` };
    }
    case 3: {
      const pos = at();
      const ins = new Uint8Array(1 + r.below(64)).map(() => r.below(256));
      return { bytes: concat(b.subarray(0, pos), ins, b.subarray(pos)), how: `insert ${ins.length} bytes at ${pos}` };
    }
    case 4: {
      const start = at();
      const len = 1 + r.below(Math.max(1, Math.min(512, n - start)));
      const pos = at();
      return { bytes: concat(b.subarray(0, pos), b.subarray(start, start + len), b.subarray(pos)), how: `duplicate ${len} bytes from ${start} at ${pos}` };
    }
    default: {
      const start = at();
      const len = 1 + r.below(Math.max(1, Math.min(256, n - start)));
      return { bytes: concat(b.subarray(0, start), b.subarray(start + len)), how: `delete ${len} bytes at ${start}` };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ── protobuf ───────────────────────────────────────────────────────────────────────────────

/** One field of a message: its number, wire type and value (children when it parses as a message). */
interface PbField {
  field: number;
  wire: number;
  /** Varint value (as bigint), fixed bytes, or a length-delimited payload. */
  varint?: bigint;
  bytes?: Uint8Array;
  children?: PbField[];
}

function readVarint(b: Uint8Array, pos: number): [bigint, number] | undefined {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) return undefined;
    const byte = b[pos++]!;
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [v, pos];
    shift += 7n;
  }
  return undefined;
}

/** Parses `b` as a message; undefined if it is not one (then the field is plain bytes). */
function parseMessage(b: Uint8Array, depth: number): PbField[] | undefined {
  if (depth > 12 || b.length === 0) return undefined;
  const fields: PbField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const tag = readVarint(b, pos);
    if (!tag) return undefined;
    pos = tag[1];
    const field = Number(tag[0] >> 3n);
    const wire = Number(tag[0] & 7n);
    if (field === 0) return undefined;
    if (wire === 0) {
      const v = readVarint(b, pos);
      if (!v) return undefined;
      fields.push({ field, wire, varint: v[0] });
      pos = v[1];
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (pos + len > b.length) return undefined;
      fields.push({ field, wire, bytes: b.slice(pos, pos + len) });
      pos += len;
    } else if (wire === 2) {
      const l = readVarint(b, pos);
      if (!l) return undefined;
      const len = Number(l[0]);
      pos = l[1];
      if (pos + len > b.length) return undefined;
      const payload = b.slice(pos, pos + len);
      pos += len;
      const children = len > 0 && len < 1 << 20 ? parseMessage(payload, depth + 1) : undefined;
      fields.push({ field, wire, bytes: payload, ...(children ? { children } : {}) });
    } else return undefined;
  }
  return fields;
}

function varintBytes(v: bigint): number[] {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x) byte |= 0x80;
    out.push(byte);
  } while (x);
  return out;
}

function serialize(fields: PbField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(Uint8Array.from(varintBytes(BigInt((f.field << 3) | f.wire))));
    if (f.wire === 0) parts.push(Uint8Array.from(varintBytes(f.varint!)));
    else if (f.wire === 2) {
      const payload = f.children ? serialize(f.children) : f.bytes!;
      parts.push(Uint8Array.from(varintBytes(BigInt(payload.length))), payload);
    } else parts.push(f.bytes!);
  }
  return concat(...parts);
}

/** Every field with its path of field numbers from the top. */
function walk(fields: PbField[], path: number[] = [], out: Array<{ f: PbField; path: number[]; siblings: PbField[] }> = []) {
  for (const f of fields) {
    const p = [...path, f.field];
    out.push({ f, path: p, siblings: fields });
    if (f.children) walk(f.children, p, out);
  }
  return out;
}

const INTERESTING_VARINTS = [0n, 1n, 2n, 7n, 8n, 16n, 255n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 63n)];

/** ONNX paths worth aiming at: tensor dims / data_type / raw_data, node inputs and attributes, input shapes. */
const ONNX_TARGETS: number[][] = [
  [7, 5, 1], // initializer dims
  [7, 5, 2], // initializer data_type
  [7, 5, 9], // initializer raw_data
  [7, 5, 13], // external_data entries
  [7, 1, 1], // node input
  [7, 1, 4], // node op_type
  [7, 1, 5], // node attribute
  [7, 1, 5, 3], // attribute i
  [7, 1, 5, 8], // attribute ints
  [7, 1, 5, 5, 1], // Constant tensor dims
  [7, 11, 2, 1, 2, 1, 1], // input shape dim_value
  [7, 11], // graph input
  [8, 2], // opset version
  [1], // ir_version
];

export function mutateProtobuf(r: Rng, b: Uint8Array): { bytes: Uint8Array; how: string } | undefined {
  const top = parseMessage(b, 0);
  if (!top) return undefined;
  const all = walk(top);
  const aimed = all.filter((x) => ONNX_TARGETS.some((t) => t.length === x.path.length && t.every((v, i) => v === x.path[i])));
  const target = aimed.length && r.below(3) > 0 ? pick(r, aimed) : pick(r, all);
  const where = target.path.join('.');
  const f = target.f;
  switch (r.below(5)) {
    case 0:
      if (f.wire === 0) {
        f.varint = pick(r, INTERESTING_VARINTS);
        return { bytes: serialize(top), how: `varint ${where} := ${f.varint}` };
      }
      if (f.wire === 2 && !f.children && f.bytes!.length % 8 === 0 && f.bytes!.length > 0) {
        // packed varints / raw data: corrupt the payload but keep the framing
        const out = f.bytes!.slice();
        out[r.below(out.length)] = pick(r, INTERESTING_BYTES);
        f.bytes = out;
        return { bytes: serialize(top), how: `payload byte of ${where}` };
      }
      break;
    case 1: {
      // a length prefix that lies, parents left as they are
      if (f.wire !== 2) break;
      const payload = f.children ? serialize(f.children) : f.bytes!;
      const delta = pick(r, [-3, -1, 1, 2, 1000, 2 ** 31]);
      const fake = Math.max(0, payload.length + delta);
      const serial = serialize(top);
      const real = concat(Uint8Array.from(varintBytes(BigInt(payload.length))), payload);
      const idx = indexOf(serial, real);
      if (idx < 0) break;
      const lied = concat(Uint8Array.from(varintBytes(BigInt(fake))), payload);
      return { bytes: concat(serial.subarray(0, idx), lied, serial.subarray(idx + real.length)), how: `length of ${where}: ${payload.length} → ${fake}` };
    }
    case 2: {
      const i = target.siblings.indexOf(f);
      target.siblings.splice(i, 1);
      return { bytes: serialize(top), how: `drop field ${where}` };
    }
    case 3: {
      const i = target.siblings.indexOf(f);
      target.siblings.splice(i, 0, structuredClone(f));
      return { bytes: serialize(top), how: `repeat field ${where}` };
    }
    default: {
      // a field with another wire type or number
      const other: PbField = pick(r, [
        { field: f.field, wire: 0, varint: pick(r, INTERESTING_VARINTS) },
        { field: f.field, wire: 2, bytes: new Uint8Array(r.below(16)).map(() => r.below(256)) },
        { field: f.field, wire: 5, bytes: Uint8Array.of(0, 0, 0xc0, 0x7f) },
        { field: 1 + r.below(20), wire: 2, bytes: Uint8Array.of(0x08, 0x01) },
      ]);
      target.siblings.splice(target.siblings.indexOf(f), 1, other);
      return { bytes: serialize(top), how: `replace field ${where} by field ${other.field} wire ${other.wire}` };
    }
  }
  return undefined;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

// ── JSON ───────────────────────────────────────────────────────────────────────────────────

const DEEP = '__PRUNESCOPE_FUZZ_DEEP__';
const EVIL_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  2 ** 53 + 2,
  '',
  '../../escape.bin',
  '/etc/passwd',
  'NaN',
  'a\nb\u001b[31mred\u0000',
  'x'.repeat(10_000),
  [],
  {},
  [[[[[]]]]],
  { dtype: 'float32' },
  [-1, 3],
  [1e9, 1e9, 1e9],
  DEEP,
];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function jsonPaths(v: Json, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => jsonPaths(x, [...path, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) jsonPaths(x, [...path, k], out);
  return out;
}

function mutateJsonValue(r: Rng, root: Json): { value: Json; how: string } {
  const paths = jsonPaths(root).filter((p) => p.length > 0);
  if (!paths.length) return { value: pick(r, EVIL_VALUES) as Json, how: 'replace the root' };
  const p = pick(r, paths);
  const parent = p.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k as string]!, root) as Record<string, Json> | Json[];
  const key = p.at(-1)!;
  const where = p.join('.');
  switch (r.below(4)) {
    case 0:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return { value: root, how: `delete ${where}` };
    case 1:
      if (Array.isArray(parent)) {
        parent.splice(key as number, 0, structuredClone(parent[key as number]!));
        return { value: root, how: `duplicate ${where}` };
      }
      break;
    case 2: {
      const cur = (parent as Record<string, Json>)[key as string];
      if (typeof cur === 'number') {
        (parent as Record<string, Json>)[key as string] = String(cur);
        return { value: root, how: `${where} as a string` };
      }
      if (typeof cur === 'string') {
        (parent as Record<string, Json>)[key as string] = Number.isNaN(Number(cur)) ? 7 : -Number(cur);
        return { value: root, how: `${where} as a number` };
      }
      break;
    }
    default:
      break;
  }
  const evil = structuredClone(pick(r, EVIL_VALUES)) as Json;
  (parent as Record<string, Json>)[key as string] = evil;
  return { value: root, how: `${where} := ${typeof evil === 'string' ? JSON.stringify(evil.slice(0, 20)) : JSON.stringify(evil)?.slice(0, 30)}` };
}

function stringify(v: Json): string {
  return JSON.stringify(v).replace(JSON.stringify(DEEP), '['.repeat(100_000) + ']'.repeat(100_000));
}

/** A JSON file (model.json, an index) with one value changed; undefined if it is not JSON. */
export function mutateJsonText(r: Rng, b: Uint8Array): { bytes: Uint8Array; how: string } | undefined {
  const text = Buffer.from(b).toString('utf8');
  if (jsonDepth(text, 1000) > 1000) return undefined; // already made deep by an earlier step
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  const m = mutateJsonValue(r, root);
  return { bytes: Buffer.from(stringify(m.value), 'utf8'), how: `json: ${m.how}` };
}

/** A safetensors file whose JSON header has one value changed (its length prefix recomputed, or not). */
export function mutateSafetensorsHeader(r: Rng, b: Uint8Array): { bytes: Uint8Array; how: string } | undefined {
  if (b.length < 8) return undefined;
  const len = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  if (8 + len > b.length) return undefined;
  const text = Buffer.from(b.subarray(8, 8 + len)).toString('utf8');
  if (jsonDepth(text, 1000) > 1000) return undefined;
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  const m = mutateJsonValue(r, root);
  const header = Buffer.from(stringify(m.value), 'utf8');
  const prefix = Buffer.alloc(8);
  const honest = r.below(4) > 0;
  prefix.writeBigUInt64LE(BigInt(honest ? header.length : len));
  return { bytes: concat(prefix, header, b.subarray(8 + len)), how: `safetensors header: ${m.how}${honest ? '' : ' (length prefix not updated)'}` };
}

// ── NaN / Inf weights ──────────────────────────────────────────────────────────────────────

const NON_FINITE = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Overwrites some aligned float32 slots of [start, end) with NaN or ±Inf. */
export function poisonFloats(r: Rng, b: Uint8Array, start = 0, end = b.length): { bytes: Uint8Array; how: string } {
  const out = b.slice();
  const view = new DataView(out.buffer);
  const slots = Math.floor((end - start) / 4);
  if (slots <= 0) return { bytes: out, how: 'no float slots' };
  const k = 1 + r.below(Math.min(16, slots));
  for (let i = 0; i < k; i++) view.setFloat32(start + 4 * r.below(slots), pick(r, NON_FINITE), true);
  return { bytes: out, how: `${k} float32 slots set to NaN/Inf` };
}

/** ONNX: NaN/Inf inside the raw_data of float initializers (framing kept). */
export function poisonOnnxWeights(r: Rng, b: Uint8Array): { bytes: Uint8Array; how: string } | undefined {
  const top = parseMessage(b, 0);
  if (!top) return undefined;
  const raws = walk(top).filter((x) => x.path.join('.') === '7.5.9' && x.f.bytes && x.f.bytes.length >= 4 && x.siblings.some((s) => s.field === 2 && s.varint === 1n));
  if (!raws.length) return undefined;
  const t = pick(r, raws);
  const p = poisonFloats(r, t.f.bytes!);
  t.f.bytes = p.bytes;
  delete t.f.children;
  return { bytes: serialize(top), how: `onnx raw_data: ${p.how}` };
}

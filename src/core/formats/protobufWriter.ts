import * as fs from 'node:fs';

/** Bytes produced on demand while streaming (so large payloads never sit in memory whole). */
export interface StreamedBytes {
  length: number;
  /** Calls `emit` with consecutive chunks totalling `length` bytes. */
  produce(emit: (chunk: Uint8Array) => void): void;
}

type Part = Uint8Array | StreamedBytes | ProtobufWriter;

/**
 * Builds a protobuf message whose sizes are known before any payload is produced, then streams it
 * to a file. Small fields are encoded eagerly; big `bytes` fields are StreamedBytes.
 */
export class ProtobufWriter {
  private readonly parts: Part[] = [];
  private cachedSize: number | undefined;

  varint(field: number, value: number): this {
    return this.push(concat(key(field, 0), encodeVarint(value)));
  }

  int64(field: number, value: number): this {
    return this.push(concat(key(field, 0), encodeInt64(value)));
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.push(concat(key(field, 5), b));
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    return this.push(concat(key(field, 2), encodeVarint(value.length), value));
  }

  /** A bytes field whose payload is held (Uint8Array) or streamed when the message is written. */
  streamedBytes(field: number, value: Uint8Array | StreamedBytes): this {
    this.push(concat(key(field, 2), encodeVarint(value.length)));
    return this.push(value);
  }

  /** Bytes already encoded as protobuf (copied verbatim). */
  raw(bytes: Uint8Array | StreamedBytes): this {
    return this.push(bytes);
  }

  message(field: number, build: (w: ProtobufWriter) => void): this {
    const child = new ProtobufWriter();
    build(child);
    this.push(concat(key(field, 2), encodeVarint(child.size())));
    return this.push(child);
  }

  size(): number {
    if (this.cachedSize === undefined) {
      this.cachedSize = this.parts.reduce((n, p) => n + (p instanceof ProtobufWriter ? p.size() : p.length), 0);
    }
    return this.cachedSize;
  }

  /** Emits the encoded message chunk by chunk. */
  produce(emit: (chunk: Uint8Array) => void): void {
    for (const p of this.parts) {
      if (p instanceof Uint8Array) emit(p);
      else p.produce(emit);
    }
  }

  /** Small messages only: the whole encoding in one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size());
    let o = 0;
    this.produce((c) => {
      out.set(c, o);
      o += c.length;
    });
    return out;
  }

  /** Streams the message to `file` through a 4 MiB buffer. */
  writeToFile(file: string): void {
    const fd = fs.openSync(file, 'w');
    try {
      const buf = new Uint8Array(4 << 20);
      let used = 0;
      const flush = () => {
        let done = 0;
        while (done < used) done += fs.writeSync(fd, buf, done, used - done);
        used = 0;
      };
      this.produce((chunk) => {
        let o = 0;
        while (o < chunk.length) {
          const n = Math.min(chunk.length - o, buf.length - used);
          buf.set(chunk.subarray(o, o + n), used);
          used += n;
          o += n;
          if (used === buf.length) flush();
        }
      });
      flush();
    } finally {
      fs.closeSync(fd);
    }
  }

  private push(p: Part): this {
    this.parts.push(p);
    this.cachedSize = undefined;
    return this;
  }
}

function key(field: number, wire: number): Uint8Array {
  return encodeVarint(field * 8 + wire);
}

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function encodeInt64(value: number): Uint8Array {
  if (value >= 0) return encodeVarint(value);
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

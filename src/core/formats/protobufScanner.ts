import { CheckpointError } from '../errors.ts';
import type { FileByteSource } from '../io/byteSource.ts';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** A span of the file: where a length-delimited field's payload lies. Nothing is read. */
export interface ByteSpan {
  offset: number;
  length: number;
}

/**
 * A pull parser for protobuf wire format over a file, read through a small sliding window.
 * Length-delimited payloads can be skipped (recording their span) without touching their bytes,
 * so a multi-GB model's structure is scanned while reading only its non-tensor bytes.
 */
export class ProtobufScanner {
  private window: Uint8Array;
  private windowStart = 0;
  private windowLength = 0;
  private pos: number;
  private limit: number;
  private readonly limits: number[] = [];

  constructor(
    private readonly source: FileByteSource,
    start = 0,
    end = source.size,
    windowSize = 1 << 16,
  ) {
    this.window = new Uint8Array(windowSize);
    this.pos = start;
    this.limit = end;
  }

  get position(): number {
    return this.pos;
  }

  /** True while the current message has bytes left. */
  more(): boolean {
    return this.pos < this.limit;
  }

  /** Enters a sub-message of `length` bytes; pair with `leave()`. */
  enter(length: number): void {
    const end = this.pos + length;
    if (end > this.limit) this.fail(`a message at byte ${this.pos} claims ${length} bytes, past its parent's end`);
    this.limits.push(this.limit);
    this.limit = end;
  }

  leave(): void {
    if (this.pos !== this.limit) this.fail(`a message ending at byte ${this.limit} was not read to its end`);
    this.limit = this.limits.pop()!;
  }

  /** Reads a field key; returns [fieldNumber, wireType]. */
  tag(): [number, WireType] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0 || wire === 6 || wire === 7) this.fail(`invalid field key ${key} at byte ${this.pos}`);
    return [field, wire as WireType];
  }

  /** Unsigned varint as a JS number (exact up to 2^53; larger values lose precision). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    this.fail(`malformed varint at byte ${this.pos}`);
  }

  /** Signed int64 / int32 varint (two's complement for negatives). */
  int64(): number {
    const start = this.pos;
    const bytes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      bytes.push(b);
      if ((b & 0x80) === 0) break;
      if (i === 9) this.fail(`malformed varint at byte ${start}`);
    }
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 7n) | BigInt(bytes[i]! & 0x7f);
    return Number(BigInt.asIntN(64, v));
  }

  /** A scanner over another span of the same file (for subgraphs recorded earlier). */
  fork(start: number, end: number): ProtobufScanner {
    return new ProtobufScanner(this.source, start, end);
  }

  fixed64Double(): number {
    const b = this.bytesNow(8);
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
  }

  fixed32Float(): number {
    const b = this.bytesNow(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  /** Length prefix of a length-delimited field, checked against the enclosing message. */
  length(): number {
    const n = this.varint();
    if (this.pos + n > this.limit) {
      if (this.pos + n > this.source.size) this.fail(`truncated: a field at byte ${this.pos} needs ${n} bytes past the end of the file`);
      this.fail(`a field at byte ${this.pos} claims ${n} bytes, past its message's end`);
    }
    return n;
  }

  /** Records a length-delimited payload's span and skips it without reading it. */
  span(): ByteSpan {
    const length = this.length();
    const offset = this.pos;
    this.pos += length;
    return { offset, length };
  }

  string(): string {
    const n = this.length();
    return Buffer.from(this.bytesNow(n)).toString('utf8');
  }

  /** Reads a small length-delimited payload into memory. */
  bytes(): Uint8Array {
    const n = this.length();
    return this.bytesNow(n).slice();
  }

  /** Moves to `position` inside the current message (after reading a payload through a fork). */
  seek(position: number): void {
    if (position < this.pos || position > this.limit) this.fail(`seek to byte ${position} outside the message`);
    this.pos = position;
  }

  skip(wire: WireType): void {
    switch (wire) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      case WireType.LengthDelimited:
        this.span();
        return;
      case WireType.StartGroup:
      case WireType.EndGroup:
        this.fail(`unsupported group field at byte ${this.pos}`);
    }
  }

  /** Calls `each` for a repeated scalar that may be packed (length-delimited) or not. */
  repeated(wire: WireType, each: () => void): void {
    if (wire !== WireType.LengthDelimited) {
      each();
      return;
    }
    const n = this.length();
    this.enter(n);
    while (this.more()) each();
    this.leave();
  }

  expect(wire: WireType, want: WireType, what: string): void {
    if (wire !== want) this.fail(`${what} has wire type ${wire}, expected ${want}`);
  }

  fail(problem: string): never {
    throw new CheckpointError(this.source.file, `not a valid ONNX protobuf: ${problem}`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.limit) this.fail(`truncated field at byte ${this.pos}`);
    this.pos += n;
  }

  private byte(): number {
    if (this.pos >= this.limit) {
      if (this.pos >= this.source.size) this.fail(`truncated: the file ends at byte ${this.source.size} inside a field`);
      this.fail(`a field at byte ${this.pos} runs past its message's end`);
    }
    if (this.pos < this.windowStart || this.pos >= this.windowStart + this.windowLength) this.refill(1);
    return this.window[this.pos++ - this.windowStart]!;
  }

  /** A view of the next n bytes (valid until the next read). */
  private bytesNow(n: number): Uint8Array {
    if (this.pos + n > this.limit) this.fail(`truncated field at byte ${this.pos}`);
    if (this.pos < this.windowStart || this.pos + n > this.windowStart + this.windowLength) this.refill(n);
    const at = this.pos - this.windowStart;
    this.pos += n;
    return this.window.subarray(at, at + n);
  }

  private refill(need: number): void {
    if (need > this.window.length) this.window = new Uint8Array(need);
    const want = Math.min(this.window.length, this.source.size - this.pos);
    const got = this.source.readInto(this.window.subarray(0, want), this.pos);
    this.windowStart = this.pos;
    this.windowLength = got;
    if (got < need) this.fail(`truncated: the file ends at byte ${this.source.size}`);
  }
}

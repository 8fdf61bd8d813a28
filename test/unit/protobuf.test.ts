import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FileByteSource } from '../../src/core/io/byteSource.ts';
import { ProtobufScanner, WireType } from '../../src/core/formats/protobufScanner.ts';
import { ProtobufWriter, encodeVarint } from '../../src/core/formats/protobufWriter.ts';
import { tempDir } from '../helpers.ts';

test('encodeVarint matches the protobuf spec examples', () => {
  assert.deepEqual(Array.from(encodeVarint(1)), [0x01]);
  assert.deepEqual(Array.from(encodeVarint(150)), [0x96, 0x01]);
  assert.deepEqual(Array.from(encodeVarint(300)), [0xac, 0x02]);
});

test('scanner reads back what the writer wrote, including negative int64 and skipped spans', () => {
  const { dir, cleanup } = tempDir();
  try {
    const w = new ProtobufWriter();
    w.int64(1, -1).int64(1, 2 ** 40).string(2, 'héllo').message(3, (m) => m.varint(1, 7).float(2, 1.5));
    w.bytes(4, new Uint8Array(1000).fill(9)).varint(5, 42);
    const file = path.join(dir, 'm.pb');
    w.writeToFile(file);
    assert.equal(fs.statSync(file).size, w.size());
    const src = new FileByteSource(file);
    const s = new ProtobufScanner(src, 0, src.size, 16);
    const seen: unknown[] = [];
    while (s.more()) {
      const [field, wire] = s.tag();
      if (field === 1) seen.push(s.int64());
      else if (field === 2) seen.push(s.string());
      else if (field === 3) {
        s.enter(s.length());
        while (s.more()) {
          const [f] = s.tag();
          seen.push(f === 1 ? s.varint() : s.fixed32Float());
        }
        s.leave();
      } else if (field === 4) {
        assert.equal(wire, WireType.LengthDelimited);
        seen.push(s.span());
      } else seen.push(s.varint());
    }
    // Payload offset = 11 (-1) + 7 (2^40) + 8 (string) + 9 (message) + 3 (key + length) = 38.
    // The 1000-byte payload was skipped: only the structure was read through the 16-byte window.
    assert.ok(src.bytesRead < 200, `read ${src.bytesRead} bytes`);
    src.close();
    assert.deepEqual(seen, [-1, 2 ** 40, 'héllo', 7, 1.5, { offset: 38, length: 1000 }, 42]);
  } finally {
    cleanup();
  }
});

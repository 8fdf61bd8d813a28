/**
 * The ONNX splice writer on its own: where initializer bytes go (inline, or a 64-byte aligned
 * external-data file for tensors over 1 KiB), that external-data sources come out self-contained,
 * that every untouched tensor reads back bit for bit, and that edits naming tensors or nodes the
 * graph does not have are refused by name with nothing written.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { scanOnnxModel, type TensorRecord } from '../../src/core/formats/onnx/onnxProto.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { FileByteSource } from '../../src/core/io/byteSource.ts';
import { fixture, tempDir } from '../helpers.ts';

const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

const tmp = tempDir();

function valuesOf(file: string): Record<string, number[]> {
  const ck = openCheckpoint(file);
  try {
    return Object.fromEntries(ck.weights.map((w) => [w.name, Array.from(w.read())]));
  } finally {
    ck.close();
  }
}

function payloads(file: string): Record<string, TensorRecord['payload']> {
  const source = new FileByteSource(file);
  try {
    return Object.fromEntries(scanOnnxModel(source).tensors.map((t) => [t.name, t.payload]));
  } finally {
    source.close();
  }
}

test("externalData 'always': tensors over 1 KiB go to <model>.data at 64-byte aligned offsets, the rest stay inline, and all read back", () => {
  const src = fixture('onnx', 'mlp.onnx');
  const before = valuesOf(src);
  const fc2 = Array.from({ length: 512 }, (_, i) => (i % 7) - 3);
  const out = path.join(tmp.dir, 'always', 'mlp.onnx');
  fs.mkdirSync(path.dirname(out));
  writeOnnxWithEdits(src, out, { externalData: 'always', replace: new Map([['fc2.weight', { dims: [16, 32], dataType: 1, raw: f32(fc2) }]]) });
  assert.deepEqual(fs.readdirSync(path.dirname(out)).sort(), ['mlp.onnx', 'mlp.onnx.data']);
  const kinds = Object.entries(payloads(out)).map(([name, p]) => [name, p.kind, p.kind === 'external' ? p.offset % 64 : null]);
  // fc1.weight 640·4 = 2560 B and fc2.weight 2048 B are over 1 KiB; fc3.weight 640 B and the biases are not.
  assert.deepEqual(kinds.sort(), [
    ['fc1.bias', 'raw', null],
    ['fc1.weight', 'external', 0],
    ['fc2.bias', 'raw', null],
    ['fc2.weight', 'external', 0],
    ['fc3.bias', 'raw', null],
    ['fc3.weight', 'raw', null],
  ]);
  const offsets = Object.values(payloads(out)).flatMap((p) => (p.kind === 'external' ? [[p.offset, p.length]] : []));
  assert.deepEqual(offsets, [[0, 2560], [2560, 2048]]);
  assert.equal(fs.statSync(`${out}.data`).size, 2560 + 2048);
  assert.deepEqual(valuesOf(out), { ...before, 'fc2.weight': fc2 });
});

test('a source with external data comes out self-contained: every tensor inline, values bit for bit', () => {
  const src = fixture('onnx', 'mlp_external.onnx');
  assert.ok(Object.values(payloads(src)).some((p) => p.kind === 'external'));
  const before = valuesOf(src);
  const out = path.join(tmp.dir, 'inline', 'mlp.onnx');
  fs.mkdirSync(path.dirname(out));
  writeOnnxWithEdits(src, out, { replace: new Map() });
  assert.deepEqual(fs.readdirSync(path.dirname(out)), ['mlp.onnx']);
  assert.deepEqual([...new Set(Object.values(payloads(out)).map((p) => p.kind))], ['raw']);
  assert.deepEqual(valuesOf(out), before);
});

test('edits that name an initializer or a node the main graph lacks are refused by name, and nothing is written', () => {
  const src = fixture('onnx', 'mlp.onnx');
  const dir = path.join(tmp.dir, 'refused');
  fs.mkdirSync(dir);
  const out = path.join(dir, 'out.onnx');
  const cases: Array<[Parameters<typeof writeOnnxWithEdits>[2], string]> = [
    [{ replace: new Map([['nope', { dims: [1], dataType: 1, raw: f32([1]) }]]) }, "no initializer named 'nope' in the main graph"],
    [{ replace: new Map(), remove: new Set(['gone']) }, "no initializer named 'gone' in the main graph"],
    [{ replace: new Map(), replaceNodes: new Map([['ghost', []]]) }, "no node named 'ghost' in the main graph"],
  ];
  for (const [edits, message] of cases) {
    assert.throws(() => writeOnnxWithEdits(src, out, edits), (e: Error) => {
      assert.equal(e.name, 'CheckpointError');
      assert.ok(e.message.endsWith(message), e.message);
      return true;
    });
    assert.deepEqual(fs.readdirSync(dir), []);
  }
});

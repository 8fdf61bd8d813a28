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
import { buildOnnxModel } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { writeOnnxWithEdits } from '../../src/core/formats/onnx/writeOnnx.ts';
import { ProtobufScanner } from '../../src/core/formats/protobufScanner.ts';
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

function structureOf(file: string) {
  const source = new FileByteSource(file);
  try {
    return scanOnnxModel(source);
  } finally {
    source.close();
  }
}

function payloads(file: string): Record<string, TensorRecord['payload']> {
  return Object.fromEntries(structureOf(file).tensors.map((t) => [t.name, t.payload]));
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

const opsOf = (file: string) => structureOf(file).ops.map((o) => [o.name, o.opType, o.inputs, o.outputs]);
const stream = (bytes: Uint8Array) => ({ length: bytes.length, produce: (emit: (c: Uint8Array) => void) => emit(bytes) });

/**
 * Node names and tensor names are separate namespaces: here the MatMul node is named 'w' like its
 * weight, and the Add node 'b' like its bias ('w' is 2 KiB, so it goes to external data). 'extra' is
 * an initializer no node is named after.
 */
const NAMES = path.join(tmp.dir, 'names.onnx');
const W = Array.from({ length: 16 * 32 }, (_, i) => Math.sin(i));
const B = Array.from({ length: 32 }, (_, i) => i / 8);
buildOnnxModel({
  producer: 'writeOnnx.test',
  opset: 13,
  graphName: 'names',
  inputs: [{ name: 'x', elemType: 1, dims: [1, 16] }],
  outputs: [{ name: 'y', elemType: 1, dims: [1, 32] }],
  nodes: [
    { name: 'w', opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
    { name: 'b', opType: 'Add', inputs: ['h', 'b'], outputs: ['y'] },
  ],
  initializers: [
    { name: 'w', dataType: 1, dims: [16, 32], raw: stream(f32(W)) },
    { name: 'b', dataType: 1, dims: [32], raw: stream(f32(B)) },
    { name: 'extra', dataType: 1, dims: [4], raw: stream(f32([1, 2, 3, 4])) },
  ],
}).writeToFile(NAMES);
const NAMES_OPS = [
  ['w', 'MatMul', ['x', 'w'], ['h']],
  ['b', 'Add', ['h', 'b'], ['y']],
];
const NAMES_VALUES = valuesOf(NAMES);

test('a node named like an initializer is left alone when the initializer is replaced, removed, made sparse or moved to external data', () => {
  const out = (tag: string) => path.join(tmp.dir, `names-${tag}.onnx`);
  const w2 = W.map((v) => -v);
  writeOnnxWithEdits(NAMES, out('replace'), { replace: new Map([['w', { dims: [16, 32], dataType: 1, raw: f32(w2) }]]) });
  assert.deepEqual(opsOf(out('replace')), NAMES_OPS);
  assert.deepEqual(valuesOf(out('replace')), { ...NAMES_VALUES, w: w2.map(Math.fround) });

  writeOnnxWithEdits(NAMES, out('remove'), { replace: new Map(), remove: new Set(['b']) });
  assert.deepEqual(opsOf(out('remove')), NAMES_OPS);
  assert.deepEqual(Object.keys(valuesOf(out('remove'))).sort(), ['extra', 'w']);

  const sparseW = { dims: [16, 32], dataType: 1, values: f32([5]), indices: BigInt64Array.from([3n]) };
  writeOnnxWithEdits(NAMES, out('sparse'), { replace: new Map(), sparse: new Map([['w', sparseW]]) });
  assert.deepEqual(opsOf(out('sparse')), NAMES_OPS);
  assert.deepEqual(valuesOf(out('sparse')).w, Array.from({ length: 16 * 32 }, (_, i) => (i === 3 ? 5 : 0)));

  writeOnnxWithEdits(NAMES, out('external'), { replace: new Map(), externalData: 'always' });
  assert.deepEqual(opsOf(out('external')), NAMES_OPS);
  assert.deepEqual(valuesOf(out('external')), NAMES_VALUES);
  assert.equal(payloads(out('external'))['w']!.kind, 'external');
});

test('node edits by name or position leave the initializers of the same names, and every initializer after the last node, as they were', () => {
  const out = (tag: string) => path.join(tmp.dir, `names-${tag}.onnx`);
  writeOnnxWithEdits(NAMES, out('replace-node'), { replace: new Map(), replaceNodes: new Map([['w', [{ name: 'w2', opType: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] }]]]) });
  assert.deepEqual(opsOf(out('replace-node')), [['w2', 'MatMul', ['x', 'w'], ['h']], NAMES_OPS[1]]);
  assert.deepEqual(valuesOf(out('replace-node')), NAMES_VALUES);

  writeOnnxWithEdits(NAMES, out('drop-last'), { replace: new Map(), dropNodes: new Set([1]) });
  assert.deepEqual(opsOf(out('drop-last')), [NAMES_OPS[0]]);
  assert.deepEqual(valuesOf(out('drop-last')), NAMES_VALUES);

  writeOnnxWithEdits(NAMES, out('edit-last'), { replace: new Map(), editNodes: new Map([[1, { inputs: new Map([[1, 'extra']]) }]]) });
  assert.deepEqual(opsOf(out('edit-last')), [NAMES_OPS[0], ['b', 'Add', ['h', 'extra'], ['y']]]);
  assert.deepEqual(valuesOf(out('edit-last')), NAMES_VALUES);

  const refused: Array<[string, Parameters<typeof writeOnnxWithEdits>[2], string]> = [
    [NAMES, { replace: new Map(), replaceNodes: new Map([['extra', []]]) }, "no node named 'extra' in the main graph"],
    // A Constant node's output and an initializer inside an If body are not main-graph initializers.
    [fixture('onnx', 'constants.onnx'), { replace: new Map([['w1', { dims: [1], dataType: 1, raw: f32([1]) }]]) }, "no initializer named 'w1' in the main graph"],
    [fixture('onnx', 'constants.onnx'), { replace: new Map([['w_else', { dims: [1], dataType: 1, raw: f32([1]) }]]) }, "no initializer named 'w_else' in the main graph"],
  ];
  for (const [src, edits, message] of refused) {
    assert.throws(() => writeOnnxWithEdits(src, out('refused'), edits), (e: Error) => e.message.endsWith(message), message);
    assert.equal(fs.existsSync(out('refused')), false);
  }
});

test("tensors of exactly 1 KiB stay inline, one float more goes external ('always'), whether added or copied from the source", () => {
  const dir = path.join(tmp.dir, 'kib');
  fs.mkdirSync(dir);
  const add = [
    { name: 't1024', dims: [256], dataType: 1, raw: f32(Array.from({ length: 256 }, (_, i) => i)) },
    { name: 't1028', dims: [257], dataType: 1, raw: f32(Array.from({ length: 257 }, (_, i) => -i)) },
  ];
  const kinds = (file: string) => Object.fromEntries(Object.entries(payloads(file)).filter(([n]) => n.startsWith('t10')).map(([n, p]) => [n, p.kind]));
  writeOnnxWithEdits(NAMES, path.join(dir, 'added.onnx'), { replace: new Map(), add, externalData: 'always' });
  assert.deepEqual(kinds(path.join(dir, 'added.onnx')), { t1024: 'raw', t1028: 'external' });
  writeOnnxWithEdits(NAMES, path.join(dir, 'inline.onnx'), { replace: new Map(), add });
  assert.deepEqual(kinds(path.join(dir, 'inline.onnx')), { t1024: 'raw', t1028: 'raw' });
  writeOnnxWithEdits(path.join(dir, 'inline.onnx'), path.join(dir, 'copied.onnx'), { replace: new Map(), externalData: 'always' });
  assert.deepEqual(kinds(path.join(dir, 'copied.onnx')), { t1024: 'raw', t1028: 'external' });
  assert.deepEqual(valuesOf(path.join(dir, 'copied.onnx')), valuesOf(path.join(dir, 'inline.onnx')));
});

test('past the inline limit the writer switches to external data by itself; a structure over the limit alone is refused, with nothing written', () => {
  const src = fixture('onnx', 'mlp.onnx');
  const dir = path.join(tmp.dir, 'limit');
  fs.mkdirSync(dir);
  const inlineLimit = fs.statSync(src).size - 1;
  writeOnnxWithEdits(src, path.join(dir, 'auto.onnx'), { replace: new Map(), inlineLimit });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['auto.onnx', 'auto.onnx.data']);
  assert.deepEqual(Object.entries(payloads(path.join(dir, 'auto.onnx'))).filter(([, p]) => p.kind === 'external').map(([n]) => n).sort(), ['fc1.weight', 'fc2.weight']);
  assert.deepEqual(valuesOf(path.join(dir, 'auto.onnx')), valuesOf(src));
  assert.ok(fs.statSync(path.join(dir, 'auto.onnx')).size <= inlineLimit);
  // A model of exactly the limit is still written inline.
  writeOnnxWithEdits(src, path.join(dir, 'exact.onnx'), { replace: new Map(), inlineLimit: fs.statSync(src).size });
  assert.equal(fs.existsSync(path.join(dir, 'exact.onnx.data')), false);
  assert.equal(fs.statSync(path.join(dir, 'exact.onnx')).size, fs.statSync(src).size);
  fs.rmSync(path.join(dir, 'exact.onnx'));
  assert.throws(() => writeOnnxWithEdits(src, path.join(dir, 'tiny.onnx'), { replace: new Map(), inlineLimit: 100 }), (e: Error) => e.message.endsWith("the model's structure alone would be over 100 bytes, protobuf's limit"));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['auto.onnx', 'auto.onnx.data']);
});

test('a path target: never the original model, an existing file only with force', () => {
  const copy = path.join(tmp.dir, 'own.onnx');
  fs.copyFileSync(NAMES, copy);
  assert.throws(() => writeOnnxWithEdits(copy, copy, { replace: new Map() }), (e: Error) => /refusing to write over the original model/.test(e.message));
  const target = path.join(tmp.dir, 'taken.onnx');
  fs.writeFileSync(target, 'keep');
  assert.throws(() => writeOnnxWithEdits(NAMES, target, { replace: new Map() }), (e: Error) => /already exists/.test(e.message));
  assert.equal(fs.readFileSync(target, 'utf8'), 'keep');
  writeOnnxWithEdits(NAMES, target, { replace: new Map() }, true);
  assert.deepEqual(valuesOf(target), NAMES_VALUES);
});

test('added graph outputs are declared float, or untyped when asked', () => {
  const typed = path.join(tmp.dir, 'out-typed.onnx');
  const untyped = path.join(tmp.dir, 'out-untyped.onnx');
  writeOnnxWithEdits(NAMES, typed, { replace: new Map(), addOutputs: ['h'] });
  writeOnnxWithEdits(NAMES, untyped, { replace: new Map(), addOutputs: ['h'], untypedOutputs: true });
  assert.deepEqual(structureOf(typed).outputs.map((o) => [o.name, o.elemType]), [['y', 1], ['h', 1]]);
  assert.deepEqual(structureOf(untyped).outputs.map((o) => [o.name, o.elemType]), [['y', 1], ['h', 0]]);
});

/** The names of a main-graph node's attributes, in file order (duplicates kept). */
function attributeNames(file: string, node: number): string[] {
  const source = new FileByteSource(file);
  try {
    const child = scanOnnxModel(source).layout!.children.filter((c) => c.field === 1)[node]!;
    const s = new ProtobufScanner(source, child.start, child.end);
    s.tag();
    s.enter(s.length());
    const names: string[] = [];
    while (s.more()) {
      const [field, wire] = s.tag();
      if (field !== 5) {
        s.skip(wire);
        continue;
      }
      const length = s.length();
      const a = s.fork(s.position, s.position + length);
      let name = '';
      while (a.more()) {
        const [f, w] = a.tag();
        if (f === 1) name = a.string();
        else a.skip(w);
      }
      names.push(name);
      s.seek(a.position);
    }
    return names;
  } finally {
    source.close();
  }
}

test('integer attribute edits: scalars and lists replaced in place, new ones appended, every other attribute copied once', () => {
  const src = fixture('onnx', 'cnn_bn.onnx');
  const out = path.join(tmp.dir, 'attrs.onnx');
  const conv = structureOf(src).ops.findIndex((o) => o.opType === 'Conv');
  const before = structureOf(src).ops[conv]!;
  writeOnnxWithEdits(src, out, { replace: new Map(), editNodes: new Map([[conv, { ints: { pads: [0, 1, 0, 1], group: 1, prunescope_test: 7 } }]]) });
  const after = structureOf(out).ops[conv]!;
  assert.deepEqual(after.attributes, { ...before.attributes, pads: [0, 1, 0, 1], group: 1, prunescope_test: 7 });
  const names = attributeNames(src, conv);
  assert.deepEqual(attributeNames(out, conv), [...names, ...['group', 'prunescope_test'].filter((n) => !names.includes(n))]);
});

test('the writer closes every file it opens (Linux: /proc/self/fd)', (t) => {
  if (!fs.existsSync('/proc/self/fd')) return t.skip('no /proc/self/fd on this system');
  const open = () => fs.readdirSync('/proc/self/fd').length;
  const before = open();
  for (let i = 0; i < 3; i++) writeOnnxWithEdits(fixture('onnx', 'mlp_external.onnx'), path.join(tmp.dir, `fd-${i}.onnx`), { replace: new Map(), externalData: 'always' });
  assert.equal(open(), before);
});

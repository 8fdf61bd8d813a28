/**
 * The structure summary a report carries (pruning/structured/describeStructure.ts), on two
 * committed exports, against values recomputed here from the stored weights (spec §4): a group's
 * class score is the mean over its scored members (weight matrices, normalisation scales) of the
 * squared norm of the slices the class owns, its energy their sum; the parameters a class takes
 * are every constant slice it owns; every stored tensor is sliced in place (one group reads it).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Checkpoint } from '../../src/core/checkpoint.ts';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import { analyseStructure, nodeEdits } from '../../src/core/pruning/structured/pruneNodes.ts';
import { describeStructure } from '../../src/core/pruning/structured/describeStructure.ts';
import { pruneOnnxNodes } from '../../src/core/pruning/onnxNodes.ts';
import type { PruneLayerReport } from '../../src/core/pruning/types.ts';
import type { StructureGroup } from '../../src/core/report/structure.ts';
import { fixture, tempDir, writeTestGraph } from '../helpers.ts';

/** Squared norm of index `c` of `axis` of a stored tensor, by explicit index arithmetic. */
function sliceEnergy(ck: Checkpoint, name: string, axis: number, c: number): number {
  const w = ck.weights.find((x) => x.name === name)!;
  const v = w.read();
  const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const d = w.shape[axis]!;
  let s = 0;
  for (let i = 0; i < v.length; i++) if (Math.floor(i / inner) % d === c) s += v[i]! * v[i]!;
  return s;
}

function totalEnergy(ck: Checkpoint, names: string[]): number {
  let s = 0;
  for (const n of names) for (const x of ck.weights.find((w) => w.name === n)!.read()) s += x * x;
  return s;
}

function close(actual: readonly number[], expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) <= 1e-12 * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${x} vs ${expected[i]}`));
}

/** Checks a group's scores from its scored members: [tensor, axis] pairs. */
function checkScores(ck: Checkpoint, g: StructureGroup, scored: Array<[string, number]>, paramsPerClass: number): void {
  const energy = Array.from({ length: g.classes }, (_, c) => scored.reduce((a, [n, axis]) => a + sliceEnergy(ck, n, axis, c), 0));
  const raw = energy.map((e) => e / scored.length);
  const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
  close(g.scores!.energy, energy, 'energy');
  close(g.scores!.raw, raw, 'raw');
  close(g.scores!.normalized, raw.map((r) => r / mean), 'normalized');
  close([g.scores!.totalEnergy], [totalEnergy(ck, scored.map(([n]) => n))], 'totalEnergy');
  assert.deepEqual(g.paramsPerClass, new Array(g.classes).fill(paramsPerClass));
}

const slice = (name: string, dims: number[]) => ({ name, dims, bytes: 4, counted: true, write: 'slice', uses: 1 });

test('an MLP: two groups of hidden units, each cut from its layer, its bias and the next layer; the output layer refused', () => {
  const ck = openCheckpoint(fixture('onnx', 'mlp.onnx'));
  const t0 = performance.now();
  const a = analyseStructure(ck);
  const wall = performance.now() - t0;
  const s = describeStructure(ck, a);
  // The analysis times itself: its milliseconds are within the wall time around the call.
  assert.ok(a.ms >= 0 && a.ms <= wall, `${a.ms} ms of ${wall}`);
  assert.equal(s.ms, Math.round(a.ms));
  assert.deepEqual(s.inputsChosen, []);
  assert.deepEqual(s.tensors, [slice('fc1.weight', [32, 20]), slice('fc1.bias', [32]), slice('fc2.weight', [16, 32]), slice('fc2.bias', [16]), slice('fc3.weight', [10, 16])]);
  assert.deepEqual(s.refusals, { 'fc3.weight': "group 2: it reaches the graph output 'output'" });
  assert.equal(s.graphBytesSaved, 0);
  const [g0, g1, g2] = s.groups as [StructureGroup, StructureGroup, StructureGroup];
  assert.deepEqual(s.groups.map((g) => [g.id, g.classes, g.layers, g.approximate, g.refused ?? null, g.spectralRefused ?? null]), [
    [0, 32, [{ name: 'fc1.weight', units: 32, perClass: 1 }], [], null, null],
    [1, 16, [{ name: 'fc2.weight', units: 16, perClass: 1 }], [], null, null],
    [2, 0, [{ name: 'fc3.weight', units: 10, perClass: [] }], [], "it reaches the graph output 'output'", null],
  ]);
  // Gemm nodes 0 and 2 read the biases as input 2.
  assert.deepEqual(g0.cuts, [{ tensor: 0, axis: 0, perClass: 1 }, { tensor: 1, axis: 0, use: '0:2', perClass: 1 }, { tensor: 2, axis: 1, perClass: 1 }]);
  assert.deepEqual(g1.cuts, [{ tensor: 2, axis: 0, perClass: 1 }, { tensor: 3, axis: 0, use: '2:2', perClass: 1 }, { tensor: 4, axis: 1, perClass: 1 }]);
  checkScores(ck, g0, [['fc1.weight', 0], ['fc2.weight', 1]], 20 + 1 + 16);
  checkScores(ck, g1, [['fc2.weight', 0], ['fc3.weight', 1]], 32 + 1 + 10);
  assert.equal(g2.scores, undefined);
  assert.equal(g2.cuts, undefined);
  ck.close();
});

test("conv → BN → conv: the BatchNorm's scale is scored with the filters; its four vectors go with each filter", () => {
  const ck = openCheckpoint(fixture('onnx', 'cnn_plain_bn.onnx'));
  const s = describeStructure(ck, analyseStructure(ck));
  assert.deepEqual(s.tensors.map((t) => t.name), ['conv1.weight', 'conv1.bias', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'conv2.weight', 'conv2.bias', 'fc.weight']);
  assert.ok(s.tensors.every((t) => t.write === 'slice' && t.uses === 1 && t.counted && t.bytes === 4));
  const [g0, g1] = s.groups as [StructureGroup, StructureGroup];
  assert.deepEqual(g0.cuts!.map((c) => [s.tensors[c.tensor]!.name, c.axis, c.use ?? null]), [
    ['conv1.weight', 0, null],
    ['conv1.bias', 0, '0:2'],
    ['bn1.weight', 0, '2:1'],
    ['bn1.bias', 0, '2:2'],
    ['bn1.running_mean', 0, '2:3'],
    ['bn1.running_var', 0, '2:4'],
    ['conv2.weight', 1, null],
  ]);
  // A filter: 3·3·3 weights, a bias, four BN values, and 12 · 3·3 weights of conv2.
  checkScores(ck, g0, [['conv1.weight', 0], ['bn1.weight', 0], ['conv2.weight', 1]], 27 + 1 + 4 + 12 * 9);
  // conv2's filters feed the classifier through a global pool and Flatten: one column each.
  checkScores(ck, g1, [['conv2.weight', 0], ['fc.weight', 1]], 8 * 9 + 1 + 5);
  ck.close();
});

test('shared, deduplicated and computed constants: copied per use, counted through Identity, and the original kept while an uncut use reads it', () => {
  // x → Gemm(W1, c) → Relu → Add(bId) → Add(bId) → Gemm(Transpose(W2s)) → y, and z = x2 + c.
  // c: the bias of gemm1 and also read by addz, which no group cuts: a copy for gemm1, the original stays.
  // bId = Identity(bsrc), read by both Adds: two per-use copies of bsrc (torch's deduplicated weights).
  // W2 = Transpose(W2s): a computed float constant, cut in its copy and counted as parameters.
  const tmp = tempDir();
  const file = writeTestGraph(path.join(tmp.dir, 'shared.onnx'), {
    inputs: [{ name: 'x', dims: [1, 4] }, { name: 'x2', dims: [1, 6] }],
    outputs: [{ name: 'y', dims: [1, 3] }, { name: 'z', dims: [1, 6] }],
    nodes: [
      { name: 'gemm1', opType: 'Gemm', inputs: ['x', 'W1', 'c'], outputs: ['h'], ints: { transB: 1 } },
      { name: 'relu', opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 'id', opType: 'Identity', inputs: ['bsrc'], outputs: ['bId'] },
      { name: 'add1', opType: 'Add', inputs: ['r', 'bId'], outputs: ['h2'] },
      { name: 'add2', opType: 'Add', inputs: ['h2', 'bId'], outputs: ['h3'] },
      { name: 'tr', opType: 'Transpose', inputs: ['W2s'], outputs: ['W2'], intLists: { perm: [1, 0] } },
      { name: 'gemm2', opType: 'Gemm', inputs: ['h3', 'W2'], outputs: ['y'] },
      { name: 'addz', opType: 'Add', inputs: ['x2', 'c'], outputs: ['z'] },
    ],
    weights: { W1: [6, 4], c: [6], bsrc: [6], W2s: [3, 6] },
  });
  const ck = openCheckpoint(file);
  try {
    const s = describeStructure(ck, analyseStructure(ck));
    assert.deepEqual(s.tensors, [
      slice('W1', [6, 4]),
      { ...slice('c', [6]), write: 'copy', uses: 2 },
      { ...slice('bsrc', [6]), write: 'copy', uses: 2 },
      { ...slice('W2', [6, 3]), write: 'copy', computed: true },
    ]);
    assert.equal(s.groups.length, 1);
    const g = s.groups[0]!;
    assert.deepEqual(g.layers, [{ name: 'W1', units: 6, perClass: 1 }]);
    // gemm1 is node 0 (c is its input 2); add1 and add2 are nodes 3 and 4.
    assert.deepEqual(g.cuts, [
      { tensor: 0, axis: 0, perClass: 1 },
      { tensor: 1, axis: 0, use: '0:2', perClass: 1 },
      { tensor: 2, axis: 0, use: '3:1', reads: 'bId', perClass: 1 },
      { tensor: 2, axis: 0, use: '4:1', reads: 'bId', perClass: 1 },
      { tensor: 3, axis: 0, perClass: 1 },
    ]);
    // A unit: 4 weights of W1, c's copy, one of each bsrc copy, 3 of W2.
    assert.deepEqual(g.paramsPerClass, [10, 10, 10, 10, 10, 10]);
    // Scored: W1's rows and the consumer's columns (W2's rows are W2s's columns).
    checkScores(ck, g, [['W1', 0], ['W2s', 1]], 10);
    assert.equal(g.spectralRefused, "its consumer Gemm 'gemm2' reads a computed or quantized weight");
    assert.deepEqual(s.refusals, { W2s: "it is read by Transpose node 'tr' (input 0), not as a Conv/Gemm/MatMul weight whose output units could go" });
  } finally {
    ck.close();
    tmp.cleanup();
  }
});

test('each tensor carries its stored element size, whether it is a parameter, and a wrapper exactly when a Constant node holds it', () => {
  const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8 };
  for (const name of ['qdq_cnn_op13.onnx', 'resnet_constants_op13.onnx']) {
    const ck = openCheckpoint(fixture('onnx', 'zoo', name));
    try {
      const s = describeStructure(ck, analyseStructure(ck));
      const weights = new Set(ck.weights.map((w) => w.name));
      const kinds = new Set<string>();
      for (const t of s.tensors) {
        const stored = ck.tensorValue!(t.name);
        if (!stored) {
          assert.equal(t.computed, true, `${name}: ${t.name}`);
          continue;
        }
        kinds.add(`${stored.dataType}/${stored.origin}`);
        assert.equal(t.bytes, BYTES[stored.dataType], `${name}: ${t.name} (type ${stored.dataType})`);
        assert.equal(t.counted, weights.has(t.name), `${name}: ${t.name}`);
        assert.equal(t.computed, undefined, `${name}: ${t.name}`);
        assert.equal(t.wrapper !== undefined && t.wrapper > 0, stored.origin === 'constant', `${name}: ${t.name}`);
      }
      // The QDQ export holds int8 weights, float scales and int32 biases in Constant nodes; the other only floats.
      assert.deepEqual([...kinds].sort(), name.startsWith('qdq') ? ['1/constant', '3/constant', '6/constant'] : ['1/constant']);
    } finally {
      ck.close();
    }
  }
});

test('graph bytes saved: the shape arithmetic a constant Reshape target replaces, byte for byte as protobuf encodes it', () => {
  // x [B, 4] → MatMul(W1) → Relu → Reshape to [B, 2, 3] → Reshape to [B, 6] → MatMul(W2); both
  // targets are computed (Shape → Gather(i0) → Concat with c23 / c6), so a cut (one head of 3
  // units) makes them constants `rs1__pruned_shape` [3] and `rs2__pruned_shape` [2].
  const tmp = tempDir();
  const file = writeTestGraph(path.join(tmp.dir, 'heads.onnx'), {
    inputs: [{ name: 'x', dims: ['B', 4] }],
    outputs: [{ name: 'y', dims: ['B', 3] }],
    nodes: [
      { name: 'm1', opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
      { name: 'relu', opType: 'Relu', inputs: ['h'], outputs: ['r'] },
      { name: 's1', opType: 'Shape', inputs: ['r'], outputs: ['sr'] },
      { name: 'g1', opType: 'Gather', inputs: ['sr', 'i0'], outputs: ['b1'] },
      { name: 'c1', opType: 'Concat', inputs: ['b1', 'c23'], outputs: ['t1'], ints: { axis: 0 } },
      { name: 'rs1', opType: 'Reshape', inputs: ['r', 't1'], outputs: ['r3'] },
      { name: 's2', opType: 'Shape', inputs: ['r3'], outputs: ['sr3'] },
      { name: 'g2', opType: 'Gather', inputs: ['sr3', 'i0'], outputs: ['b2'] },
      { name: 'c2', opType: 'Concat', inputs: ['b2', 'c6'], outputs: ['t2'], ints: { axis: 0 } },
      { name: 'rs2', opType: 'Reshape', inputs: ['r3', 't2'], outputs: ['r6'] },
      { name: 'm2', opType: 'MatMul', inputs: ['r6', 'W2'], outputs: ['y'] },
    ],
    weights: { W1: [4, 6], W2: [6, 3] },
    ints: { i0: [0], c23: [2, 3], c6: [6] },
  });
  const ck = openCheckpoint(file);
  try {
    const a = analyseStructure(ck);
    assert.deepEqual(a.planned.map((p) => [p.id, p.classes]), [[0, 2]]);
    // A string field is tag + length + bytes; a NodeProto in the graph adds tag + length (2).
    const str = (s: string) => 2 + s.length;
    const axis = 2 + (str('axis') + 2 + 3); // attribute: name, i = 0, type INT (field 20: a 2-byte tag)
    const nodes = [
      str('r') + str('sr') + str('s1') + str('Shape'),
      str('sr') + str('i0') + str('b1') + str('g1') + str('Gather'),
      str('b1') + str('c23') + str('t1') + str('c1') + str('Concat') + axis,
      str('r3') + str('sr3') + str('s2') + str('Shape'),
      str('sr3') + str('i0') + str('b2') + str('g2') + str('Gather'),
      str('b2') + str('c6') + str('t2') + str('c2') + str('Concat') + axis,
    ].reduce((s, n) => s + n + 2, 0);
    // A 1-D int64 initializer: dims (2), data_type (2), name, raw_data (2 + 8 per value), and its own tag + length (2).
    const int64 = (name: string, n: number) => 2 + 2 + str(name) + 2 + 8 * n + 2;
    const dropped = int64('i0', 1) + int64('c23', 2) + int64('c6', 1);
    const added = int64('rs1__pruned_shape', 3) + int64('rs2__pruned_shape', 2);
    assert.equal(a.graphBytesSaved, nodes + dropped - added);
    assert.equal(a.graphBytesSaved, 149);
    // Two heads are two classes: a group to cut, not one tied together.
    const rows: PruneLayerReport[] = [];
    const r = pruneOnnxNodes(ck, ck.weights, { method: 'node', ratio: 0.5 }, rows);
    assert.deepEqual(r.groups.map((g) => [g.id, g.units, g.removed, g.refused ?? null]), [[0, 2, 1, null], [1, 0, 0, "it reaches the graph output 'y'"]]);
    const cut = nodeEdits(a, [{ group: a.planned[0]!.group, remove: [0] }]).edits;
    assert.deepEqual([...cut.add.keys()].sort(), ['rs1__pruned_shape', 'rs2__pruned_shape']);
    assert.deepEqual([...cut.dropStored].sort(), ['c23', 'c6', 'i0']);
  } finally {
    ck.close();
    tmp.cleanup();
  }
});

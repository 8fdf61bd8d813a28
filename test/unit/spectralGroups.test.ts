/**
 * Which layers spectral pruning can use (pruning/structured/spectralGroups.ts), on committed
 * exports whose architecture says the answer (make_onnx_fixtures.py, make_coverage_fixtures.py,
 * make_structured_zoo.py): a chain's hidden layers are targets, read at the activation after their
 * nonlinearity; the output layer, a flattened spatial map, conv groups / depthwise couplings and
 * residual streams are refused, each with its exact reason. No onnxruntime: the dependency analysis
 * only.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { openCheckpoint } from '../../src/core/formats/openCheckpoint.ts';
import type { NodeSpec } from '../../src/core/formats/onnx/onnxBuilder.ts';
import { analyseStructure, layerRefusal } from '../../src/core/pruning/structured/pruneNodes.ts';
import { spectralGroup, spectralTargets } from '../../src/core/pruning/structured/spectralGroups.ts';
import { fixture, tempDir, writeTestGraph } from '../helpers.ts';

const tmp = tempDir();
after(tmp.cleanup);

/** A graph written here: float input x and output y, and the given weights. */
const build = (name: string, x: number[], y: number[], nodes: NodeSpec[], weights: Record<string, number[]>) =>
  writeTestGraph(path.join(tmp.dir, `${name}.onnx`), { inputs: [{ name: 'x', dims: x }], outputs: [{ name: 'y', dims: y }], nodes, weights });

type Expected = Record<string, { tensor: string; units: number } | string>;

function check(file: string, expected: Expected): void {
  const ck = openCheckpoint(file);
  try {
    const a = analyseStructure(ck);
    const layers = [...new Set(a.dg.layers.map((l) => l.stored))];
    assert.deepEqual(layers, Object.keys(expected), 'the weight layers, in graph order');
    const { targets, refused } = spectralTargets(a, layers);
    const got: Expected = Object.fromEntries(layers.map((l) => [l, targets.get(l) ?? refused.get(l) ?? 'neither']));
    assert.deepEqual(got, expected);
  } finally {
    ck.close();
  }
}

const OUTPUT = (group: number, output: string) => `group ${group}: it reaches the graph output '${output}'`;
const RESIDUAL = (group: number) => `group ${group}: its consumers read 2 different activations (a residual stream); spectral pruning needs one`;

test('an MLP: both hidden layers, at their ReLU outputs; the last layer feeds the output', () => {
  check(fixture('onnx', 'mlp.onnx'), {
    'fc1.weight': { tensor: '/Relu_output_0', units: 32 },
    'fc2.weight': { tensor: '/Relu_1_output_0', units: 16 },
    'fc3.weight': OUTPUT(2, 'output'),
  });
});

test('Conv → MaxPool → Flatten → Gemm: the conv is refused (its Gemm reads a flattened map), the hidden Gemm is a target', () => {
  check(fixture('onnx', 'conv_pool_flatten.onnx'), {
    'conv.weight': "group 0: its consumer Gemm 'fc1' does not read unit k at index k (a flattened spatial map)",
    'fc1.weight': { tensor: 'hr', units: 32 },
    'fc2.weight': OUTPUT(2, 'y'),
  });
});

test('a depthwise and a grouped conv couple conv1, dw and pw into one group of multi-channel units', () => {
  const grouped = 'group 0: its units are not single channels (heads or conv groups)';
  check(fixture('onnx', 'cnn_bn.onnx'), { 'conv1.weight': grouped, 'dw.weight': grouped, 'pw.weight': grouped, 'fc.weight': OUTPUT(1, 'output') });
});

test('conv → BN and conv → global pool → Flatten: read after the BatchNorm, and after the Flatten (unit k at index k)', () => {
  check(fixture('onnx', 'cnn_plain_bn.onnx'), {
    'conv1.weight': { tensor: '/bn1/BatchNormalization_output_0', units: 8 },
    'conv2.weight': { tensor: '/Flatten_output_0', units: 12 },
    'fc.weight': OUTPUT(2, 'output'),
  });
});

test("a ResNet: the blocks' inner convs are targets; the stem and identity-skip streams are refused, projected blocks read once", () => {
  check(fixture('onnx', 'zoo', 'resnet_op13.onnx'), {
    'onnx::Conv_126': RESIDUAL(0), // the stem, added to b1's output
    'onnx::Conv_129': { tensor: '/b1/relu/Relu_output_0', units: 8 },
    'onnx::Conv_132': RESIDUAL(0),
    'onnx::Conv_135': { tensor: '/b2/relu/Relu_output_0', units: 16 },
    // b2's second conv and its 1×1 projection are added, and only b3 reads the sum's ReLU
    'onnx::Conv_138': { tensor: '/b2/relu_1/Relu_output_0', units: 16 },
    'onnx::Conv_141': { tensor: '/b2/relu_1/Relu_output_0', units: 16 },
    'onnx::Conv_144': { tensor: '/b3/relu/Relu_output_0', units: 8 },
    'onnx::Conv_147': { tensor: '/b3/relu_1/Relu_output_0', units: 8 },
    'onnx::Conv_150': RESIDUAL(6),
    'onnx::Conv_153': RESIDUAL(6),
    'onnx::Conv_156': { tensor: '/b4/relu/Relu_output_0', units: 8 },
    'onnx::Conv_159': { tensor: '/b4/relu_1/Relu_output_0', units: 8 },
    'onnx::Conv_162': RESIDUAL(6),
    'fc.weight': OUTPUT(9, 'output'),
  });
});

test('a QDQ export: every consumer reads a dequantized (computed) weight', () => {
  const ck = openCheckpoint(fixture('onnx', 'zoo', 'qdq_cnn_op13.onnx'));
  try {
    const a = analyseStructure(ck);
    const layers = [...new Set(a.dg.layers.map((l) => l.stored))];
    const { targets, refused } = spectralTargets(a, layers);
    assert.equal(targets.size, 0);
    const reasons = [...refused.values()].map((r) => r.replace(/^group \d+: /, '').replace(/'[^']*'/, "'…'"));
    assert.deepEqual(reasons.filter((r) => !r.startsWith('it reaches')).sort(), [
      ...Array(8).fill("its consumer Conv '…' reads a computed or quantized weight"),
      "its consumer Gemm '…' reads a computed or quantized weight",
    ].sort());
    assert.equal(reasons.filter((r) => r.startsWith('it reaches the graph output')).length, 1);
  } finally {
    ck.close();
  }
});

test('why a layer keeps its outputs: a subgraph reads them, it sits in an If/Loop body, or a node other than a weight op reads it', () => {
  const refusals = (file: string) => {
    const ck = openCheckpoint(file);
    const a = analyseStructure(ck);
    const out = Object.fromEntries(ck.weights.map((w) => [w.name, layerRefusal(a, w.name) ?? 'cut']));
    ck.close();
    return out;
  };
  // constants.onnx: x → MatMul(w1) → h, and h is read inside both If branches (by MatMuls with w_else and w_then):
  // cutting h's columns would break them, so w1's group is refused.
  assert.deepEqual(refusals(fixture('onnx', 'constants.onnx')), {
    w1: "group 0: 'h' is read inside a subgraph, whose nodes the dependency analysis does not follow (If node 'branch')",
    w_else: "it is read inside the else_branch body of If node 'branch' (by MatMul node 'else_matmul'); weights in If/Loop bodies are not pruned",
    w_then: "it is read inside the then_branch body of If node 'branch' (by MatMul node 'then_matmul'); weights in If/Loop bodies are not pruned",
    w_loop: "it is read inside the body body of Loop node 'loop' (by MatMul node 'loop_matmul'); weights in If/Loop bodies are not pruned",
    w_loop_init: "it is read inside the body body of Loop node 'loop' (by MatMul node 'loop_matmul2'); weights in If/Loop bodies are not pruned",
  });
  const lstm = refusals(fixture('onnx', 'lstm.onnx'));
  assert.equal(lstm['emb.weight'], "group 0: LSTM is not covered by the dependency rules (LSTM node '/lstm/LSTM')");
  assert.equal(lstm['onnx::LSTM_119'], "it is read by LSTM node '/lstm/LSTM' (input 1), not as a Conv/Gemm/MatMul weight whose output units could go");
  assert.equal(lstm['head.bias'], "it is read by Gemm node '/head/Gemm' (input 2), not as a Conv/Gemm/MatMul weight whose output units could go");
  assert.equal(lstm['head.weight'], "group 1: it reaches the graph output 'output'");
});

test('MatMul consumers read rows, a Gemm without transB reads rows too; a depthwise conv is no consumer but shares its channels', () => {
  // x·W1 + b1 → Relu → ·W2 → Relu → Gemm(W3, transB 0) → y.
  const mlp = build('matmul', [1, 4], [1, 3], [
    { name: 'm1', opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['h1'] },
    { name: 'a1', opType: 'Add', inputs: ['h1', 'b1'], outputs: ['h1b'] },
    { name: 'r1', opType: 'Relu', inputs: ['h1b'], outputs: ['r1'] },
    { name: 'm2', opType: 'MatMul', inputs: ['r1', 'W2'], outputs: ['h2'] },
    { name: 'r2', opType: 'Relu', inputs: ['h2'], outputs: ['r2'] },
    { name: 'g3', opType: 'Gemm', inputs: ['r2', 'W3'], outputs: ['y'] },
  ], { W1: [4, 6], b1: [6], W2: [6, 5], W3: [5, 3] });
  check(mlp, { W1: { tensor: 'r1', units: 6 }, W2: { tensor: 'r2', units: 5 }, W3: "group 2: it reaches the graph output 'y'" });
  // conv → Relu → depthwise (group 4) → Relu → 1×1 conv → global pool → Flatten → Gemm: the depthwise
  // conv keeps channel k at k, so conv1's and its units are read by the pointwise conv, after its Relu.
  const dw = build('depthwise', [1, 2, 6, 6], [1, 2], [
    { name: 'c1', opType: 'Conv', inputs: ['x', 'C1'], outputs: ['h1'], intLists: { pads: [1, 1, 1, 1] } },
    { name: 'r1', opType: 'Relu', inputs: ['h1'], outputs: ['r1'] },
    { name: 'dw', opType: 'Conv', inputs: ['r1', 'DW'], outputs: ['h2'], ints: { group: 4 }, intLists: { pads: [1, 1, 1, 1] } },
    { name: 'r2', opType: 'Relu', inputs: ['h2'], outputs: ['r2'] },
    { name: 'pw', opType: 'Conv', inputs: ['r2', 'PW'], outputs: ['h3'] },
    { name: 'gp', opType: 'GlobalAveragePool', inputs: ['h3'], outputs: ['p'] },
    { name: 'fl', opType: 'Flatten', inputs: ['p'], outputs: ['f'] },
    { name: 'fc', opType: 'Gemm', inputs: ['f', 'FC'], outputs: ['y'], ints: { transB: 1 } },
  ], { C1: [4, 2, 3, 3], DW: [4, 1, 3, 3], PW: [3, 4, 1, 1], FC: [2, 3] });
  check(dw, { C1: { tensor: 'r2', units: 4 }, DW: { tensor: 'r2', units: 4 }, PW: { tensor: 'f', units: 3 }, FC: "group 2: it reaches the graph output 'y'" });
});

test("a conv read channels-last through a Transpose: measured at the Transpose's output, on its last axis", () => {
  const file = build('nhwc', [1, 2, 4, 4], [1, 4, 4, 3], [
    { name: 'c1', opType: 'Conv', inputs: ['x', 'C1'], outputs: ['h1'] },
    { name: 'r1', opType: 'Relu', inputs: ['h1'], outputs: ['r1'] },
    { name: 't', opType: 'Transpose', inputs: ['r1'], outputs: ['t1'], intLists: { perm: [0, 2, 3, 1] } },
    { name: 'm', opType: 'MatMul', inputs: ['t1', 'W'], outputs: ['y'] },
  ], { C1: [6, 2, 1, 1], W: [6, 3] });
  const ck = openCheckpoint(file);
  try {
    const a = analyseStructure(ck);
    const sg = spectralGroup(a, a.planned[0]!);
    assert.ok(typeof sg !== 'string', String(sg));
    assert.deepEqual({ layer: sg.layer, tensor: sg.tensor, axis: sg.axis, units: sg.units, consumers: sg.consumers }, { layer: 'C1', tensor: 't1', axis: 3, units: 6, consumers: [{ weight: 'W', axis: 0 }] });
  } finally {
    ck.close();
  }
});

test('a conv read only by a ConvTranspose has no consumer spectral pruning can fold into; a name no node reads is refused by the dependency analysis', () => {
  const file = build('transposed', [1, 2, 4, 4], [1, 3, 8, 8], [
    { name: 'c1', opType: 'Conv', inputs: ['x', 'C1'], outputs: ['h1'] },
    { name: 'r1', opType: 'Relu', inputs: ['h1'], outputs: ['r1'] },
    { name: 'ct', opType: 'ConvTranspose', inputs: ['r1', 'CT'], outputs: ['y'], intLists: { strides: [2, 2], kernel_shape: [2, 2] } },
  ], { C1: [6, 2, 1, 1], CT: [6, 3, 2, 2] });
  const ck = openCheckpoint(file);
  try {
    const { targets, refused } = spectralTargets(analyseStructure(ck), ['C1', 'CT', 'nothing']);
    assert.equal(targets.size, 0);
    assert.deepEqual(Object.fromEntries(refused), {
      C1: 'group 0: no weight reads its units',
      CT: "group 1: it reaches the graph output 'y'",
      nothing: 'the dependency analysis found no node reading it as a weight whose output units could go',
    });
  } finally {
    ck.close();
  }
});

/**
 * The float64 matrix products behind every spectrum, run by onnxruntime-node's CPU GEMM (MLAS)
 * instead of TypeScript loops: the Gram matrix, and stage 1 of the two-stage eigensolver
 * (linalg/bandReduction.ts). Each graph is a few MatMul/Gemm nodes built in memory; the sessions
 * are created once per thread and reused. If onnxruntime cannot be loaded or refuses a graph,
 * `ortLinalg()` resolves to undefined and the callers keep their TypeScript kernels.
 */
import * as os from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { buildOnnxModel, type NodeSpec } from '../formats/onnx/onnxBuilder.ts';
import type { DenseKernels } from '../linalg/spectrum.ts';

const DOUBLE = 11;

type Io = { name: string; dims: string[] };

function graph(inputs: Io[], outputs: Io[], nodes: NodeSpec[], initializers: Array<{ name: string; values: number[] }> = []): Uint8Array {
  return buildOnnxModel({
    producer: 'prunescope-linalg',
    opset: 13,
    graphName: 'linalg',
    inputs: inputs.map((i) => ({ name: i.name, elemType: DOUBLE, dims: i.dims })),
    outputs: outputs.map((o) => ({ name: o.name, elemType: DOUBLE, dims: o.dims })),
    nodes,
    initializers: initializers.map(({ name, values }) => {
      const bytes = new Uint8Array(Float64Array.from(values).buffer);
      return { name, dataType: DOUBLE, dims: [], raw: { length: bytes.length, produce: (emit: (chunk: Uint8Array) => void) => emit(bytes) } };
    }),
  }).finish();
}

const transpose = (input: string, output: string): NodeSpec => ({ name: output, opType: 'Transpose', inputs: [input], outputs: [output], intLists: { perm: [1, 0] } });
const matMul = (x: string, y: string, output: string): NodeSpec => ({ name: output, opType: 'MatMul', inputs: [x, y], outputs: [output] });

/** G = A Aᵀ (rows) or Aᵀ A (cols). */
function gramGraph(side: 'rows' | 'cols'): Uint8Array {
  const nodes = side === 'rows' ? [transpose('A', 'At'), matMul('A', 'At', 'G')] : [transpose('A', 'At'), matMul('At', 'A', 'G')];
  return graph([{ name: 'A', dims: ['m', 'n'] }], [{ name: 'G', dims: ['k', 'k'] }], nodes);
}

/** O = A − Z Vᵀ − V Zᵀ with X = A V T, Z = X − ½ V (Tᵀ Vᵀ X), as one Gemm for the rank-2r part. */
function updateGraph(): Uint8Array {
  return graph(
    [{ name: 'A', dims: ['h', 'h'] }, { name: 'V', dims: ['h', 'r'] }, { name: 'T', dims: ['r', 'r'] }],
    [{ name: 'O', dims: ['h', 'h'] }],
    [
      matMul('V', 'T', 'VT'),
      matMul('A', 'VT', 'X'),
      transpose('VT', 'TtVt'),
      matMul('TtVt', 'X', 'M'),
      matMul('V', 'M', 'VM'),
      { name: 'halfVM', opType: 'Mul', inputs: ['VM', 'half'], outputs: ['halfVM'] },
      { name: 'Z', opType: 'Sub', inputs: ['X', 'halfVM'], outputs: ['Z'] },
      { name: 'ZV', opType: 'Concat', inputs: ['Z', 'V'], outputs: ['ZV'], ints: { axis: 1 } },
      { name: 'VZ', opType: 'Concat', inputs: ['V', 'Z'], outputs: ['VZ'], ints: { axis: 1 } },
      { name: 'O', opType: 'Gemm', inputs: ['ZV', 'VZ', 'A'], outputs: ['O'], ints: { transB: 1 }, floats: { alpha: -1, beta: 1 } },
    ],
    [{ name: 'half', values: [0.5] }],
  );
}

let loaded: Promise<DenseKernels | undefined> | undefined;

/**
 * The thread's onnxruntime kernels (the smaller Gram, AᵀA or AAᵀ; stage 1's trailing update), or undefined when onnxruntime-node is not usable here.
 */
export function ortLinalg(): Promise<DenseKernels | undefined> {
  // PRUNESCOPE_KERNELS=typescript: the TypeScript kernels only (to compare, or where onnxruntime misbehaves).
  loaded ??= process.env.PRUNESCOPE_KERNELS === 'typescript' ? Promise.resolve(undefined) : create().catch(() => undefined);
  return loaded;
}

async function create(): Promise<DenseKernels> {
  // Loaded on the first spectrum, not at import: a worker that never computes one (--no-spectra)
  // does not pay for onnxruntime's native runtime.
  const ort = require('onnxruntime-node') as typeof Ort;
  const options: Ort.InferenceSession.SessionOptions = {
    logSeverityLevel: 4,
    // No arena: it would keep the largest product's memory for the life of the thread.
    enableCpuMemArena: false,
    enableMemPattern: false,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    intraOpNumThreads: os.availableParallelism(),
    // Idle pool threads would otherwise spin between the products and take the other workers' cores.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  const open = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, options);
  const [rows, cols] = await Promise.all([open(gramGraph('rows')), open(gramGraph('cols'))]);
  const update = await open(updateGraph());
  const tensor = (data: Float64Array, dims: number[]) => new ort.Tensor('float64', data, dims);
  return {
    async gram(a, m, n) {
      const out = await (m >= n ? cols : rows).run({ A: tensor(a, [m, n]) });
      return { g: out.G!.data as Float64Array, size: Math.min(m, n) };
    },
    async trailingUpdate(a, h, v, t, r, out) {
      // onnxruntime writes the result into `out` (a preallocated output: no allocation per panel)
      await update.run({ A: tensor(a, [h, h]), V: tensor(v, [h, r]), T: tensor(t, [r, r]) }, { O: tensor(out, [h, h]) });
    },
  };
}

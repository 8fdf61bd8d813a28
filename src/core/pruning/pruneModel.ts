/**
 * `prunescope prune`: prunes a checkpoint's weight layers and writes a new model next to nothing
 * but the chosen output, then (optionally) verifies it against the original in onnxruntime.
 * Implemented so far: magnitude pruning of ONNX models (per layer, global, or ε-targeted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { MATRIX_KINDS, type WeightTensor } from '../checkpoint.ts';
import { CheckpointError } from '../errors.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { type InitializerReplacement, writeOnnxWithEdits } from '../formats/onnx/writeOnnx.ts';
import { verifyOnnx, type Verification } from '../runtime/verifyOnnx.ts';
import { bytesPerElement, encodeFloats } from '../tensor/dtype.ts';
import { type Centre, type MagnitudePruned, pruneMagnitude, pruneMagnitudeGlobal } from './magnitude.ts';

export type PruneMethod = 'magnitude' | 'singular' | 'node';

export interface PruneOptions {
  method: PruneMethod;
  ratio?: number;
  eps?: number;
  global?: boolean;
  layers?: RegExp;
  centre?: Centre;
  force?: boolean;
  verify?: boolean;
}

export interface PruneLayerReport {
  name: string;
  method: PruneMethod;
  /** Fraction of the layer's entries pruned (k / n). */
  ratio: number;
  paramsBefore: number;
  paramsAfter: number;
  /** ‖W − W'‖ / ‖W − c‖. */
  relErr: number | null;
  skipped: boolean;
  reason?: string;
}

export interface PruneReport {
  input: string;
  output: string;
  method: PruneMethod;
  paramsBefore: number;
  paramsAfter: number;
  bytes: { before: number; after: number; afterGzip: number; afterSparse: number; afterSparseIsEstimate: true };
  layers: PruneLayerReport[];
  verify: Verification | null;
}

/** Bad prune options: reported before any work is done. */
export class PruneOptionsError extends Error {}

function validate(o: PruneOptions): void {
  if (o.method !== 'magnitude') throw new PruneOptionsError(`--method ${o.method} is not implemented yet (magnitude is)`);
  if ((o.ratio === undefined) === (o.eps === undefined)) throw new PruneOptionsError('give exactly one of --ratio or --eps');
  if (o.ratio !== undefined && !(o.ratio >= 0 && o.ratio < 1)) throw new PruneOptionsError(`--ratio must be in [0, 1), not ${o.ratio}`);
  if (o.eps !== undefined && !(o.eps > 0)) throw new PruneOptionsError(`--eps must be > 0, not ${o.eps}`);
  if (o.global && o.eps !== undefined) throw new PruneOptionsError('--global takes --ratio (one threshold for a fraction of all weights)');
}

/** Why a weight cannot be pruned (undefined when it can). */
function ineligible(w: WeightTensor): string | undefined {
  if (!MATRIX_KINDS.has(w.layer.kind)) return `${w.layer.kind} tensors are not pruned`;
  if (w.quantized) return 'quantized weights are not pruned yet';
  if (!['float32', 'float64', 'float16', 'bfloat16'].includes(w.dtype)) return `dtype ${w.dtype} is not pruned`;
  if (!w.onnx || w.onnx.origin !== 'initializer' || w.onnx.graph !== '') return 'only main-graph initializers are rewritten (this weight is a Constant or lives in a subgraph)';
  return undefined;
}

export async function pruneModel(file: string, output: string, o: PruneOptions): Promise<PruneReport> {
  validate(o);
  const input = path.resolve(file);
  const out = path.resolve(output);
  if (!out.toLowerCase().endsWith('.onnx')) throw new PruneOptionsError(`the output must be a .onnx file (other formats are not written yet): ${output}`);
  const ck = openCheckpoint(input);
  try {
    if (ck.format !== 'onnx') throw new PruneOptionsError(`pruning ${ck.format} models is not implemented yet (ONNX is)`);
    const selected = ck.weights.filter((w) => MATRIX_KINDS.has(w.layer.kind) && (!o.layers || o.layers.test(w.name)));
    if (o.layers && selected.length === 0) throw new PruneOptionsError(`--layers ${o.layers.source} matches no weight layer`);
    const eligible = selected.filter((w) => ineligible(w) === undefined);
    const layers: PruneLayerReport[] = selected
      .filter((w) => ineligible(w) !== undefined)
      .map((w) => ({ name: w.name, method: o.method, ratio: 0, paramsBefore: w.size, paramsAfter: w.size, relErr: null, skipped: true, reason: ineligible(w)! }));
    let pruned: MagnitudePruned[];
    if (o.global) pruned = pruneMagnitudeGlobal(eligible.map((w) => w.read()), o.ratio!, o.centre ?? 'none');
    else pruned = eligible.map((w) => pruneMagnitude(w.read(), o.ratio !== undefined ? { ratio: o.ratio } : { eps: o.eps! }, o.centre ?? 'none'));
    const replace = new Map<string, InitializerReplacement>();
    let removed = 0;
    let sparseSaving = 0;
    eligible.forEach((w, i) => {
      const p = pruned[i]!;
      if (p.k === p.n) throw new PruneOptionsError(`pruning '${w.name}' would remove all ${p.n} weights; refused`);
      replace.set(w.name, { dims: w.shape, dataType: w.onnx!.dataType, raw: encodeFloats(p.values, w.dtype as 'float32') });
      removed += p.k;
      // Sparse estimate: COO with int64 indices costs (value + 8) bytes per non-zero; used only when smaller.
      const dense = w.byteLength;
      const sparse = (p.n - p.k) * (bytesPerElement(w.dtype) + 8);
      if (o.centre !== 'median' && sparse < dense) sparseSaving += dense - sparse;
      layers.push({ name: w.name, method: o.method, ratio: p.k / p.n, paramsBefore: p.n, paramsAfter: p.n - p.k, relErr: p.relErr, skipped: false });
    });
    writeOnnxWithEdits(input, out, { replace }, o.force);
    let verify: Verification | null = null;
    if (o.verify) {
      try {
        verify = await verifyOnnx(input, out);
      } catch (e) {
        fs.rmSync(out, { force: true });
        throw new CheckpointError(out, `verification failed, output deleted: ${(e as Error).message}`);
      }
    }
    const paramsBefore = ck.weights.reduce((a, w) => a + w.size, 0);
    const after = fs.statSync(out).size;
    return {
      input,
      output: out,
      method: o.method,
      paramsBefore,
      paramsAfter: paramsBefore - removed,
      bytes: { before: fs.statSync(input).size, after, afterGzip: await gzipSize(out), afterSparse: after - sparseSaving, afterSparseIsEstimate: true },
      layers: layers.sort((a, b) => ck.weights.findIndex((w) => w.name === a.name) - ck.weights.findIndex((w) => w.name === b.name)),
      verify,
    };
  } finally {
    ck.close();
  }
}

function gzipSize(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    fs.createReadStream(file)
      .pipe(zlib.createGzip({ level: 6 }))
      .on('data', (c: Buffer) => (n += c.length))
      .on('end', () => resolve(n))
      .on('error', reject);
  });
}

/**
 * The spectral kernels per matrix against numpy with the BLAS it loaded (issue 15 target 2): for
 * 768×768, 768×3072, 768×30522, 4096×4096 and 4096×11008, the smaller Gram, one symmetric
 * eigensolve, and everything a layer computes for its spectra (one Gram, its rank-2 centring, two
 * eigensolves: raw and median-centred), next to numpy's Gram and eigvalsh. The path the analysis
 * takes runs onnxruntime's float64 products (the Gram; from TWO_STAGE_MIN on the two-stage
 * eigensolver); the TypeScript fallback's layer time is shown for the 768 shapes. Each side runs
 * on its own random float64 matrix of the shape (the kernels' time does not depend on the values);
 * numpy takes the best of its repeats, we run once.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { columnMedians } from '../src/core/analysis/order.ts';
import { Mulberry32 } from '../src/core/analysis/prng.ts';
import { smallerGram } from '../src/core/linalg/gram.ts';
import { eigenvaluesOn, gramEigenvaluesRawAndCentred, gramEigenvaluesRawAndCentredOn, TWO_STAGE_MIN, twoStageBand } from '../src/core/linalg/spectrum.ts';
import { ortLinalg } from '../src/core/runtime/ortLinalg.ts';

export const KERNEL_SHAPES: Array<[number, number]> = [[768, 768], [768, 3072], [768, 30522], [4096, 4096], [4096, 11008]];

interface NumpyKernels {
  numpy: string;
  libraries: string[];
  shapes: Array<{ m: number; n: number; gramMs: number; eigMs: number }>;
}

function numpyKernels(root: string, shapes: Array<[number, number]>): NumpyKernels | string {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return 'python3 with numpy not found: ratios skipped';
  const spec = shapes.map(([m, n]) => [m, n, m * n > 1e7 ? 1 : 3]);
  const r = spawnSync(py, [path.join(root, 'bench', 'numpy_kernels.py'), JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `numpy failed: ${(r.stderr || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout) as NumpyKernels;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 3 : 1)} s`;

export async function kernelBench(root: string, shapes: Array<[number, number]>): Promise<string[]> {
  const np = numpyKernels(root, shapes);
  const kernels = await ortLinalg();
  const lines = ['', `Spectral kernels per matrix, float64, ${kernels ? `onnxruntime's GEMM on ${os.availableParallelism()} threads` : 'TypeScript only (onnxruntime did not load)'} (numpy: its BLAS threads), vs numpy Gram + eigvalsh (issue 15 target: layer ≤ 5×)`];
  lines.push(typeof np === 'string' ? `  ${np}` : `  numpy ${np.numpy}, BLAS/LAPACK loaded: ${np.libraries.join(', ') || 'none found in /proc/self/maps'}`);
  for (const [m, n] of shapes) {
    const g = new Mulberry32(m ^ n);
    const a = Float64Array.from({ length: m * n }, () => g.uniformOpen() - 0.5);
    const med = columnMedians(a, m, n);
    let t = performance.now();
    const { g: gram, size } = kernels ? await kernels.gram(a, m, n) : smallerGram(a, m, n);
    const gramMs = performance.now() - t;
    t = performance.now();
    await eigenvaluesOn(kernels, gram, size);
    const eigMs = performance.now() - t;
    t = performance.now();
    await gramEigenvaluesRawAndCentredOn(kernels, a, m, n, med);
    const layerMs = performance.now() - t;
    let fallback = '';
    if (kernels && m === 768) {
      t = performance.now();
      gramEigenvaluesRawAndCentred(a, m, n, med);
      fallback = `; TypeScript layer ${seconds(performance.now() - t)}`;
    }
    const ref = typeof np === 'string' ? undefined : np.shapes.find((s) => s.m === m && s.n === n);
    const ratio = (ours: number, theirs?: number) => (theirs ? ` (${(ours / theirs).toFixed(1)}×)` : '');
    lines.push(
      `  ${`${m}×${n}`.padEnd(11)} Gram ${seconds(gramMs)}${ratio(gramMs, ref?.gramMs)}; eigenvalues${size >= TWO_STAGE_MIN && kernels ? ` (two-stage, b = ${twoStageBand(size)})` : ''} ${seconds(eigMs)}${ratio(eigMs, ref?.eigMs)}; ` +
        `layer (Gram, centring, 2 eigensolves) ${seconds(layerMs)}${ratio(layerMs, ref && ref.gramMs + ref.eigMs)}${fallback}` +
        (ref ? `  | numpy Gram ${seconds(ref.gramMs)}, eigvalsh ${seconds(ref.eigMs)}` : ''),
    );
  }
  return lines;
}

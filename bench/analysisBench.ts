/**
 * Analysis figures on the BERT-base-shaped model: elementwise statistics throughput, all spectra
 * (+ ESD fit) vs numpy's np.linalg.svd(compute_uv=False) over the same matrices, and a full
 * `analyze` run (wall time, time to the first layer, peak RSS).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ChildResult {
  ms: number;
  maxRssMB: number;
  out: Record<string, number>;
}

function child(core: string, body: string): ChildResult {
  const script = `
    const core = require(${JSON.stringify(core)});
    const t0 = performance.now();
    const out = {};
    (async () => {
      ${body}
      process.stdout.write(JSON.stringify({ ms: performance.now() - t0, maxRssMB: process.resourceUsage().maxRSS / 1024, out }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

export function analysisBench(root: string, model: string, fileBytes: number): Array<[string, string, string]> {
  const core = path.join(root, 'dist', 'core.js');
  const file = JSON.stringify(model);
  const stats = child(
    core,
    `const ck = core.openCheckpoint(${file}); let n = 0, statsMs = 0;
     for (const w of ck.weights) { const v = w.read(); const t = performance.now(); core.elementwiseStats(v); statsMs += performance.now() - t; n += v.length; }
     out.params = n; out.statsMs = statsMs; ck.close();`,
  );
  const spectra = child(
    core,
    `const ck = core.openCheckpoint(${file}); let ms = 0, matrices = 0;
     const kernels = await core.ortLinalg();
     out.onnxruntime = kernels ? 1 : 0;
     for (const w of ck.weights.filter(core.isAnalysable)) {
       const shape = core.canonicalShape(w.layer.layout, w.shape);
       const a = Float64Array.from(core.toCanonical(w.layer.layout, w.shape, w.read()));
       const m = shape[0], n = a.length / m;
       const t = performance.now();
       const med = core.columnMedians(a, m, n);
       const { raw } = await core.gramEigenvaluesRawAndCentredOn(kernels, a, m, n, med);
       core.fitEsdPowerLaw(raw);
       ms += performance.now() - t; matrices += 2;
     }
     out.spectraMs = ms; out.matrices = matrices; ck.close();`,
  );
  const rows: Array<[string, string, string]> = [];
  const paramsPerSec = stats.out.params! / (stats.out.statsMs! / 1000);
  rows.push(['elementwise statistics (1 core)', `${stats.out.statsMs!.toFixed(0)} ms  (${(paramsPerSec / 1e6).toFixed(0)}M params/s; target ≥ 100M)`, `${stats.maxRssMB.toFixed(0)} MB`]);
  let numpy = 'python3 with numpy not found: ratio skipped';
  const py = '/usr/bin/python3';
  if (fs.existsSync(py)) {
    const script = path.join(root, 'bench', 'numpy_svd.py');
    const r = spawnSync(py, [script, model], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status === 0) {
      const np = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; matrices: number };
      numpy = `numpy ${np.ms.toFixed(0)} ms for the same ${np.matrices} matrices → ${(spectra.out.spectraMs! / np.ms).toFixed(2)}× numpy (target ≤ 2×)`;
    } else numpy = `numpy run failed: ${r.stderr.trim().split('\n').pop()}`;
  }
  rows.push([`all spectra + ESD fit (${spectra.out.onnxruntime ? "onnxruntime GEMM" : "TypeScript, 1 core"}, ${spectra.out.matrices} matrices)`, `${spectra.out.spectraMs!.toFixed(0)} ms; ${numpy}`, `${spectra.maxRssMB.toFixed(0)} MB`]);
  const analyze = child(
    core,
    `let first = 0; const t = performance.now();
     const report = await core.analyzeModel(${file}, { onLayer: () => { if (!first) first = performance.now() - t; } });
     out.first = first; out.layers = report.layers.length;`,
  );
  rows.push([
    `prunescope analyze (all estimators, ${analyze.out.layers} layers, 2 workers)`,
    `${(analyze.ms / 1000).toFixed(1)} s; first layer after ${(analyze.out.first! / 1000).toFixed(2)} s (target ≤ 2 s)`,
    `${analyze.maxRssMB.toFixed(0)} MB (${(analyze.maxRssMB / (fileBytes / 1048576)).toFixed(2)}× the file; target ≤ 1.5×)`,
  ]);
  return rows;
}

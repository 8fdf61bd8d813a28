/**
 * The LLM-shaped case of issue 15: a sharded safetensors checkpoint of 48 matrices of 4096×3072
 * (604M float32 parameters, 2.4 GB in 6 shards, heavy-tailed random weights), analysed with
 * `--no-spectra` in a fresh process: wall time, CPU time over all threads, CPU/wall (core
 * utilisation), peak RSS and parameters per second per core.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LAYERS = 48;
const ROWS = 4096;
const COLS = 3072;
const SHARDS = 6;

/** Writes the checkpoint once (cached next to the other bench models); returns the index file. */
export function llmCheckpoint(dir: string, regenerate: boolean): string {
  const folder = path.join(dir, 'llm-604m');
  const index = path.join(folder, 'model.safetensors.index.json');
  if (fs.existsSync(index) && !regenerate) return index;
  fs.mkdirSync(folder, { recursive: true });
  const t0 = Date.now();
  let state = 0x9e3779b9;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 + 1 / 8589934592;
  };
  const values = new Float32Array(ROWS * COLS);
  const weightMap: Record<string, string> = {};
  const perShard = LAYERS / SHARDS;
  for (let s = 0; s < SHARDS; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(SHARDS).padStart(5, '0')}.safetensors`;
    const header: Record<string, unknown> = {};
    for (let l = 0; l < perShard; l++) {
      const name = `model.layers.${s * perShard + l}.mlp.up_proj.weight`;
      header[name] = { dtype: 'F32', shape: [ROWS, COLS], data_offsets: [l * values.byteLength, (l + 1) * values.byteLength] };
      weightMap[name] = file;
    }
    let json = Buffer.from(JSON.stringify(header));
    json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
    const fd = fs.openSync(path.join(folder, file), 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    for (let l = 0; l < perShard; l++) {
      // Student-t-like: a Gaussian over the root of a Gamma(1)/ν mixture, scale 0.02 (α̂ near 1.8).
      for (let i = 0; i < values.length; i++) {
        const z = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
        values[i] = (0.02 * z) / Math.sqrt(-Math.log(next()) / 3 + 0.05);
      }
      fs.writeSync(fd, new Uint8Array(values.buffer));
    }
    fs.closeSync(fd);
  }
  fs.writeFileSync(index, JSON.stringify({ metadata: { total_size: LAYERS * values.byteLength }, weight_map: weightMap }));
  console.log(`generated ${path.relative(process.cwd(), folder)} (${LAYERS} × ${ROWS}×${COLS}, ${SHARDS} shards) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return index;
}

export function llmBench(root: string, dir: string, regenerate: boolean): string[] {
  const index = llmCheckpoint(dir, regenerate);
  const core = path.join(root, 'dist', 'core.js');
  const script = `
    const core = require(${JSON.stringify(core)});
    const t0 = performance.now();
    let first = 0;
    core.analyzeModel(${JSON.stringify(index)}, { spectra: false, onLayer: () => { if (!first) first = performance.now() - t0; } }).then((r) => {
      const u = process.resourceUsage();
      process.stdout.write(JSON.stringify({ ms: performance.now() - t0, first, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssMB: u.maxRSS / 1024, layers: r.layers.length, params: r.model.weightParams, workers: r.settings.workers }));
    });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`llm bench child failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout) as { ms: number; first: number; cpuMs: number; maxRssMB: number; layers: number; params: number; workers: number };
  const bytes = LAYERS * ROWS * COLS * 4;
  const cores = Math.min(m.workers, os.availableParallelism());
  return [
    '',
    `LLM-shaped sharded safetensors: ${m.layers} layers, ${(m.params / 1e6).toFixed(0)}M params, ${(bytes / 1e9).toFixed(1)} GB; analyze --no-spectra, ${m.workers} workers`,
    `  wall ${(m.ms / 1000).toFixed(1)} s (target ≤ 40 s); first layer after ${(m.first / 1000).toFixed(1)} s`,
    `  CPU ${(m.cpuMs / 1000).toFixed(1)} s; CPU/wall ${(m.cpuMs / m.ms).toFixed(2)} (target ≥ 1.6)`,
    `  ${(m.params / (m.cpuMs / 1000) / 1e6).toFixed(1)}M params/s per busy core, ${(m.params / (m.ms / 1000) / cores / 1e6).toFixed(1)}M per core of wall time (target ≥ 10M)`,
    `  peak RSS ${m.maxRssMB.toFixed(0)} MB (${((m.maxRssMB * 1048576) / bytes).toFixed(2)}× the checkpoint)`,
  ];
}

/**
 * A fuzz campaign: mutants of the committed fixtures, each run through `inspect`, `analyze` and
 * `prune --method magnitude` (and, for ONNX, `prune --method node`) in a pool of child processes with a time limit per command (a
 * synchronous hang, e.g. a FIFO open or a tight loop, cannot be timed out in-process). Anything
 * but success or a one-line user-input error (exit 1 or 2) is a finding.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Mulberry32 } from '../../src/core/analysis/prng.ts';
import type { FuzzJob, FuzzReply } from './child.ts';
import { mutateBytes, mutateJsonText, mutateProtobuf, mutateSafetensorsHeader, poisonFloats, poisonOnnxWeights, type Rng } from './mutators.ts';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures');

/** A seed model: the files of its folder that belong to it, and the file to open. */
interface Seed {
  name: string;
  dir: string;
  files: string[];
  model: string;
  /** Where `prune -o` writes, relative to the mutant's output folder. */
  output: string;
}

function seeds(): Seed[] {
  const out: Seed[] = [];
  const onnx = path.join(FIXTURES, 'onnx');
  for (const f of fs.readdirSync(onnx).filter((n) => n.endsWith('.onnx')).sort()) {
    const files = f === 'mlp_external.onnx' ? [f, 'mlp_external.weights'] : [f];
    out.push({ name: `onnx/${f}`, dir: onnx, files, model: f, output: 'pruned.onnx' });
  }
  const tfjs = path.join(FIXTURES, 'tfjs');
  for (const d of fs.readdirSync(tfjs).sort()) {
    out.push({ name: `tfjs/${d}`, dir: path.join(tfjs, d), files: fs.readdirSync(path.join(tfjs, d)).sort(), model: 'model.json', output: 'tfjs/model.json' });
  }
  const st = path.join(FIXTURES, 'safetensors');
  out.push({ name: 'safetensors/model', dir: st, files: ['model.safetensors'], model: 'model.safetensors', output: 'pruned.safetensors' });
  const sharded = path.join(st, 'sharded');
  out.push({ name: 'safetensors/sharded', dir: sharded, files: fs.readdirSync(sharded).sort(), model: 'model.safetensors.index.json', output: 'pruned.safetensors' });
  return out;
}

/** One mutation of one file, chosen by the file's kind. */
function mutate(r: Rng, name: string, bytes: Uint8Array): { bytes: Uint8Array; how: string } {
  const kind = r.below(100);
  if (name.endsWith('.onnx')) {
    if (kind < 40) return mutateProtobuf(r, bytes) ?? mutateBytes(r, bytes);
    if (kind < 55) return poisonOnnxWeights(r, bytes) ?? mutateBytes(r, bytes);
    return mutateBytes(r, bytes);
  }
  if (name.endsWith('.json')) return kind < 70 ? (mutateJsonText(r, bytes) ?? mutateBytes(r, bytes)) : mutateBytes(r, bytes);
  if (name.endsWith('.safetensors')) {
    if (kind < 45) return mutateSafetensorsHeader(r, bytes) ?? mutateBytes(r, bytes);
    if (kind < 65) {
      const len = bytes.length >= 8 ? Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)) : 0;
      return poisonFloats(r, bytes, Math.min(bytes.length, 8 + len));
    }
    return mutateBytes(r, bytes);
  }
  // weight shards and external data
  return kind < 40 ? poisonFloats(r, bytes) : mutateBytes(r, bytes);
}

export type Verdict = 'ok' | 'input-error' | 'internal-error' | 'hang' | 'crash' | 'multi-line message' | 'unexpected exit' | 'temp files left';

export interface Finding {
  mutant: number;
  seed: string;
  how: string;
  command: string;
  verdict: Verdict;
  detail: string;
  /** Where the mutant was kept (with --keep). */
  kept?: string;
}

export interface CampaignOptions {
  seed: number;
  count: number;
  /** Per command. */
  timeoutMs: number;
  workers: number;
  /** Keep failing mutants in this folder. */
  keep?: string;
  /** Extra environment of the child processes (the harness's own test uses a pause hook). */
  env?: Record<string, string>;
  onProgress?: (done: number, findings: number) => void;
}

export interface CampaignResult {
  mutants: number;
  commands: number;
  verdicts: Record<Verdict, number>;
  findings: Finding[];
  seconds: number;
  /** The slowest command seen, in ms. */
  slowestMs: number;
  /** Clean input-error messages, with numbers and paths masked, and how often each was seen. */
  messages: Record<string, number>;
}

/** A child process running CLI commands; restarted after a hang or a crash. */
class FuzzWorker {
  private child!: ChildProcess;
  private ready!: Promise<void>;
  private jobs = 0;
  constructor(private readonly env: Record<string, string> = {}) {
    this.start();
  }

  private start(): void {
    this.child = fork(path.join(__dirname, 'child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, ...this.env } });
    this.child.stderr!.resume(); // drain (fatal messages of a crashing child)
    this.ready = new Promise((resolve) => this.child.once('message', () => resolve()));
    this.jobs = 0;
  }

  async run(argv: string[], timeoutMs: number): Promise<{ kind: 'reply'; reply: FuzzReply } | { kind: 'hang' } | { kind: 'crash'; detail: string }> {
    if (this.jobs++ > 400) this.restart(); // bound any slow leak inside the child
    await this.ready;
    const child = this.child;
    const id = this.jobs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        cleanup();
        this.restart();
        resolve({ kind: 'hang' });
      }, timeoutMs);
      const onMessage = (m: FuzzReply) => {
        if (m.id !== id) return;
        cleanup();
        resolve({ kind: 'reply', reply: m });
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        this.start();
        resolve({ kind: 'crash', detail: `child exited (code ${code}, signal ${signal})` });
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, argv } satisfies FuzzJob);
    });
  }

  private restart(): void {
    this.child.removeAllListeners('exit');
    this.child.kill('SIGKILL');
    this.start();
  }

  stop(): void {
    this.child.removeAllListeners('exit');
    this.child.kill('SIGKILL');
  }
}

function classify(code: number, stderr: string): { verdict: Verdict; detail: string } {
  const message = stderr.replace(/\n$/, '');
  if (code === 0) return { verdict: 'ok', detail: '' };
  if (code === 1 || code === 2) {
    if (message.includes('\n') || message.includes('\r')) return { verdict: 'multi-line message', detail: JSON.stringify(message.slice(0, 300)) };
    return { verdict: 'input-error', detail: message };
  }
  if (code === 3) return { verdict: 'internal-error', detail: message };
  return { verdict: 'unexpected exit', detail: `exit ${code}: ${message}` };
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  const t0 = performance.now();
  const all = seeds();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'prunescope-fuzz-'));
  const verdicts: Record<Verdict, number> = { ok: 0, 'input-error': 0, 'internal-error': 0, hang: 0, crash: 0, 'multi-line message': 0, 'unexpected exit': 0, 'temp files left': 0 };
  const findings: Finding[] = [];
  let next = 0;
  let done = 0;
  let commands = 0;
  let slowestMs = 0;
  const messages: Record<string, number> = {};
  const workers = Array.from({ length: Math.max(1, o.workers) }, () => new FuzzWorker(o.env));

  const runMutant = async (worker: FuzzWorker, i: number) => {
    const r = new Mulberry32((o.seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0);
    const seed = all[r.below(all.length)]!;
    const dir = path.join(root, `m${i}`);
    const modelDir = path.join(dir, 'model');
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(modelDir, { recursive: true });
    // Mostly the model file; sometimes one of its side files (shards, external data, index shards).
    const victim = seed.files.length > 1 && r.below(3) === 0 ? seed.files[r.below(seed.files.length)]! : seed.model;
    let how = '';
    for (const f of seed.files) {
      let bytes: Uint8Array = fs.readFileSync(path.join(seed.dir, f));
      if (f === victim) {
        // One to three mutations on top of each other (most campaigns' findings need two).
        const steps: string[] = [];
        for (let k = 1 + (r.below(4) === 0 ? 1 + r.below(2) : 0); k > 0; k--) {
          const m = mutate(r, f, bytes);
          bytes = m.bytes;
          steps.push(m.how);
        }
        how = `${f}: ${steps.join('; then ')}`;
      }
      fs.writeFileSync(path.join(modelDir, f), bytes);
    }
    const model = path.join(modelDir, seed.model);
    const runs: Array<[string, string[]]> = [
      ['inspect', ['inspect', model, '--json']],
      ['analyze', ['analyze', model, '--workers', '0', '--json', path.join(outDir, 'report.json')]],
      ['prune', ['prune', model, '--method', 'magnitude', '--ratio', '0.5', '-o', path.join(outDir, seed.output)]],
      // ONNX: the dependency analysis and the group edits of node pruning too.
      ...(seed.model.endsWith('.onnx') ? ([['prune', ['prune', model, '--method', 'node', '--ratio', '0.5', '--force', '-o', path.join(outDir, seed.output)]]] as Array<[string, string[]]>) : []),
    ];
    let failed = false;
    for (const [command, argv] of runs) {
      const res = await worker.run(argv, o.timeoutMs);
      commands++;
      let verdict: Verdict;
      let detail: string;
      if (res.kind === 'hang') ({ verdict, detail } = { verdict: 'hang', detail: `no answer within ${o.timeoutMs} ms` });
      else if (res.kind === 'crash') ({ verdict, detail } = { verdict: 'crash', detail: res.detail });
      else {
        slowestMs = Math.max(slowestMs, res.reply.ms);
        ({ verdict, detail } = classify(res.reply.code, res.reply.stderr));
      }
      if (command === 'prune' && verdict !== 'hang' && verdict !== 'crash') {
        const left = leftovers(outDir);
        if (left.length) ({ verdict, detail } = { verdict: 'temp files left', detail: left.join(', ') });
      }
      verdicts[verdict]++;
      if (verdict === 'input-error') {
        const key = detail.replace(/'[^']*'/g, "'…'").replace(/\d+/g, '#');
        messages[key] = (messages[key] ?? 0) + 1;
      }
      if (verdict !== 'ok' && verdict !== 'input-error') {
        failed = true;
        findings.push({ mutant: i, seed: seed.name, how, command, verdict, detail });
      }
    }
    if (failed && o.keep) {
      const kept = path.join(o.keep, `m${i}`);
      fs.mkdirSync(o.keep, { recursive: true });
      fs.cpSync(modelDir, kept, { recursive: true });
      for (const f of findings.filter((x) => x.mutant === i)) f.kept = kept;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(
      workers.map(async (w) => {
        while (next < o.count) {
          const i = next++;
          await runMutant(w, i);
          done++;
          o.onProgress?.(done, findings.length);
        }
      }),
    );
  } finally {
    for (const w of workers) w.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
  return { mutants: done, commands, verdicts, findings, seconds: (performance.now() - t0) / 1000, slowestMs, messages };
}

/** Our temp files or staging folders left in the output folder (recursively). */
function leftovers(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.prunescope-') || e.name.endsWith('.tmp')) out.push(e.name);
    else if (e.isDirectory()) out.push(...leftovers(path.join(dir, e.name)).map((n) => `${e.name}/${n}`));
  }
  return out;
}

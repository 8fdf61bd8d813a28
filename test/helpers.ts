import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { Checkpoint, LayerKind } from '../src/core/checkpoint.ts';
import { readNpy } from '../src/core/formats/npy.ts';
import { buildOnnxModel, type NodeSpec } from '../src/core/formats/onnx/onnxBuilder.ts';
import { chromium, type Frame, type Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export function fixture(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

/** A committed labels .npy as the verifier takes it. */
export function labelsOf(file: string): { file: string; values: Int32Array } {
  return { file, values: Int32Array.from(readNpy(file).values) };
}

export interface Expected {
  params: number;
  weightParams: number;
  producer?: string;
  opset?: number;
  paramsByKind?: Partial<Record<LayerKind, number>>;
  kinds?: Record<string, LayerKind>;
  tensors: Record<string, { sha256: string; dims?: number[]; shape?: number[]; quantized?: boolean; dtype?: string }>;
}

/** Reference values written by the fixture scripts (numpy/onnx/torch or tfjs), never by PruneScope. */
export function expected(name: string): Expected {
  return JSON.parse(fs.readFileSync(fixture('expected', `${name}.json`), 'utf8')) as Expected;
}

export function sha256OfValues(v: Float32Array | Float64Array): string {
  return createHash('sha256').update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
}

export function paramsByKind(ck: Checkpoint): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of ck.weights) out[w.layer.kind] = (out[w.layer.kind] ?? 0) + w.size;
  return out;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prunescope-test-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Under Stryker (its tap runner sets STRYKER_NAMESPACE), CLI processes run the sources, which are the
 * mutated ones in its sandbox, with the test process's node flags (its coverage hook and tsx); the
 * built bundle would run the unmutated code. Elsewhere: the built CLI, as a user runs it.
 */
const strykerNamespace = process.env['STRYKER_NAMESPACE'];

function cliCommand(args: string[]): string[] {
  if (strykerNamespace) return [...process.execArgv, path.join(ROOT, 'test', 'cliFromSource.ts'), ...args];
  return [path.join(ROOT, 'bin', 'prunescope.js'), ...args];
}

/**
 * Under Stryker, a CLI process's mutant coverage (written by the hook at exit, named by its pid)
 * joins this process's, so the mutants only CLI tests reach count as covered, with their hit counts.
 */
function takeCliCoverage(pid: number | undefined): void {
  if (!strykerNamespace || pid === undefined) return;
  const file = path.resolve(`stryker-output-${pid}.json`);
  if (!fs.existsSync(file)) return;
  const child = JSON.parse(fs.readFileSync(file, 'utf8')) as { mutantCoverage?: { static?: Record<string, number> } };
  fs.rmSync(file);
  const counts = child.mutantCoverage?.static;
  if (!counts) return;
  const ns = ((globalThis as Record<string, unknown>)[strykerNamespace] ??= {}) as { mutantCoverage?: { static: Record<string, number>; perTest: Record<string, unknown> } };
  const own = (ns.mutantCoverage ??= { static: {}, perTest: {} }).static;
  for (const [id, n] of Object.entries(counts)) own[id] = (own[id] ?? 0) + n;
}

/** Runs the built CLI (dist/cli.js via bin/prunescope.js) as a real process. */
export function runCli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, cliCommand(args), { encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  takeCliCoverage(r.pid);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like runCli, without blocking the test runner's event loop. */
export function runCliAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const { execFile } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, cliCommand(args), { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      takeCliCoverage(child.pid);
      resolve({ status: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** A CLI process the test can signal: its stderr so far, a wait for a line, and its exit. */
export interface RunningCli {
  child: import('node:child_process').ChildProcess;
  stderr(): string;
  /** Resolves once stderr matches `pattern` (rejects after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'prunescope.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (status, signal) => resolve({ status, signal })));
  const waitFor = (pattern: RegExp, ms = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (pattern.test(err)) {
          clearInterval(poll);
          resolve();
        } else if (Date.now() - started > ms || child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`stderr never matched ${pattern}: ${err}`));
        }
      }, 5);
    });
  return { child, stderr: () => err, waitFor, exited };
}

/**
 * onnx.checker (full check) over ONNX files, in one Debian python3 process: the files it rejects,
 * with why; null when python3-onnx is not installed (the caller skips, saying so).
 */
export function onnxChecker(files: readonly string[]): Array<{ file: string; error: string }> | null {
  if (spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status !== 0) return null;
  const script = 'import onnx, sys, json\nbad = []\nfor f in sys.argv[1:]:\n    try:\n        onnx.checker.check_model(onnx.load(f), full_check=True)\n    except Exception as e:\n        bad.append({"file": f, "error": str(e)[:500]})\nprint(json.dumps(bad))';
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx.checker did not run: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<{ file: string; error: string }>;
}

/**
 * A subtest that runs a Python snippet (sys.argv[1] = `file`) with Debian's python3-onnx and
 * expects `stdout`; skipped, saying why, when python3-onnx is not installed (.ci/run installs it).
 */
export async function onnxPythonCheck(t: TestContext, name: string, script: string, file: string, stdout: string): Promise<void> {
  await t.test(name, (st) => {
    if (spawnSync('/usr/bin/python3', ['-c', 'import onnx']).status !== 0) return st.skip('python3-onnx is not installed (apt-get install python3-onnx)');
    const c = spawnSync('/usr/bin/python3', ['-c', `import onnx, sys\n${script}`, file], { encoding: 'utf8' });
    assert.equal(c.stdout.trim(), stdout, c.stderr);
  });
}

/** Float32 little-endian bytes of `values`, as an initializer payload for buildOnnxModel. */
export function floatBytes(values: ArrayLike<number>): { length: number; produce(emit: (c: Uint8Array) => void): void } {
  const bytes = new Uint8Array(Float32Array.from(values).buffer);
  return { length: bytes.length, produce: (emit) => emit(bytes) };
}

/**
 * Writes a small float ONNX graph (opset 13) for a structure test and returns its path. Weight
 * values are sin(i + name length): distinct, so scores that depend on them are not tied; `ints`
 * are 1-D int64 constants (indices, shapes).
 */
type TestValue = { name: string; dims: Array<number | string> };
export function writeTestGraph(file: string, g: { inputs: TestValue[]; outputs: TestValue[]; nodes: NodeSpec[]; weights: Record<string, number[]>; ints?: Record<string, number[]> }): string {
  const initializers = [
    ...Object.entries(g.weights).map(([name, dims]) => ({ name, dataType: 1, dims, raw: floatBytes(Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i + name.length))) })),
    ...Object.entries(g.ints ?? {}).map(([name, v]) => {
      const bytes = new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer);
      return { name, dataType: 7, dims: [v.length], raw: { length: bytes.length, produce: (emit: (c: Uint8Array) => void) => emit(bytes) } };
    }),
  ];
  const float = (v: TestValue) => ({ ...v, elemType: 1 });
  buildOnnxModel({ producer: 'test', opset: 13, graphName: path.basename(file, '.onnx'), inputs: g.inputs.map(float), outputs: g.outputs.map(float), nodes: g.nodes, initializers }).writeToFile(file);
  return file;
}

/** Writes a C-order .npy (format 1.0) with the given dtype descriptor, e.g. '<f4' or '<i4'. */
export function writeNpy(file: string, descr: string, shape: number[], data: ArrayBufferView): void {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** Non-transparent pixels of each canvas matching `selector` in a browser frame (0 while a canvas is not laid out). */
export function paintedPixels(frame: Frame, selector: string): Promise<number[]> {
  return frame.evaluate((sel) => {
    return Array.from(document.querySelectorAll<HTMLCanvasElement>(sel)).map((c) => {
      if (!c.width || !c.height) return 0;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return n;
    });
  }, selector);
}

export interface RenderedPage {
  page: Page;
  /** Every canvas: its id, what annotate() recorded, and its painted pixels. */
  charts: Array<{ id: string; datasets: number; points: number; painted: number }>;
  errors: string[];
  /** Requests that left the file (a self-contained page makes none). */
  external: string[];
}

/** Opens a self-contained HTML report in headless Chromium, waits until it has rendered, and hands it to `use`. */
export async function withRenderedPage<T>(file: string, use: (r: RenderedPage) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
    const ids = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).map((c) => ({ id: c.id, datasets: Number(c.dataset['datasets'] ?? 0), points: Number(c.dataset['points'] ?? 0) })));
    const painted = await paintedPixels(page.mainFrame(), 'canvas');
    return await use({ page, charts: ids.map((c, i) => ({ ...c, painted: painted[i]! })), errors, external: requests.filter((u) => !u.startsWith('file://')) });
  } finally {
    await browser.close();
  }
}

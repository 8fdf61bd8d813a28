/**
 * Analyses every weight layer of a checkpoint in a pool of worker threads (largest layers first),
 * streaming each layer's result as it finishes, and assembles the versioned report.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Checkpoint, WeightTensor } from '../checkpoint.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { Cancelled, CheckpointError, UserInputError } from '../errors.ts';
import { activationSpectra } from './activationSpectra.ts';
import { describeStructure } from '../pruning/structured/describeStructure.ts';
import { analyseStructure, type StructureAnalysis } from '../pruning/structured/pruneNodes.ts';
import type { StructureReport } from '../report/structure.ts';
import type { ImageInputOptions } from '../runtime/calibrationInputs.ts';
import { type AnalysisReport, SCHEMA_VERSION, summarize } from '../report/report.ts';
import { VERSION } from '../version.ts';
import { analyzeLayer, type AnalysisSettings, DEFAULT_SETTINGS, isAnalysable, type LayerResult, releaseLayerScratch } from './analyzeLayer.ts';
import type { AnalyzeWorkerReply, AnalyzeWorkerRequest } from './analyzeWorker.ts';

export interface AnalyzeOptions extends Partial<AnalysisSettings> {
  /** Worker threads; 0 analyses in the calling thread. Default: one per core. */
  workers?: number;
  /**
   * Bytes the pool's layers may hold at once (layerMemory: about 20 bytes per parameter, plus the
   * Gram matrices with spectra); a layer larger than the budget runs alone. Default:
   * defaultMemoryBudget(), a quarter of the machine's memory.
   */
  memoryBudget?: number;
  /** Only layers whose name matches. */
  layers?: RegExp;
  signal?: AbortSignal;
  /** The file's sha256 when the caller has already computed it (the extension's cache does). */
  sha256?: string;
  /** Calibration inputs (.npy, ONNX models): adds each layer's activation spectrum and N̂(λ). */
  data?: string;
  /** Calibration samples taken from `data` (default 512). */
  samples?: number;
  /** `data` is a folder of images: their input size and normalisation. */
  image?: ImageInputOptions;
  /** Dims for the model's dynamic inputs (`--input-shape`), for the dependency analysis. */
  inputShapes?: Array<{ name: string | null; dims: number[] }>;
  /** Called as each layer finishes (in completion order). */
  onLayer?: (result: LayerResult, done: number, total: number) => void;
}

export async function analyzeModel(file: string, options: AnalyzeOptions = {}): Promise<AnalysisReport> {
  const startedAt = new Date().toISOString();
  const settings: AnalysisSettings = { ...DEFAULT_SETTINGS, ...pickSettings(options) };
  const ck = openCheckpoint(file);
  try {
    const selected = ck.weights.filter((w) => !options.layers || options.layers.test(w.name));
    const targets = selected.filter(isAnalysable);
    const classifier = lastDense(ck);
    const workers = Math.max(0, Math.min(options.workers ?? os.availableParallelism(), targets.length));
    const results = new Map<string, LayerResult>();
    let done = 0;
    const record = (r: LayerResult) => {
      results.set(r.name, r);
      options.onLayer?.(r, ++done, targets.length);
    };
    if (options.signal?.aborted) throw new Cancelled('analysis cancelled');
    if (workers === 0) {
      try {
        for (const w of targets) {
          if (options.signal?.aborted) throw new Cancelled('analysis cancelled');
          record(await analyzeLayer(w, settings, w === classifier));
          await new Promise((r) => setImmediate(r)); // let an abort be seen between layers
        }
      } finally {
        releaseLayerScratch();
      }
    } else {
      // Stryker disable next-line LogicalOperator: without a budget the pool runs one layer at a time; results are the same, only slower
      await runPool(ck.file, settings, targets, classifier, workers, options.memoryBudget ?? defaultMemoryBudget(), record, options.signal);
    }
    const layers = targets.map((w) => results.get(w.name)!);
    const warnings = [...ck.warnings];
    if (options.data && ck.format !== 'onnx') throw new CheckpointError(options.data, `activation spectra (--data) need an ONNX model; this is ${ck.format}`);
    if (options.signal?.aborted) throw new Cancelled('analysis cancelled');
    const structure = ck.format === 'onnx' ? structureOf(ck, options, warnings) : undefined;
    let calibration: AnalysisReport['calibration'];
    if (options.data && structure) {
      const a = await activationSpectra(ck, structure.analysis, targets, options.data, options.samples ?? 512, options.image);
      for (const l of layers) {
        const sp = a.spectra.get(l.name);
        l.activationSpectrum = sp ?? null;
        if (sp && sp.samples < sp.units) l.reasons.push(`activation spectrum: ${sp.samples} samples for ${sp.units} units, so Σ̂ is rank-deficient`);
        if (!sp) l.reasons.push(`activation spectrum: ${a.refused.get(l.name) ?? 'not captured'}`);
      }
      calibration = a.calibration;
    }
    const skippedWeights = selected.filter((w) => !isAnalysable(w));
    return {
      schemaVersion: SCHEMA_VERSION,
      model: {
        path: ck.file,
        sha256: options.sha256 ?? (await sha256File(ck.file, options.signal)),
        size: ck.files.reduce((n, f) => n + fs.statSync(f).size, 0),
        format: ck.format,
        producer: ck.producer,
        params: ck.weights.reduce((n, w) => n + w.size, 0),
        weightParams: targets.reduce((n, w) => n + w.size, 0),
      },
      prunescope: { version: VERSION },
      settings: { ...settings, layers: options.layers?.source ?? null, workers },
      startedAt,
      finishedAt: new Date().toISOString(),
      layers,
      skipped: { count: skippedWeights.length, params: skippedWeights.reduce((n, w) => n + w.size, 0) },
      summary: summarize(layers),
      warnings,
      ...(calibration ? { calibration } : {}),
      ...(structure ? { structure: structure.report } : {}),
    };
  } finally {
    ck.close();
  }
}

/**
 * The dependency groups (ONNX), for the report and the preview. A model the analysis cannot
 * follow still gets its per-layer analysis: the failure is a warning, and node pruning says why.
 */
function structureOf(ck: Checkpoint, o: AnalyzeOptions, warnings: string[]): { analysis: StructureAnalysis; report: StructureReport } | undefined {
  try {
    const analysis = analyseStructure(ck, o.inputShapes ?? []);
    return { analysis, report: describeStructure(ck, analysis) };
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    warnings.push(`the dependency analysis of the graph failed (${(e as Error).message.split('\n')[0]}); structured pruning previews are unavailable`);
    return undefined;
  }
}

function pickSettings(o: AnalyzeOptions): Partial<AnalysisSettings> {
  const out: Partial<AnalysisSettings> = {};
  for (const k of Object.keys(DEFAULT_SETTINGS) as Array<keyof AnalysisSettings>) {
    if (o[k] !== undefined) (out as Record<string, unknown>)[k] = o[k];
  }
  return out;
}

/** The classifier = the last dense layer in model order (transposed for tail estimation in paper mode). */
function lastDense(ck: Checkpoint): WeightTensor | undefined {
  return [...ck.weights].reverse().find((w) => w.layer.kind === 'dense' && w.shape.length === 2);
}

/** The bundled worker (dist/analyzeWorker.js); from sources (tests under tsx), the .ts through tsx's require hook. */
function newWorker(workerData: unknown): Worker {
  const bundled = path.join(__dirname, 'analyzeWorker.js');
  // Stryker disable next-line ConditionalExpression: tests run the sources, where no bundle sits next to this file (the CLI and e2e tests run the bundle)
  if (fs.existsSync(bundled)) return new Worker(bundled, { workerData });
  const source = path.join(__dirname, 'analyzeWorker.ts');
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)});`, { eval: true, workerData });
}

/** The fraction of os.totalmem() the analysis pool may fill by default. */
export const MEMORY_BUDGET_FRACTION = 0.25;

export function defaultMemoryBudget(): number {
  return Math.floor(os.totalmem() * MEMORY_BUDGET_FRACTION);
}

/**
 * What analysing one layer holds, in bytes: the float64 values and the work buffer (16 per
 * parameter, kept by the worker for the next layer), a stored copy while it is read and reordered
 * (up to 4 more), and with spectra three matrices of min(rows, cols)² (24 bytes per entry): the
 * Gram, its centred copy, and the second buffer of the two-stage eigensolver.
 */
export function layerMemory(w: WeightTensor, settings: AnalysisSettings): number {
  const rows = w.shape[0]!;
  const cols = w.size / rows;
  const side = Math.min(rows, cols);
  return 20 * w.size + (settings.spectra && side <= settings.maxSpectrumDim ? 24 * side * side : 0);
}

function runPool(
  file: string,
  settings: AnalysisSettings,
  targets: WeightTensor[],
  classifier: WeightTensor | undefined,
  size: number,
  memoryBudget: number,
  record: (r: LayerResult) => void,
  signal?: AbortSignal,
): Promise<void> {
  // Largest first balances the pool; the smallest layer goes first so a result shows up at once.
  const queue = [...targets].sort((a, b) => b.size - a.size);
  if (queue.length > size) queue.unshift(queue.pop()!);
  const pool: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let pending = targets.length;
    let finished = false;
    const stop = (err?: Error) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      void Promise.all(pool.map((w) => w.terminate())).then(() => (err ? reject(err) : resolve()));
    };
    const onAbort = () => stop(new Cancelled('analysis cancelled'));
    signal?.addEventListener('abort', onAbort);
    const idle: Worker[] = [];
    const inFlight = new Set<Worker>();
    // Bytes each worker holds: its layer's while it runs, then the scratch it keeps for the next one
    // (the values and work buffers of the largest layer it has analysed, 16 bytes per parameter).
    const holds = new Map<Worker, number>();
    const kept = new Map<Worker, number>();
    const feed = () => {
      while (idle.length && queue.length) {
        const w = idle.at(-1)!;
        const others = [...holds].reduce((a, [x, b]) => (x === w ? a : a + b), 0);
        // The next layer that fits the budget beside what the other workers hold (any layer when nothing else runs).
        const i = inFlight.size === 0 ? 0 : queue.findIndex((l) => others + Math.max(kept.get(w)!, layerMemory(l, settings)) <= memoryBudget);
        if (i < 0) {
          // Blocked by the budget: idle workers that keep scratch memory give it back, and the
          // layers are tried again; when only running layers block, the next one to finish feeds.
          const holding = idle.filter((x) => holds.get(x)! > 0);
          if (holding.length === 0) return;
          for (const x of holding) {
            // Stryker disable next-line BooleanLiteral: the worker drops its scratch on any 'release' message; it only changes memory
            x.postMessage({ release: true } satisfies AnalyzeWorkerRequest);
            holds.set(x, 0);
            kept.set(x, 0);
          }
          continue;
        }
        const [next] = queue.splice(i, 1);
        idle.pop();
        inFlight.add(w);
        holds.set(w, Math.max(kept.get(w)!, layerMemory(next!, settings)));
        kept.set(w, Math.max(kept.get(w)!, 16 * next!.size));
        w.postMessage({ name: next!.name, isClassifier: next === classifier } satisfies AnalyzeWorkerRequest);
      }
    };
    // Stryker disable next-line EqualityOperator: one more worker than the pool uses stays idle; results and order are the same
    for (let i = 0; i < size; i++) {
      const w = newWorker({ file, settings });
      pool.push(w);
      w.on('message', (reply: AnalyzeWorkerReply) => {
        if (finished) return;
        // The failure crossed a thread: rebuild its class (bad input stays bad input, a bug stays a bug).
        if (!reply.ok) return stop(reply.badInput ? new UserInputError(reply.message) : Object.assign(new Error(`layer '${reply.name}': ${reply.message}`), { stack: reply.stack }));
        record(reply.result);
        inFlight.delete(w);
        holds.set(w, kept.get(w)!);
        idle.push(w);
        if (--pending === 0) return stop();
        feed();
      });
      w.on('error', (e) => stop(e));
      holds.set(w, 0);
      kept.set(w, 0);
      idle.push(w);
    }
    feed();
  });
}

async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  try {
    // Stryker disable next-line ObjectLiteral: the read size changes no digest, and without the signal an abort during hashing waits for the hash to end (a cancel latency no test can time)
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22, ...(signal ? { signal } : {}) })) hash.update(chunk as Buffer);
  } catch (e) {
    if (signal?.aborted) throw new Cancelled('analysis cancelled');
    throw e;
  }
  return hash.digest('hex');
}

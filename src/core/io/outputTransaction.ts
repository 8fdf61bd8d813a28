/**
 * How every model PruneScope writes reaches the disk, so that nothing is lost and nothing is left:
 *
 *  1. open(): before any work, the outputs are checked. None may be an input of the run (by real
 *     path or inode; --force never overrides this), none may exist unless --force, and the
 *     folder must be writable. A staging folder `.prunescope-<pid>-<tag>.tmp` is made in it.
 *  2. Writers write every file under its final name inside the staging folder. A side file whose
 *     name is taken by the model being replaced gets a fresh, tagged name instead, so the old
 *     model never points at new data.
 *  3. commit(): side files are renamed into place first, the model last; then the replaced
 *     model's own side files are removed. A kill between two renames leaves the previous model
 *     whole (plus an orphan side file at worst).
 *  4. dispose(): on an error or a cancel the staging folder goes. After a SIGKILL it is swept by
 *     the next run in that folder, once its pid is dead.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cancelled, CheckpointError } from '../errors.ts';
import type { InputFiles } from './inputFiles.ts';

const PREFIX = '.prunescope-';
/** `.prunescope-<pid>-<tag>[-<name>].tmp`: our staging folders and atomic-write temp files. */
const TEMP_NAME = /^\.prunescope-(\d+)-([0-9a-f]{8,})(?:-.*)?\.tmp$/;

/** TF.js weight shards as converters and PruneScope name them (the replaced model's are removed). */
const SHARD_NAME = /^group\d+-shard\d+of\d+(\.[0-9a-f]{8})?\.bin$/;

export function tempName(tag: string, suffix = ''): string {
  return `${PREFIX}${process.pid}-${tag}${suffix ? `-${suffix}` : ''}.tmp`;
}

export function newTag(): string {
  return randomBytes(4).toString('hex');
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders and temp files left in `dir` by PruneScope processes that are gone. */
export function sweepStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, n), { recursive: true, force: true });
    swept.push(n);
  }
  return swept;
}

/** Removes this process's temps with `tag` from `dir` (a terminated worker thread shares our pid). */
export function removeTempsTagged(dir: string, tag: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (m && Number(m[1]) === process.pid && m[2] === tag) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
  }
}

/** Operating-system conditions of an output path, as one-line reasons (anything else is a bug). */
const FS_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EISDIR: 'is a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path is a file, not a folder',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
  ENOENT: 'the folder does not exist',
  ELOOP: 'too many levels of symbolic links',
};

/** Runs a write step; a known file-system condition becomes a CheckpointError naming `file`. */
export function writingTo<T>(file: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    const reason = FS_REASONS[(e as NodeJS.ErrnoException)?.code ?? ''];
    if (reason && (e as NodeJS.ErrnoException).syscall) throw new CheckpointError(file, `cannot write: ${reason}`);
    throw e;
  }
}

/** Why `out` cannot be an output file (checked before any work), or nothing. */
function checkOutputPath(out: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new CheckpointError(out, 'is a folder: give the output a file name');
  if (st && !st.isFile()) throw new CheckpointError(out, 'exists and is not a regular file');
  let dir = path.dirname(out);
  for (;;) {
    let d: fs.Stats | undefined;
    try {
      d = fs.statSync(dir);
    } catch {
      d = undefined;
    }
    if (d) {
      if (!d.isDirectory()) throw new CheckpointError(out, `cannot write: ${dir} is a file, not a folder`);
      return;
    }
    const up = path.dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/** Lets pending signal handlers run, then throws Cancelled if `signal` was raised. */
export async function yieldToSignals(signal?: AbortSignal): Promise<void> {
  await new Promise((r) => setImmediate(r));
  if (signal?.aborted) throw new Cancelled();
}

/**
 * Test hook: with PRUNESCOPE_TEST_PAUSE=<point>, a run stops at that point (staging folder made,
 * files staged, about to commit), says so on stderr and waits up to 60 s or until `signal`, so a
 * test can interrupt or kill it exactly there.
 */
export async function testPause(point: 'opened' | 'staged' | 'committing' | 'between-renames', signal?: AbortSignal): Promise<void> {
  if (process.env['PRUNESCOPE_TEST_PAUSE'] !== point) return;
  process.stderr.write(`prunescope: test pause at ${point}\n`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface OpenOptions {
  inputs: InputFiles;
  /** Replace existing outputs (never inputs). */
  force: boolean;
  /** Side files the writer will write next to the model, by their preferred names (e.g. `model.onnx.data`). */
  sideFiles?: string[];
  /** Staging tag (the extension passes one to find the folder again after terminating a worker). */
  tag?: string;
}

export class OutputTransaction {
  readonly dir: string;
  readonly staging: string;
  /** Final names (in `dir`) of the files written, in commit order; the model's is added last. */
  private readonly names: string[] = [];
  private readonly createdDirs: string[] = [];
  private readonly sideNames = new Map<string, string>();
  private replaced: string[] = [];
  private done = false;

  private constructor(
    readonly model: string,
    private readonly o: OpenOptions,
  ) {
    this.dir = path.dirname(model);
    const tag = o.tag ?? newTag();
    this.staging = path.join(this.dir, tempName(tag));
  }

  /** Checks every output against the inputs and the disk, then makes the staging folder. */
  static open(model: string, o: OpenOptions): OutputTransaction {
    const tx = new OutputTransaction(path.resolve(model), o);
    for (const f of [tx.model, ...(o.sideFiles ?? []).map((n) => path.join(tx.dir, n))]) tx.claim(f);
    tx.makeStaging();
    return tx;
  }

  /** Refuses `file` as an output if it is an input, or exists without --force. */
  private claim(file: string): void {
    checkOutputPath(file);
    const input = this.o.inputs.match(file);
    if (input) throw new CheckpointError(file, `refusing to write over ${input}: an input is never written over (--force does not change that)`);
    if (fs.existsSync(file) && !this.o.force) throw new CheckpointError(file, 'already exists (pass --force to replace it)');
  }

  private makeStaging(): void {
    writingTo(this.model, () => {
      let d = this.dir;
      const missing: string[] = [];
      while (!fs.existsSync(d)) {
        missing.unshift(d);
        d = path.dirname(d);
      }
      for (const m of missing) {
        fs.mkdirSync(m);
        this.createdDirs.unshift(m);
      }
      fs.mkdirSync(this.staging);
    });
    sweepStaleTemps(this.dir);
  }

  /**
   * The final name for a side file: `preferred` when it is free, else (it belongs to the model
   * being replaced, and --force was given) `<stem>.<tag><ext>`.
   */
  sideName(preferred: string): string {
    const chosen = this.sideNames.get(preferred);
    if (chosen) return chosen;
    const final = path.join(this.dir, preferred);
    this.claim(final);
    let name = preferred;
    if (fs.existsSync(final)) {
      const ext = path.extname(preferred);
      name = `${preferred.slice(0, preferred.length - ext.length)}.${newTag()}${ext}`;
    }
    this.names.push(name);
    this.sideNames.set(preferred, name);
    return name;
  }

  /** Where to write the file that will be called `name` (the model's base name or a sideName). */
  stagedPath(name: string): string {
    return path.join(this.staging, name);
  }

  /** The staged model file (write it here; verification can load it from here). */
  get stagedModel(): string {
    return this.stagedPath(path.basename(this.model));
  }

  /** Runs a write step; disk conditions (no space, read-only…) become a clear error. */
  write<T>(step: () => T): T {
    return writingTo(this.model, step);
  }

  /**
   * Side files of the model now at the output path, removed once the new model is in place (only
   * inside the output folder, never inputs, never files this transaction writes).
   */
  replaces(oldSideFiles: readonly string[]): void {
    const stem = `${path.basename(this.model)}.`;
    this.replaced = oldSideFiles.map((f) => path.resolve(f)).filter((f) => path.basename(f).startsWith(stem) || SHARD_NAME.test(path.basename(f)));
  }

  /** Moves the files into place, side files first and the model last. */
  async commit(signal?: AbortSignal): Promise<void> {
    await testPause('committing', signal);
    // One turn of the event loop, so that a SIGINT that arrived during the (synchronous) writing is
    // seen here and cancels instead of committing.
    await yieldToSignals(signal);
    this.renameSideFiles();
    await testPause('between-renames'); // a kill here must leave the previous model whole
    this.renameModel();
  }

  /** commit() without the last look at the signal (for synchronous writers of internal files). */
  commitNow(): void {
    this.renameSideFiles();
    this.renameModel();
  }

  private renameSideFiles(): void {
    this.write(() => {
      for (const n of this.names) fs.renameSync(this.stagedPath(n), path.join(this.dir, n));
    });
  }

  private renameModel(): void {
    const mine = new Set([...this.names, path.basename(this.model)].map((n) => path.join(this.dir, n)));
    this.write(() => fs.renameSync(this.stagedModel, this.model));
    this.done = true;
    for (const f of this.replaced) {
      if (path.dirname(f) !== this.dir || mine.has(f) || this.o.inputs.match(f)) continue;
      fs.rmSync(f, { force: true });
    }
    fs.rmSync(this.staging, { recursive: true, force: true });
  }

  /** Every final path of the committed model (model first). */
  get files(): string[] {
    return [this.model, ...this.names.map((n) => path.join(this.dir, n))];
  }

  /** Removes the staging folder (and the output folders this run created, if still empty). Idempotent. */
  dispose(): void {
    fs.rmSync(this.staging, { recursive: true, force: true });
    if (this.done) return;
    for (const d of this.createdDirs) {
      try {
        fs.rmdirSync(d);
      } catch {
        break; // not empty: something else is in it now
      }
    }
  }
}

/**
 * A writer's target: an open transaction (the caller commits), or a path, for which a
 * transaction is opened, written, committed and disposed here (inputs: `inputs`).
 */
export function writeTarget(target: OutputTransaction | string, o: { inputs: InputFiles; force?: boolean; sideFiles?: string[] }, write: (tx: OutputTransaction) => void): void {
  if (typeof target !== 'string') {
    write(target);
    return;
  }
  const tx = OutputTransaction.open(target, { inputs: o.inputs, force: o.force ?? false, ...(o.sideFiles ? { sideFiles: o.sideFiles } : {}) });
  try {
    write(tx);
    tx.commitNow();
  } finally {
    tx.dispose();
  }
}

/**
 * What every prune shares around its output: the files it reads and must never write, the side
 * files it writes, staging and verification before commit, and honest sizes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { type Checkpoint } from '../checkpoint.ts';
import { UserInputError } from '../errors.ts';
import { InputFiles } from '../io/inputFiles.ts';
import { testPause, yieldToSignals } from '../io/outputTransaction.ts';
import { TFJS_SHARD } from '../formats/tfjs/writeTfjs.ts';
import { openCheckpoint } from '../formats/openCheckpoint.ts';
import { type Verification, type VerifyOptions } from '../runtime/verifyOnnx.ts';
import type { PruneOptions, PruneReport } from './types.ts';

/**
 * Runs the verification on the staged model when asked, before anything is committed: the original
 * failing is reported as such (bad input), the pruned model failing is a bug (and nothing is written).
 */
export async function verifyStaged(on: VerifyOptions | null, run: (on: VerifyOptions) => Promise<Verification>, signal?: AbortSignal): Promise<Verification | null> {
  await staged(signal);
  return on ? await run(on) : null;
}

/** Every file is written to the staging folder: a cancel stops here, before verification and commit. */
export async function staged(signal?: AbortSignal): Promise<void> {
  await testPause('staged', signal);
  await yieldToSignals(signal);
}

/** Bytes of all the files of a model. */
export function totalSize(files: readonly string[]): number {
  return files.reduce((a, f) => a + fs.statSync(f).size, 0);
}

/** Gzipped bytes of the files, each compressed on its own (as a web server would send them). */
export async function gzipSize(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) {
    let n = 0;
    // pipeline() rejects on an error of any stage: a file that cannot be read fails the count.
    await pipeline(
      fs.createReadStream(file),
      // Stryker disable next-line ObjectLiteral: zlib's default level is 6; it is spelled out because the report names it
      zlib.createGzip({ level: 6 }),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          n += chunk.length;
          done();
        },
      }),
    );
    total += n;
  }
  return total;
}

/** Every file this run reads: the model's, --data, --labels, and what the caller adds (--plan). */
export function runInputs(ck: Checkpoint, o: PruneOptions): InputFiles {
  const inputs = new InputFiles().add(ck.file, 'the original model').addAll(ck.files.slice(1), `a file of the original model (${path.basename(ck.file)})`);
  // Stryker disable next-line ConditionalExpression: InputFiles.add ignores a path that names no file
  if (o.data) inputs.add(o.data, 'the --data input');
  // Stryker disable next-line ConditionalExpression: as above
  if (o.labels) inputs.add(o.labels, 'the --labels input');
  // Stryker disable next-line ArrayDeclaration: as above
  for (const f of o.inputFiles ?? []) inputs.add(f, `the input ${path.basename(f)}`);
  return inputs;
}

/** The side files a prune writes next to the model, by their preferred names. */
export function sideFilesOf(format: Checkpoint['format'], out: string, o: PruneOptions): string[] {
  if (format === 'tfjs-layers') return [TFJS_SHARD];
  if (format === 'onnx' && o.externalData === 'always') return [`${path.basename(out)}.data`];
  return [];
}

/** The side files of the model a forced prune replaces (removed once the new one is in place). */
export function filesOfExistingModel(out: string): string[] {
  // Stryker disable next-line ConditionalExpression: a shortcut: a missing file fails to open as a model below, with the same answer
  if (!fs.existsSync(out)) return [];
  try {
    const old = openCheckpoint(out);
    old.close();
    return old.files.slice(1);
  } catch (e) {
    if (e instanceof UserInputError) return []; // not a readable model: only the file itself is replaced
    throw e;
  }
}

/** The sizes of a prune whose output stores dense tensors (TF.js, safetensors): every file of both models counts. */
export async function denseOutputBytes(inputFiles: readonly string[], outputFiles: readonly string[]): Promise<PruneReport['bytes']> {
  const after = totalSize(outputFiles);
  return { before: totalSize(inputFiles), after, afterGzip: await gzipSize(outputFiles), afterSparse: after, afterSparseIsEstimate: true };
}

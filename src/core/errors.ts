/**
 * The errors PruneScope shows to users as they are. Everything else that escapes is a bug.
 *
 *   UserInputError   a bad model, data file, option or output path: one line, no stack trace.
 *     CheckpointError  … about one file, named first ("model.onnx: truncated: …").
 *     UsageError       … a bad command-line option or combination (the CLI exits 2, not 1).
 *   Cancelled        the user cancelled (SIGINT, the Cancel button): exit 130.
 *
 * Bad input is caught by explicit checks where it enters; a TypeError or RangeError is never
 * rewrapped as a UserInputError, because that would hide the bug that let it through.
 */
import * as path from 'node:path';

/** Longest message shown; longer ones (e.g. a reader quoting a huge corrupted string) are cut. */
const MAX_MESSAGE = 600;

/**
 * One printable line: control characters (newlines, ESC, NUL, C1 controls) and bidi overrides
 * taken from a file become spaces, runs of white space collapse, and very long text is cut.
 */
export function oneLine(text: string): string {
  let s = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ').replace(/ {2,}/g, ' ').trim();
  if (s.length > MAX_MESSAGE) s = `${s.slice(0, MAX_MESSAGE - 1)}…`;
  return s;
}

/** A string from a file, fit to quote inside a message: one line, at most `max` characters. */
export function quote(text: unknown, max = 80): string {
  const s = oneLine(String(text));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Bad input from the user: shown as its (one-line) message, exit code 1. */
export class UserInputError extends Error {
  override name = 'UserInputError';
  /** Marks the class for type narrowing (an Error with nothing extra would be structurally equal). */
  readonly userInput = true;
  constructor(message: string) {
    super(oneLine(message));
  }
}

/** Bad input in one file: the message starts with the file's name. */
export class CheckpointError extends UserInputError {
  override name = 'CheckpointError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${path.basename(file)}: ${problem}`);
  }
}

/** A bad option or combination of options (exit code 2). */
export class UsageError extends UserInputError {
  override name = 'UsageError';
}

/** The user cancelled the operation (exit code 130); nothing half-done is left behind. */
export class Cancelled extends Error {
  override name = 'Cancelled';
  constructor(message = 'cancelled') {
    super(message);
  }
}

export function isUserInputError(e: unknown): e is UserInputError {
  return e instanceof UserInputError;
}

/** @deprecated kept for the public core API: every CheckpointError is a UserInputError. */
export function isCheckpointError(e: unknown): e is CheckpointError {
  return e instanceof CheckpointError;
}

/** What a worker thread sends back when its job fails: the user's fault (message only) or a bug (stack too). */
export interface WorkerFailure {
  ok: false;
  message: string;
  badInput: boolean;
  cancelled?: boolean;
  stack?: string;
}

export function workerFailure(e: unknown): WorkerFailure {
  const err = e instanceof Error ? e : new Error(String(e));
  if (isUserInputError(err)) return { ok: false, message: err.message, badInput: true };
  if (err instanceof Cancelled) return { ok: false, message: err.message, badInput: false, cancelled: true };
  return { ok: false, message: oneLine(err.message), badInput: false, ...(err.stack ? { stack: err.stack } : {}) };
}

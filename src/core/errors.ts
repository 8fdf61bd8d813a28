import * as path from 'node:path';

/**
 * The one error type a reader throws for bad input. Its message is a single line that names the
 * file and the problem, suitable for showing to the user as is (no stack trace needed).
 */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${path.basename(file)}: ${problem}`);
  }
}

export function isCheckpointError(e: unknown): e is CheckpointError {
  return e instanceof CheckpointError;
}

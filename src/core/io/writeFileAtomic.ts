import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../errors.ts';
import type { InputFiles } from './inputFiles.ts';
import { newTag, sweepStaleTemps, tempName, writingTo } from './outputTransaction.ts';

/**
 * Writes `content` to `target` through a temporary file in the same folder and a rename, so a
 * reader never sees a half-written file and a failure leaves nothing behind. Refuses a target
 * that is one of `inputs`, a folder, or not a regular file.
 */
export function writeFileAtomic(target: string, content: string | Uint8Array, inputs?: InputFiles): void {
  const out = path.resolve(target);
  const input = inputs?.match(out);
  if (input) throw new CheckpointError(out, `refusing to write over ${input}: an input is never written over`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new CheckpointError(out, 'is a folder: give the output a file name');
  if (st && !st.isFile()) throw new CheckpointError(out, 'exists and is not a regular file');
  const dir = path.dirname(out);
  const tmp = path.join(dir, tempName(newTag(), path.basename(out)));
  writingTo(out, () => {
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.writeFileSync(tmp, content);
      fs.renameSync(tmp, out);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  });
  sweepStaleTemps(dir);
}

/**
 * JSON.parse for text from files: nesting is bounded first (JSON.parse recurses, and a header of
 * 100,000 nested brackets overflows the stack), and every failure is a CheckpointError naming the file.
 */
import { CheckpointError } from '../errors.ts';

/** Deeper than any model manifest, plan or header PruneScope reads. */
export const MAX_JSON_DEPTH = 200;

/** The deepest bracket nesting of `text` (outside strings), stopping once it passes `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return max;
}

/** Parses `text` read from `file`; `what` says what it should be ("a TF.js model.json", "the safetensors header"). */
export function parseJsonFile(file: string, text: string, what: string): unknown {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new CheckpointError(file, `${what} nests deeper than ${MAX_JSON_DEPTH} levels; not a valid file of this kind`);
  try {
    return JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) throw new CheckpointError(file, `${what} is not valid JSON (${e.message})`);
    throw e;
  }
}

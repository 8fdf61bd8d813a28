/** Where a pruned model goes by default, and which targets are refused (pure: no vscode import). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckpointFormat } from '../core/checkpoint.ts';

/**
 * Next to the original: `<stem>.<suffix>.onnx` / `.safetensors` (suffix e.g. `pruned-node`, `gated`).
 * A TF.js model.json gets a sibling folder (`<folder>-<suffix>/model.json`), because its weight
 * shards are written next to it.
 */
export function defaultExportPath(input: string, format: CheckpointFormat, suffix: string): string {
  const dir = path.dirname(input);
  if (format === 'tfjs-layers' || format === 'tfjs-graph') return path.join(`${dir}-${suffix}`, path.basename(input));
  const ext = path.extname(input);
  return path.join(dir, `${path.basename(input, ext)}.${suffix}${ext}`);
}

/** The suggested export re-rooted in `folder` (the e2e test hook): its file name, and for TF.js its folder too. */
export function exportPathIn(folder: string, suggested: string, format: CheckpointFormat): string {
  const tfjs = format === 'tfjs-layers' || format === 'tfjs-graph';
  return tfjs ? path.join(folder, path.basename(path.dirname(suggested)), path.basename(suggested)) : path.join(folder, path.basename(suggested));
}

/** Why `output` may not receive the pruned model of `input`, or null. */
export function refuseExportTarget(input: string, output: string, format: CheckpointFormat): string | null {
  const real = (p: string) => (fs.existsSync(p) ? fs.realpathSync(p) : path.resolve(p));
  if (real(input) === real(output)) return 'the pruned model is never written over the original: choose another file';
  if ((format === 'tfjs-layers' || format === 'tfjs-graph') && real(path.dirname(input)) === real(path.dirname(output))) {
    return "a TF.js model's weight shards are written next to its model.json: choose a folder other than the original's";
  }
  const want = format === 'onnx' ? '.onnx' : format === 'safetensors' ? '.safetensors' : '.json';
  if (!output.toLowerCase().endsWith(want)) return `the output of a ${format} model must be a ${want} file`;
  return null;
}

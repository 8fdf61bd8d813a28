/** Where a pruned model goes by default, and which targets are refused (pure: no vscode import). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CheckpointFormat } from '../core/checkpoint.ts';

/**
 * Next to the original: `<stem>.pruned-<method>.onnx` / `.safetensors`. A TF.js model.json gets a
 * sibling folder (`<folder>-pruned-<method>/model.json`), because its weight shards are written next to it.
 */
export function defaultPrunedPath(input: string, format: CheckpointFormat, method: string): string {
  const dir = path.dirname(input);
  if (format === 'tfjs-layers' || format === 'tfjs-graph') return path.join(`${dir}-pruned-${method}`, path.basename(input));
  const ext = path.extname(input);
  return path.join(dir, `${path.basename(input, ext)}.pruned-${method}${ext}`);
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

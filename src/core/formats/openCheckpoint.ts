import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../checkpoint.ts';
import { CheckpointError } from '../errors.ts';
import { describeFsError } from '../io/byteSource.ts';
import { readOnnx } from './onnx/readOnnx.ts';
import { readSafetensors, readSafetensorsIndex } from './safetensors/readSafetensors.ts';
import { readTfjs } from './tfjs/readTfjs.ts';

export const SUPPORTED_INPUTS = '.onnx, TF.js model.json, .safetensors or .safetensors.index.json';

/** Opens a checkpoint with the reader its file name calls for. */
export function openCheckpoint(file: string): Checkpoint {
  const abs = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch (e) {
    throw new CheckpointError(abs, describeFsError(e));
  }
  if (stat.isDirectory()) throw new CheckpointError(abs, `is a folder; pass the model file (${SUPPORTED_INPUTS})`);
  const name = path.basename(abs).toLowerCase();
  if (name.endsWith('.onnx')) return readOnnx(abs);
  if (name.endsWith('.safetensors.index.json')) return readSafetensorsIndex(abs);
  if (name.endsWith('.safetensors')) return readSafetensors(abs);
  if (name.endsWith('.json')) return readTfjs(abs);
  throw new CheckpointError(abs, `unsupported file type '${path.extname(name) || name}': expected ${SUPPORTED_INPUTS}`);
}

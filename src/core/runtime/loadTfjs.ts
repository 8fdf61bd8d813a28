import * as fs from 'node:fs';
import * as path from 'node:path';

type Tf = typeof import('@tensorflow/tfjs');

export interface TfjsRuntime {
  tf: Tf;
  /** 'tensorflow' (tfjs-node, native libtensorflow) or 'wasm'. */
  backend: string;
}

let loading: Promise<TfjsRuntime> | undefined;

/**
 * Loads TensorFlow.js once: @tensorflow/tfjs-node when it is installed (an optional dependency
 * whose libtensorflow download may have failed), otherwise @tensorflow/tfjs with the WebAssembly
 * backend, which is 30–50× faster than the pure-JS CPU backend for matmul.
 * `PRUNESCOPE_TFJS_BACKEND=wasm` forces the fallback (tests use it to cover both paths).
 */
export function loadTfjs(): Promise<TfjsRuntime> {
  loading ??= load();
  return loading;
}

async function load(): Promise<TfjsRuntime> {
  if (process.env['PRUNESCOPE_TFJS_BACKEND'] !== 'wasm') {
    try {
      const tf = require('@tensorflow/tfjs-node') as Tf;
      await tf.ready();
      return { tf, backend: tf.getBackend() };
    } catch {
      // not installed, or its native library is missing: fall back to wasm
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js wasm backend could not start');
  await tf.ready();
  return { tf, backend: tf.getBackend() };
}

/** A layers-model from its model.json and shards, loaded from memory (no file:// handler needed). */
export async function loadLayersModelFile(tf: Tf, file: string) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const groups = json.weightsManifest as Array<{ paths: string[]; weights: unknown[] }>;
  const parts = groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(path.dirname(file), p))));
  const data = Buffer.concat(parts);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: groups.flatMap((g) => g.weights) as never,
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    }),
  );
}

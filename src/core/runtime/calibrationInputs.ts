/**
 * Calibration inputs for spectral pruning and activation spectra: a .npy file, a folder of .npy
 * files (concatenated along the sample axis, in name order), or a folder of PNG/JPEG images
 * decoded, resized (bilinear) and normalised ((x/255 − mean)/std per channel) as declared.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { CheckpointError } from '../errors.ts';
import { type NpyArray, readNpy } from '../formats/npy.ts';
import { checkSamples } from '../formats/samples.ts';
import { readRegularFile } from '../io/byteSource.ts';

export interface ImageInputOptions {
  height: number;
  width: number;
  /** Per channel (RGB), applied after scaling to [0, 1]. Defaults 0 and 1. */
  mean?: [number, number, number];
  std?: [number, number, number];
  /** Tensor layout of the model's input: NCHW (PyTorch / ONNX, default) or NHWC (TF). */
  layout?: 'nchw' | 'nhwc';
}

const IMAGE = /\.(png|jpe?g)$/i;

/**
 * The first `samples` calibration samples from `source` (a .npy file or a folder): at least one
 * sample, all finite (checked here, where the data enters).
 */
export function readCalibration(source: string, samples: number, image?: ImageInputOptions, flag = '--data'): NpyArray {
  return checkSamples(readSamples(source, samples, image), flag);
}

function readSamples(source: string, samples: number, image?: ImageInputOptions): NpyArray {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch {
    throw new CheckpointError(source, 'calibration data not found');
  }
  if (!stat.isFile() && !stat.isDirectory()) throw new CheckpointError(source, 'is not a regular file or a folder (a FIFO, socket or device)');
  if (stat.isFile()) return firstRows(readNpy(source), samples);
  const names = fs.readdirSync(source).sort();
  const npys = names.filter((n) => n.toLowerCase().endsWith('.npy'));
  const images = names.filter((n) => IMAGE.test(n));
  if (npys.length && images.length) throw new CheckpointError(source, 'holds both .npy files and images: keep one kind of calibration data per folder');
  if (npys.length) return concatNpy(source, npys, samples);
  if (images.length) {
    if (!image) throw new CheckpointError(source, 'is a folder of images: give their input size (--image-size HxW, and --mean/--std if the model expects normalised inputs)');
    return readImages(source, images.slice(0, samples), image);
  }
  throw new CheckpointError(source, 'holds no .npy files and no PNG/JPEG images');
}

function firstRows(x: NpyArray, n: number): NpyArray {
  if (x.shape.length === 0) throw new CheckpointError(x.file, 'must be an array of samples (sample axis first), not a scalar');
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = Math.min(n, x.shape[0]!);
  return { ...x, shape: [rows, ...x.shape.slice(1)], values: x.values.subarray(0, rows * per) };
}

function concatNpy(dir: string, names: string[], samples: number): NpyArray {
  const parts: NpyArray[] = [];
  let rows = 0;
  for (const n of names) {
    if (rows >= samples) break;
    const x = firstRows(readNpy(path.join(dir, n)), samples - rows);
    if (parts.length && x.shape.slice(1).join(',') !== parts[0]!.shape.slice(1).join(',')) {
      throw new CheckpointError(path.join(dir, n), `has samples of shape (${x.shape.slice(1).join(', ')}), but ${names[0]} has (${parts[0]!.shape.slice(1).join(', ')})`);
    }
    parts.push(x);
    rows += x.shape[0]!;
  }
  const per = parts[0]!.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = new Float32Array(rows * per);
  let o = 0;
  for (const p of parts) {
    values.set(p.values, o);
    o += p.values.length;
  }
  return { file: dir, dtype: 'float32', shape: [rows, ...parts[0]!.shape.slice(1)], values };
}

/** RGBA pixels of a PNG or JPEG file. */
function decode(file: string): { width: number; height: number; data: Uint8Array } {
  const bytes = readRegularFile(file, 1 << 30);
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: j.width, height: j.height, data: j.data };
  } catch (e) {
    throw new CheckpointError(file, `is not a readable image (${(e as Error).message})`);
  }
}

/** Bilinear sample of channel c at (y, x) in source pixel coordinates (align_corners = false). */
function bilinear(img: { width: number; height: number; data: Uint8Array }, c: number, y: number, x: number): number {
  const y0 = Math.max(0, Math.min(img.height - 1, Math.floor(y)));
  const x0 = Math.max(0, Math.min(img.width - 1, Math.floor(x)));
  const y1 = Math.min(img.height - 1, y0 + 1);
  const x1 = Math.min(img.width - 1, x0 + 1);
  const fy = Math.max(0, Math.min(1, y - y0));
  const fx = Math.max(0, Math.min(1, x - x0));
  const at = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 4 + c]!;
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

function readImages(dir: string, names: string[], o: ImageInputOptions): NpyArray {
  const { height: h, width: w } = o;
  const mean = o.mean ?? [0, 0, 0];
  const std = o.std ?? [1, 1, 1];
  const nhwc = o.layout === 'nhwc';
  const values = new Float32Array(names.length * 3 * h * w);
  names.forEach((n, i) => {
    const img = decode(path.join(dir, n));
    const sy = img.height / h;
    const sx = img.width / w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < 3; c++) {
          const v = (bilinear(img, c, (y + 0.5) * sy - 0.5, (x + 0.5) * sx - 0.5) / 255 - mean[c]!) / std[c]!;
          values[nhwc ? ((i * h + y) * w + x) * 3 + c : ((i * 3 + c) * h + y) * w + x] = v;
        }
      }
    }
  });
  return { file: dir, dtype: 'float32', shape: nhwc ? [names.length, h, w, 3] : [names.length, 3, h, w], values };
}

/**
 * A Conv2D whose gradients every tfjs backend can compute. tfjs' wasm backend has no
 * Conv2DBackpropFilter kernel, so there the convolution is written as im2col (slices of the input,
 * concatenated along channels) times the kernel reshaped to (kh·kw·in) × out: slice, concat,
 * reshape and matMul all have wasm gradients. Backends with the kernel (tensorflow, cpu) use
 * tf.conv2d. Input NHWC, kernel HWIO; explicit zero pads (top, left, bottom, right).
 */
import type * as TF from '@tensorflow/tfjs';

export interface ConvGeometry {
  kernelSize: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
}

/** True when the active backend can differentiate tf.conv2d with respect to its filter. */
export function hasConvFilterGradient(tf: typeof TF): boolean {
  return tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
}

export function trainableConv2d(tf: typeof TF, x: TF.Tensor4D, kernel: TF.Tensor4D, g: ConvGeometry, useIm2col = !hasConvFilterGradient(tf)): TF.Tensor4D {
  const [top, left, bottom, right] = g.pads;
  const padded = top || left || bottom || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
  if (!useIm2col) return tf.conv2d(padded, kernel, g.strides, 'valid');
  return im2colConv2d(tf, padded, kernel, g.kernelSize, g.strides);
}

function im2colConv2d(tf: typeof TF, x: TF.Tensor4D, kernel: TF.Tensor4D, [kh, kw]: [number, number], [sh, sw]: [number, number]): TF.Tensor4D {
  const [b, h, w, c] = x.shape;
  const oh = Math.floor((h - kh) / sh) + 1;
  const ow = Math.floor((w - kw) / sw) + 1;
  const filters = kernel.shape[3];
  // With strides, each window position takes a (sh·oh) × (sw·ow) block and keeps its every sh-th row
  // and sw-th column; the block may run up to stride − 1 cells past the input, so pad those.
  const src = sh > 1 || sw > 1 ? tf.pad(x, [[0, 0], [0, sh - 1], [0, sw - 1], [0, 0]]) : x;
  const columns: TF.Tensor4D[] = [];
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++) {
      if (sh === 1 && sw === 1) {
        columns.push(tf.slice(src, [0, ky, kx, 0], [b, oh, ow, c]));
        continue;
      }
      const block = tf.reshape(tf.slice(src, [0, ky, kx, 0], [b, sh * oh, sw * ow, c]), [b, oh, sh, ow, sw, c]);
      columns.push(tf.reshape(tf.slice(block, [0, 0, 0, 0, 0, 0], [b, oh, 1, ow, 1, c]), [b, oh, ow, c]));
    }
  const patches = columns.length === 1 ? columns[0]! : tf.concat(columns, 3);
  const out = tf.matMul(tf.reshape(patches, [b * oh * ow, kh * kw * c]), tf.reshape(kernel, [kh * kw * c, filters]));
  return tf.reshape(out, [b, oh, ow, filters]);
}

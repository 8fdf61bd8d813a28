/**
 * A histogram of a layer's weights: `bins` equal-width bins over [min, max], numpy's convention
 * (every bin half-open except the last, which includes max).
 */
export interface WeightHistogram {
  min: number;
  max: number;
  counts: number[];
}

export function weightHistogram(values: ArrayLike<number>, min: number, max: number, bins = 64): WeightHistogram {
  const counts = new Array<number>(bins).fill(0);
  const width = max - min;
  if (!(width > 0)) {
    counts[0] = values.length;
    return { min, max, counts };
  }
  const scale = bins / width;
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor((values[i]! - min) * scale);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: values ≥ min give b ≥ 0; the clamp only guards rounding, and b = 0 maps to 0 either way
    counts[b >= bins ? bins - 1 : b < 0 ? 0 : b]!++;
  }
  return { min, max, counts };
}

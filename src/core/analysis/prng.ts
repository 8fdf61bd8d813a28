/**
 * Seeded randomness for reproducible estimates (heavy-tails.md §6): mulberry32 exactly as the common
 * JS one-liner, uniforms on the open interval, Fisher–Yates shuffles and a Chambers–Mallows–Stuck
 * symmetric α-stable sampler.
 */
export class Mulberry32 {
  private a: number;

  /** A generator in the same state (it will produce the same sequence). */
  clone(): Mulberry32 {
    const c = new Mulberry32(0);
    c.a = this.a;
    return c;
  }

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  nextU32(): number {
    this.a = (this.a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform on (0, 1): (u32 + 0.5) / 2^32. */
  uniformOpen(): number {
    return (this.nextU32() + 0.5) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniformOpen() * n);
  }
}

/**
 * In-place Fisher–Yates shuffle. Shuffling values directly makes the same swaps as shuffling an
 * index array and gathering, without the index array.
 */
export function shuffle<T extends Uint32Array | Float64Array>(a: T, rng: Mulberry32): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/**
 * Writes a uniformly random permutation of `src` into `dst` (Rao–Sandelius): every value gets a
 * random bucket, values are scattered bucket by bucket, then each bucket (small enough for the
 * cache) is Fisher–Yates shuffled. Uniform, like a plain Fisher–Yates, but with sequential
 * memory traffic instead of one cache miss per swap on large arrays.
 */
export function shuffleInto(src: Float64Array, dst: Float64Array, rng: Mulberry32): Float64Array {
  const n = src.length;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: both paths draw a uniform permutation; only the memory traffic differs
  if (n <= 1 << 16) {
    dst.set(src);
    return shuffle(dst, rng);
  }
  let bits = 1;
  // Stryker disable next-line all: the bucket count sets the speed; any count from 2 to 2¹⁶ gives a uniform permutation
  while (n >> bits > 1 << 14 && bits < 16) bits++;
  const buckets = 1 << bits;
  const shift = 32 - bits;
  const offsets = new Uint32Array(buckets + 1);
  const first = rng.clone();
  for (let i = 0; i < n; i++) offsets[(first.nextU32() >>> shift) + 1]++;
  // Stryker disable next-line EqualityOperator: offsets[buckets + 1] is past the end and dropped
  for (let b = 0; b < buckets; b++) offsets[b + 1] += offsets[b]!;
  const cursor = offsets.slice(0, buckets);
  for (let i = 0; i < n; i++) dst[cursor[rng.nextU32() >>> shift]!++] = src[i]!;
  // Stryker disable next-line EqualityOperator: bucket `buckets` is the empty subarray from n
  for (let b = 0; b < buckets; b++) shuffle(dst.subarray(offsets[b]!, offsets[b + 1]!), rng);
  return dst;
}

/** Chunks read together by interleavedPermutationInto: 1024 open cache lines and pages fit the L2 cache and TLB. */
const INTERLEAVE_CHUNKS = 256;
/** Output rows (one value of every chunk) written together: 64 × 256 values = 128 KB, in the L2 cache. */
const BAND_ROWS = 64;

/**
 * Writes a cheap pseudo-random permutation of `src` into `dst` (robust mode's bijective permutation
 * for large samples, issue 15): `src` is cut into G = 1024 contiguous chunks, each read cyclically
 * from a uniform start, and `dst` takes one value from every chunk in turn, the chunks in a uniform
 * order. G + G draws instead of three per value, and G sequential read streams instead of one cache
 * miss per value. A block of K ≤ G consecutive samples thus holds K values from K different chunks
 * (parts of the matrix N/G values long) at unrelated offsets; a longer block takes ⌈K/G⌉ neighbours
 * from each chunk (a uniform permutation also repeats rows there: K samples of R rows meet about
 * R·(1 − e^(−K/R)) distinct rows). With `runningSpan` (a power of two), `dst` receives the
 * permuted values' running sums instead, restarting every `runningSpan` outputs (what the MMO
 * block sums read), which saves a pass.
 */
export function interleavedPermutationInto(src: Float64Array, dst: Float64Array, rng: Mulberry32, runningSpan = 0): Float64Array {
  const n = src.length;
  const length = Math.ceil(n / Math.min(INTERLEAVE_CHUNKS, n)); // values per chunk; only the last may be shorter
  const chunks = Math.ceil(n / length);
  const order = permutation(chunks, rng);
  const base = new Int32Array(chunks);
  const cursor = new Int32Array(chunks); // offset of the next value to take, within the chunk
  const size = new Int32Array(chunks);
  for (let i = 0; i < chunks; i++) {
    const g = order[i]!;
    base[i] = g * length;
    size[i] = Math.min(length, n - g * length);
    cursor[i] = rng.below(size[i]!);
  }
  // Output t = j·chunks + i is chunk i's j-th value while every chunk still has values (only the
  // last group, wherever the order put it, may be shorter). Those rows are written a band of
  // BAND_ROWS at a time, chunk by chunk: each chunk's values are read sequentially and written at a
  // stride of `chunks` into a band that stays in the L2 cache (3× faster than one value from every
  // chunk in turn, which reloads five cursors per value). The values are the same.
  let short = -1;
  // Stryker disable next-line EqualityOperator: size[chunks] is past the end (undefined < length is false)
  for (let i = 0; i < chunks; i++) if (size[i]! < length) short = i;
  const fullRows = short < 0 ? length : size[short]!;
  const mask = runningSpan - 1;
  let acc = 0;
  for (let j0 = 0; j0 < fullRows; j0 += BAND_ROWS) {
    const j1 = Math.min(fullRows, j0 + BAND_ROWS);
    for (let i = 0; i < chunks; i++) {
      const s = size[i]!;
      const b = base[i]!;
      let c = cursor[i]!;
      let o = j0 * chunks + i;
      for (let j = j0; j < j1; ) {
        // up to the band's end or the chunk's end, where the cyclic read wraps to its start
        const run = Math.min(j1 - j, s - c);
        const e = b + c + run;
        for (let q = b + c; q < e; q++, o += chunks) dst[o] = src[q]!;
        j += run;
        c += run;
        if (c === s) c = 0;
      }
      cursor[i] = c;
    }
    if (runningSpan > 0) {
      // The running sums of the permuted values instead, restarting every `runningSpan` (a power of two) outputs.
      const e = j1 * chunks;
      for (let u = j0 * chunks; u < e; u++) {
        acc += dst[u]!;
        dst[u] = acc;
        if (((u + 1) & mask) === 0) acc = 0;
      }
    }
  }
  // The rows past the short chunk's end: every other chunk in turn.
  let t = fullRows * chunks;
  for (let j = fullRows; j < length; j++) {
    for (let i = 0; i < chunks; i++) {
      if (i === short) continue;
      let c = cursor[i]!;
      const v = src[base[i]! + c]!;
      if (runningSpan > 0) {
        acc += v;
        dst[t++] = acc;
        if ((t & mask) === 0) acc = 0;
      } else dst[t++] = v;
      c++;
      cursor[i] = c === size[i]! ? 0 : c;
    }
  }
  return dst;
}

/** A random permutation of 0..n−1. */
export function permutation(n: number, rng: Mulberry32): Uint32Array {
  const p = new Uint32Array(n);
  // Stryker disable next-line EqualityOperator: p[n] is past the end and dropped
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffle(p, rng);
}

/** n draws of SαS(α, scale 1) by Chambers–Mallows–Stuck, two uniforms per draw (U1 then U2). */
export function sasSamples(alpha: number, n: number, seed: number): Float64Array {
  const g = new Mulberry32(seed);
  const out = new Float64Array(n);
  // Stryker disable next-line EqualityOperator: out[n] is past the end and dropped
  for (let i = 0; i < n; i++) {
    const v = Math.PI * (g.uniformOpen() - 0.5);
    const w = -Math.log(g.uniformOpen());
    out[i] =
      // Stryker disable next-line ConditionalExpression: at α = 1 the general formula is sin v / cos v · 1 = tan v (to an ulp)
      alpha === 1
        ? Math.tan(v)
        : (Math.sin(alpha * v) / Math.cos(v) ** (1 / alpha)) * (Math.cos((1 - alpha) * v) / w) ** ((1 - alpha) / alpha);
  }
  return out;
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-layer seeds from one run seed. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

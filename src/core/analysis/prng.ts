/**
 * Seeded randomness for reproducible estimates (heavy-tails.md §6): mulberry32 exactly as the common
 * JS one-liner, uniforms on the open interval, Fisher–Yates shuffles and a Chambers–Mallows–Stuck
 * symmetric α-stable sampler.
 */
export class Mulberry32 {
  private a: number;
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

/** In-place Fisher–Yates shuffle of `a`. */
export function shuffle(a: Uint32Array, rng: Mulberry32): Uint32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** A random permutation of 0..n−1. */
export function permutation(n: number, rng: Mulberry32): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffle(p, rng);
}

/** n draws of SαS(α, scale 1) by Chambers–Mallows–Stuck, two uniforms per draw (U1 then U2). */
export function sasSamples(alpha: number, n: number, seed: number): Float64Array {
  const g = new Mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.PI * (g.uniformOpen() - 0.5);
    const w = -Math.log(g.uniformOpen());
    out[i] =
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

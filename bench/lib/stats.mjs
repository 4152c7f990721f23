/** Small numeric helpers shared by the benchmarks. */

export function median(xs) {
  return percentile(xs, 50);
}

/** Nearest-rank percentile of an unsorted array (copied, not mutated). */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/** Deterministic PRNG (mulberry32), so every store sees the same access order. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled 0..n-1 (Fisher–Yates with a seeded PRNG). */
export function permutation(n, seed) {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rnd = prng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** 1234567.8 → "1,234,568"; small numbers keep `digits` decimals. */
export function fmt(x, digits = 0) {
  if (x === undefined || x === null || Number.isNaN(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Rate in operations per second, rounded to three significant figures for readability. */
export function fmtRate(perSec) {
  if (!Number.isFinite(perSec)) return 'n/a';
  const mag = 10 ** Math.max(0, Math.floor(Math.log10(perSec)) - 2);
  return fmt(Math.round(perSec / mag) * mag);
}

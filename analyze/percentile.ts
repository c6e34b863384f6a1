// The one percentile definition every figure uses. A module of its own because stats and the
// GPU activity pass need each other's exports otherwise (an import cycle that breaks whichever
// of the two a program happens to load first).

/** Nearest-rank percentile of sorted values: sorted[ceil(p·n) − 1]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!;
}

// Binary searches over values in ascending order, shared by the bundle's idAtTime and the
// analyzer's in-memory copy of it, so that both give the same answer by construction.

/** The first i in [lo, hi) with valueAt(i) ≥ v, or hi when there is none; valueAt must not decrease. */
export function firstAtLeast(lo: number, hi: number, v: number, valueAt: (i: number) => number): number {
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (valueAt(mid) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first position in sorted whose value is ≥ v (sorted.length when none). */
export function lowerBound(sorted: ArrayLike<number>, v: number): number {
  return firstAtLeast(0, sorted.length, v, (i) => sorted[i]!);
}

/**
 * The smallest event id in [1, maxId] whose start time is ≥ ns (maxId + 1 when none), where ids
 * are dense from 1 and in start-time order. steps[k] holds the start time of id 1 + k·step, so the
 * search narrows to one step in memory and reads only the start times of the ids inside it.
 */
export function idAtTimeBySteps(ns: number, maxId: number, step: number, steps: ArrayLike<number>, startOf: (id: number) => number): number {
  if (maxId === 0) return 1;
  // The last step starting before ns bounds the answer from below; the next one from above.
  const a = lowerBound(steps, ns);
  const lo = a === 0 ? 1 : 1 + (a - 1) * step + 1;
  const hi = a === steps.length ? maxId + 1 : 1 + a * step;
  return firstAtLeast(lo, hi, ns, startOf);
}

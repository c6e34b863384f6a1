// Human units for terminal output.

export function formatDuration(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1e3) return `${ns} ns`;
  if (a < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (a < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  if (a < 60e9) return `${(ns / 1e9).toFixed(2)} s`;
  // Rounded to whole seconds first: 119.7 s is "2 min 0 s", never "1 min 60 s".
  const s = Math.round(ns / 1e9);
  return `${Math.trunc(s / 60)} min ${Math.abs(s % 60)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** ISO-8601 UTC with nanoseconds, from unix ns. */
export function formatUnixNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

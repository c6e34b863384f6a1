// Human units for terminal output, and the grammar that reads them back: 500ms, 30s, 5m, 1h, 250us,
// a bare number of seconds, and what ingero's own outputs print ("13.37 s", "1 min 35 s",
// "73.2 µs"). Every front end (cli, tui, mcp) shares these, so they live below all of them.

/** A duration (or a time on the bundle clock) in the unit that suits it, rounded to nearest. */
export function formatDuration(ns: number): string {
  return durationText(ns, Math.round);
}

/** formatDuration with the last printed digit reached by round (formatWindow rounds outward). */
function durationText(ns: number, round: (x: number) => number): string {
  const a = Math.abs(ns);
  const at = (unit: number, digits: number) => (round((ns / unit) * 10 ** digits) / 10 ** digits).toFixed(digits);
  if (a < 1e3) return `${round(ns)} ns`;
  if (a < 1e6) return `${at(1e3, 1)} µs`;
  if (a < 1e9) return `${at(1e6, 1)} ms`;
  if (a < 60e9) return `${at(1e9, 2)} s`;
  // Rounded to whole seconds first: 119.7 s is "2 min 0 s", never "1 min 60 s".
  const s = round(ns / 1e9);
  return `${Math.trunc(s / 60)} min ${Math.abs(s % 60)} s`;
}

/**
 * A window on the bundle clock, "13.36 s → 13.40 s", its start rounded down and its end up at
 * the printed precision: pasted into export --from/--to, it holds everything the window does.
 */
export function formatWindow(fromNs: number, toNs: number | null): string {
  if (toNs === null) return `${durationText(fromNs, Math.floor)} on`;
  return `${durationText(fromNs, Math.floor)} → ${durationText(toNs, Math.ceil)}`;
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

const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1_000n, µs: 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, min: 60_000_000_000n, h: 3_600_000_000_000n };
const PART = /(\d+)(?:\.(\d+))?\s*(ns|us|µs|ms|min|s|m|h)?/y;

/** The duration's nanoseconds (rounded toward zero below 1 ns), or null when the text is not one. */
export function durationNs(text: string): bigint | null {
  const s = text.trim();
  let at = 0;
  let total = 0n;
  let parts = 0;
  let unitless = false;
  while (at < s.length) {
    PART.lastIndex = at;
    const m = PART.exec(s);
    if (!m) return null;
    unitless ||= m[3] === undefined;
    const unit = UNIT_NS[m[3] ?? 's']!;
    const frac = m[2] ?? '';
    total += BigInt(m[1]!) * unit + (BigInt(frac || '0') * unit) / 10n ** BigInt(frac.length);
    parts++;
    at = PART.lastIndex;
    while (s[at] === ' ') at++;
  }
  // "1 min 35 s" adds up; "1 35" is no duration.
  if (parts === 0 || (unitless && parts > 1)) return null;
  return total;
}

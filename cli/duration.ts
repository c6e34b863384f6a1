// Durations and times on the command line, in one grammar: 500ms, 30s, 5m, 1h, 250us, a bare
// number of seconds, and what ingero's own outputs print ("13.37 s", "1 min 35 s", "73.2 µs"),
// so that a time can be copied from explain into export. Exact: integer nanoseconds (bigint).
//
// A time (--from, --to) is a point on the bundle clock: nanoseconds since the bundle's origin
// (metadata clock.origin_unix_ns), the clock of ts_ns in SQL and of every time ingero prints.
import { UsageError } from './run-action.ts';

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

const EXAMPLES = 'like 500ms, 30s, 5m, 1h or 13.37 s';

/** A duration option (record --duration) in milliseconds; it must be longer than zero. */
export function parseDurationMs(option: string, text: string): number {
  const ns = durationNs(text);
  if (ns === null) throw new UsageError(`${option} takes a duration ${EXAMPLES}, got ${JSON.stringify(text)}`);
  if (ns <= 0n) throw new UsageError(`${option} must be longer than zero`);
  return Number(ns) / 1e6;
}

/** Help text of a --from/--to option: what the number means. */
export const CLOCK_HELP = 'on the bundle clock: time since the bundle origin, as explain and info print it (ts_ns in SQL)';

/** A time on the bundle clock (--from, --to), in ns since the origin. */
export function parseClockNs(option: string, text: string): number {
  const ns = durationNs(text);
  if (ns === null) throw new UsageError(`${option} takes a time on the bundle clock ${EXAMPLES} (as explain prints its "When"), got ${JSON.stringify(text)}`);
  return Number(ns);
}

export interface TimeWindow {
  readonly fromNs?: number;
  readonly toNs?: number;
}

/** --from/--to as a window on the bundle clock; --to must come after --from. */
export function parseTimeWindow(from: string | undefined, to: string | undefined): TimeWindow {
  const fromNs = from === undefined ? undefined : parseClockNs('--from', from);
  const toNs = to === undefined ? undefined : parseClockNs('--to', to);
  if (fromNs !== undefined && toNs !== undefined && toNs <= fromNs) throw new UsageError(`--to must be later than --from (both are times on the bundle clock, got ${from} → ${to})`);
  return { fromNs, toNs };
}

// Durations and times as command-line options, read with durationNs (analyze/format-units.ts),
// so that a time can be copied from explain into export.
//
// A time (--from, --to) is a point on the bundle clock: nanoseconds since the bundle's origin
// (metadata clock.origin_unix_ns), the clock of ts_ns in SQL and of every time ingero prints.
import { durationNs } from '../analyze/format-units.ts';
import { UsageError } from './run-action.ts';

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

/** --pid values (repeatable, comma-separated) as distinct process ids; export, explain and stats share it. */
export function parsePids(values: readonly string[] | undefined): number[] | undefined {
  if (values === undefined) return undefined;
  const pids = values.flatMap((v) => v.split(',')).map((p) => p.trim());
  for (const p of pids) if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) throw new UsageError(`--pid takes process ids like 4711 or 4711,4712, got ${JSON.stringify(p)}`);
  return [...new Set(pids.map(Number))];
}

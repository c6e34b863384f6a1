// Durations on the command line: 500ms, 30s, 5m, 1h, or a bare number of seconds.
import { UsageError } from './run-action.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} takes a duration like 500ms, 30s, 5m or 1h, got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  if (!(ms > 0)) throw new UsageError(`${option} must be longer than zero`);
  return ms;
}

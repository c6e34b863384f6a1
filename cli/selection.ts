// A selection (--from/--to/--pid/--node) that matches no event is refused in one line that sets it
// beside what the bundle holds: an empty trace would look like a bug, and an empty report or table
// like a healthy bundle.
import { formatWindow } from '../analyze/format-units.ts';
import type { Bundle } from '../format/index.ts';
import { UserError } from './run-action.ts';

/** The selection options as the user typed them. */
export interface SelectionFlags {
  readonly from?: string;
  readonly to?: string;
  readonly pid?: readonly string[];
  readonly node?: string;
}

/** Why nothing matched, and what the bundle's events do cover, so the fix is plain. */
export function noMatchError(bundle: Bundle, flags: SelectionFlags, consequence: string): UserError {
  const asked = [flags.from !== undefined && `--from ${flags.from}`, flags.to !== undefined && `--to ${flags.to}`, flags.pid && `--pid ${flags.pid.join(',')}`, flags.node !== undefined && `--node ${flags.node}`].filter(Boolean).join(' ');
  const pids = bundle.db.prepare('SELECT DISTINCT pid FROM processes ORDER BY pid LIMIT 9').pluck().all() as number[];
  return new UserError(`no events match ${asked}, so ${consequence} — this bundle's events run ${formatWindow(bundle.startNs(), bundle.endNs())} on the bundle clock, its processes are pids ${pids.slice(0, 8).join(', ')}${pids.length > 8 ? ', …' : ''}`);
}

/** Refuses a --from/--to/--pid selection of explain or stats that holds no event. */
export function requireSelectedEvents(bundle: Bundle, selection: { fromNs?: number; toNs?: number; pids?: readonly number[] }, flags: SelectionFlags): void {
  if (selection.fromNs === undefined && selection.toNs === undefined && selection.pids === undefined) return;
  // for-of, so that leaving the loop closes the statement behind the iterator.
  for (const _event of bundle.events({ fromNs: selection.fromNs, toNs: selection.toNs, pids: selection.pids, limit: 1 })) return;
  throw noMatchError(bundle, flags, 'there is nothing to analyse');
}

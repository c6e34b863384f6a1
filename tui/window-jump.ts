// `g`/`:` in the views that cut the bundle into equal windows across the screen (Timeline, GPU):
// the cursor goes to the window holding the target's time, or its event's start.
import { formatDuration } from '../analyze/format-units.ts';
import type { JumpTarget } from './jump-target.ts';
import type { Session } from './session.ts';

export interface Windows {
  readonly fromNs: number;
  readonly toNs: number;
  readonly count: number;
  /** Where the view keeps its cursor (a window index) in the session's store. */
  readonly cursorKey: string;
}

/** Moves the cursor; returns a note when the target is not in the bundle or outside its span. */
export function jumpToWindow(s: Session, target: JumpTarget, w: Windows): string | null {
  const windowNs = Math.max(1, Math.ceil(Math.max(1, w.toNs - w.fromNs) / w.count));
  let ns: number;
  if (target.kind === 'first') ns = w.fromNs;
  else if (target.kind === 'last') ns = w.toNs;
  else if (target.kind === 'time') ns = target.ns;
  else {
    const e = [...s.trace.bundle.events({ afterId: target.id - 1, limit: 1 })][0];
    if (!e || e.id !== target.id) return `no event ${target.id} in this bundle (ids 1–${s.trace.lastEventId()})`;
    ns = e.ts_ns;
  }
  const i = Math.floor((ns - w.fromNs) / windowNs);
  s.store.set(w.cursorKey, Math.max(0, Math.min(w.count - 1, i)));
  return i < 0 || i >= w.count ? `${formatDuration(ns)} is outside the recording (${formatDuration(w.fromNs)} → ${formatDuration(w.toNs)}): cursor at the nearest end` : null;
}

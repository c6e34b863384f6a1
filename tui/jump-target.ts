// Where `g` (or `:`) goes: a time on the bundle clock as explain prints it ("13.37s", "13.37 s",
// "1 min 5 s"; ingero's one time grammar, analyze/format-units.ts), an event id ("1231138" or
// "#1231138": a bare integer is an id here), or the first or last event.
import { durationNs } from '../analyze/format-units.ts';

export type JumpTarget = { readonly kind: 'time'; readonly ns: number } | { readonly kind: 'event'; readonly id: number } | { readonly kind: 'first' } | { readonly kind: 'last' };

export const JUMP_SYNTAX = '13.37s (bundle clock) · 1231138 or #1231138 (event id) · first · last';

export function parseJump(text: string): JumpTarget | { readonly error: string } {
  const t = text.trim().toLowerCase();
  if (t === 'first' || t === 'start' || t === '^') return { kind: 'first' };
  if (t === 'last' || t === 'end' || t === '$') return { kind: 'last' };
  const id = /^(?:#|id\s*)?(\d+)$/.exec(t);
  if (id) return { kind: 'event', id: Number(id[1]) };
  // Any other number is a time (a bare one in seconds, "13.37").
  const ns = durationNs(t);
  if (ns !== null) return { kind: 'time', ns: Number(ns) };
  return { error: `not a time, an event id, first or last: ${JSON.stringify(text.trim().slice(0, 40))} (e.g. ${JUMP_SYNTAX})` };
}

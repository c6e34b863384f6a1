// Where `g` (or `:`) goes: a time on the bundle clock as explain prints it ("13.37s", "13.37 s",
// "1 min 5 s"), an event id ("1231138" or "#1231138"), or the first or last event.
import { parseNs } from './bundle-time.ts';

export type JumpTarget = { readonly kind: 'time'; readonly ns: number } | { readonly kind: 'event'; readonly id: number } | { readonly kind: 'first' } | { readonly kind: 'last' };

export const JUMP_SYNTAX = '13.37s (bundle clock) · 1231138 or #1231138 (event id) · first · last';

export function parseJump(text: string): JumpTarget | { readonly error: string } {
  const t = text.trim().toLowerCase();
  if (t === 'first' || t === 'start' || t === '^') return { kind: 'first' };
  if (t === 'last' || t === 'end' || t === '$') return { kind: 'last' };
  const id = /^(?:#|id\s*)?(\d+)$/.exec(t);
  if (id) return { kind: 'event', id: Number(id[1]) };
  // A bare number with a decimal point is seconds ("13.37"), as in explain's output.
  const ns = parseNs(t, /^\d*\.\d+$/.test(t) ? 's' : null);
  if (ns !== null) return { kind: 'time', ns };
  return { error: `not a time, an event id, first or last: ${JSON.stringify(text.trim().slice(0, 40))} (e.g. ${JUMP_SYNTAX})` };
}

// One line of typed text (the filter and jump prompts, the SQL console): the editing keys every
// shell has, and a history walked with ↑/↓. Pure functions over the line's state, so a key
// applies to the state the previous key left even when both came in one read.
import type { Key } from './keys.ts';

export interface LineState {
  readonly text: string;
  /** Caret position, in characters. */
  readonly at: number;
  /** Index into the history while walking it (history.length: the line being typed). */
  readonly historyAt: number;
  /** What was typed before walking the history, given back when walking past its end. */
  readonly draft: string;
}

export function lineOf(text: string, historyLength = 0): LineState {
  return { text, at: text.length, historyAt: historyLength, draft: text };
}

/** The line after an editing key, or null when the key is not one (Enter, Esc, Tab, …). */
export function editLine(s: LineState, input: string, key: Key, history: readonly string[] = []): LineState | null {
  const { text, at } = s;
  const typed = (t: string, a: number): LineState => ({ text: t, at: a, historyAt: history.length, draft: t });
  if (key.backspace || (key.ctrl && input === 'h')) return at > 0 ? typed(text.slice(0, at - 1) + text.slice(at), at - 1) : s;
  if (key.delete || (key.ctrl && input === 'd')) return typed(text.slice(0, at) + text.slice(at + 1), at);
  if (key.leftArrow || (key.ctrl && input === 'b')) return { ...s, at: Math.max(0, at - 1) };
  if (key.rightArrow || (key.ctrl && input === 'f')) return { ...s, at: Math.min(text.length, at + 1) };
  if (key.home || (key.ctrl && input === 'a')) return { ...s, at: 0 };
  if (key.end || (key.ctrl && input === 'e')) return { ...s, at: text.length };
  if (key.ctrl && input === 'u') return typed(text.slice(at), 0);
  if (key.ctrl && input === 'k') return typed(text.slice(0, at), at);
  if (key.upArrow || key.downArrow) {
    const next = Math.max(0, Math.min(history.length, s.historyAt + (key.upArrow ? -1 : 1)));
    if (next === s.historyAt) return s;
    const t = next === history.length ? s.draft : history[next]!;
    return { text: t, at: t.length, historyAt: next, draft: s.draft };
  }
  if (key.return || key.escape || key.tab || key.ctrl || key.meta || key.pageUp || key.pageDown) return null;
  // Printable text only: control characters from a paste never reach the line.
  const clean = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  if (!clean) return s;
  return typed(text.slice(0, at) + clean + text.slice(at), at + clean.length);
}

/** History after running `entry`: no empty entries, no repeat of the last one, at most `max`. */
export function remember(history: readonly string[], entry: string, max = 100): string[] {
  const t = entry.trim();
  if (!t || history[history.length - 1] === t) return [...history];
  return [...history, t].slice(-max);
}

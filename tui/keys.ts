// Key input for the whole UI. Ink hands over what one stdin read held: escape sequences one by
// one, but a run of plain characters ("jj", or several keys of a fast key repeat) as one string
// with no key flags, which a handler comparing `input === 'j'` ignores. Here every such run is
// split into its keys, and the app dispatches them one at a time, in order, through one
// subscription (keys.tsx consumers register with useKeys). Handlers are refreshed on every
// render, and state they move lives in the session's KeptStore, whose reads are current between
// two keys of the same read (see session.ts): so no key is lost or applied to a stale screen.
import type { Key } from 'ink';
import { useEffect, useRef } from 'react';

export type { Key };

/** Handles one key; returns true when it used the key (later handlers do not see it). */
export type KeyHandler = (input: string, key: Key) => boolean | void;

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** Ink's flags for one character read on its own, as a terminal in raw mode sends it. */
function keyOfChar(c: string): [string, Key] {
  if (c === '\r' || c === '\n') return ['', { ...NO_KEY, return: true }];
  if (c === '\t') return ['', { ...NO_KEY, tab: true }];
  if (c === '\u007f' || c === '\b') return ['', { ...NO_KEY, backspace: true }];
  const code = c.codePointAt(0)!;
  if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
  return [c, { ...NO_KEY, shift: /^[A-Z]$/.test(c) }];
}

/** The keys in what Ink reported for one input event, in the order they were typed. */
export function splitKeys(input: string, key: Key): [string, Key][] {
  const special = key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown || key.home || key.end || key.return || key.escape || key.tab || key.backspace || key.delete || key.ctrl || key.meta;
  if (special || [...input].length <= 1) return [[input, key]];
  return [...input].map(keyOfChar);
}

/** Where the app keeps the handlers of the components on screen, in the order they mounted. */
export class KeyHandlers {
  private readonly handlers = new Set<{ current: KeyHandler }>();

  add(ref: { current: KeyHandler }): () => void {
    this.handlers.add(ref);
    return () => this.handlers.delete(ref);
  }

  /** Offers the key to each handler until one uses it; true when one did. */
  dispatch(input: string, key: Key): boolean {
    for (const h of [...this.handlers]) if (h.current(input, key) === true) return true;
    return false;
  }
}

/**
 * Registers a component's key handler while `active`. The handler is replaced on every render
 * (not in an effect), so a key that arrives right after a re-render sees that render's values.
 */
export function useKeys(handlers: KeyHandlers, handler: KeyHandler, active = true): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => (active ? handlers.add(ref) : undefined), [handlers, active]);
}

/** The bytes a terminal (xterm, tmux) sends for the keys the tests and the bench press. */
export const KEY_BYTES = {
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  home: '\u001b[H',
  end: '\u001b[F',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  enter: '\r',
  tab: '\t',
  escape: '\u001b',
  ctrlU: '\u0015',
} as const;

// Moving a cursor through a list with the keys every terminal user expects.
import { useKeptState, useViewKeys } from './session.ts';

/** The help lines of the keys below, for every view whose list uses them. */
export const LIST_KEYS_HELP: readonly (readonly [string, string])[] = [
  ['↑/↓ j/k', 'move one row'],
  ['PgUp/PgDn b/space', 'one page'],
  ['Home / End G', 'first or last row'],
];

/**
 * ↑/↓ or k/j one line, PgUp/PgDn (or b/space) one page, Home/End (or G) to the ends.
 * The cursor is kept per `key` across view switches and clamped to the list. The third element
 * reads the cursor as it is now (for key handlers: see useKeptState).
 */
export function useListCursor(key: string, count: number, page: number): [number, (n: number) => void, () => number] {
  const [cursor, setCursor, getCursor] = useKeptState(key, 0);
  const clamp = (n: number) => Math.max(0, Math.min(Math.max(0, count - 1), n));
  useViewKeys((input, k) => {
    if (k.upArrow || input === 'k') setCursor((c) => clamp(clamp(c) - 1));
    else if (k.downArrow || input === 'j') setCursor((c) => clamp(clamp(c) + 1));
    else if (k.pageUp || input === 'b') setCursor((c) => clamp(clamp(c) - Math.max(1, page)));
    else if (k.pageDown || input === ' ') setCursor((c) => clamp(clamp(c) + Math.max(1, page)));
    else if (k.home) setCursor(0);
    else if (k.end || input === 'G') setCursor(clamp(count - 1));
  });
  return [clamp(cursor), (n: number) => setCursor(clamp(n)), () => clamp(getCursor())];
}

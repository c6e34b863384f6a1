// Moving a cursor through a list with the keys every terminal user expects.
import { useInput } from 'ink';
import { useSession, useKeptState } from './session.ts';

/**
 * ↑/↓ or k/j one line, PgUp/PgDn (or b/space) one page, Home/End (or g/G) to the ends.
 * The cursor is kept per `key` across view switches and clamped to the list.
 */
export function useListCursor(key: string, count: number, page: number): [number, (n: number) => void] {
  const { keysActive } = useSession();
  const [cursor, setCursor] = useKeptState(key, 0);
  const clamp = (n: number) => Math.max(0, Math.min(Math.max(0, count - 1), n));
  useInput(
    (input, k) => {
      if (k.upArrow || input === 'k') setCursor((c) => clamp(c - 1));
      else if (k.downArrow || input === 'j') setCursor((c) => clamp(c + 1));
      else if (k.pageUp || input === 'b') setCursor((c) => clamp(c - Math.max(1, page)));
      else if (k.pageDown || input === ' ') setCursor((c) => clamp(c + Math.max(1, page)));
      else if (k.home || input === 'g') setCursor(0);
      else if (k.end || input === 'G') setCursor(clamp(count - 1));
    },
    { isActive: keysActive },
  );
  return [clamp(cursor), (n: number) => setCursor(clamp(n))];
}

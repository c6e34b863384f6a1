// A window of lines around a cursor: the building block of every list and detail pane.
import { Box, Text } from 'ink';

/** First line to show so that `cursor` stays visible in `height` lines, kept near the middle. */
export function windowStart(cursor: number, count: number, height: number): number {
  if (count <= height) return 0;
  return Math.max(0, Math.min(count - height, cursor - Math.floor(height / 2)));
}

export interface ScrollListProps {
  /** Lines already fitted to the width (see text.ts). */
  readonly lines: readonly string[];
  /** Highlighted line, or -1 for none (a scrolled text pane uses `top` instead). */
  readonly cursor: number;
  readonly height: number;
  /** First line shown when there is no cursor. */
  readonly top?: number;
  /** Colour of each line, by index (optional). */
  readonly colours?: readonly (string | undefined)[];
}

export function ScrollList({ lines, cursor, height, top, colours }: ScrollListProps) {
  const first = cursor >= 0 ? windowStart(cursor, lines.length, height) : Math.max(0, Math.min(top ?? 0, lines.length - height));
  const shown = lines.slice(first, first + height);
  return (
    <Box flexDirection="column" height={height}>
      {shown.map((line, i) => (
        <Text key={first + i} wrap="truncate-end" inverse={first + i === cursor} color={colours?.[first + i]}>
          {line === '' ? ' ' : line}
        </Text>
      ))}
    </Box>
  );
}

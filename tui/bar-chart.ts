// Column charts drawn with the eighth-block characters: one terminal column per value.

const EIGHTHS = ' ▁▂▃▄▅▆▇█';

/** `height` lines, top first, each `values.length` cells wide; a non-zero value shows at least ▁. */
export function barChart(values: readonly number[], height: number, max = Math.max(0, ...values)): string[] {
  const lines: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    let line = '';
    for (const v of values) {
      const eighths = max > 0 ? Math.max(v > 0 ? 1 : 0, Math.round((v / max) * height * 8)) : 0;
      const inRow = Math.max(0, Math.min(8, eighths - r * 8));
      line += EIGHTHS[inRow];
    }
    lines.push(line);
  }
  return lines;
}

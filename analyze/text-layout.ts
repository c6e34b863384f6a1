// Plain-text layout to a width, for every front end that prints text (the CLI's explain, stats
// and diff on a terminal; the TUI and MCP can use it too): lines wrapped at spaces with a
// hanging indent, and tables that do not fit turned into one block per row. Widths ignore ANSI
// colour codes, so coloured text wraps like plain text.

const ANSI = /\u001b\[[0-9;]*m/g;

/** Columns a string takes on a terminal (colour codes take none). */
export function displayWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

/** Where continuation lines start: under the text after a line's indent and its marker. */
const MARKER = /^(\s*)(\d+\. |- |\[[^\]\s]*\]\s+|[A-Z][a-z ]*: )?/;

/** A word with the spaces before it; "25.8 ms", "3 min" and "1.2 KiB" stay on one line. */
const WORD = /(\s*)((?:\d[\d.,]*\s(?=(?:ns|µs|ms|s|min|KiB|MiB|GiB|B)\b))?\S+)/g;

/**
 * One line wrapped at spaces to width columns; continuation lines hang under the text after the
 * line's indent and its list marker ("- ", "3. ", "[HOST]   ", "Fix: "). Spacing inside a line is
 * kept; a word longer than a whole line is cut.
 */
export function wrapLine(line: string, width: number): string[] {
  if (displayWidth(line) <= width) return [line];
  const hangWidth = Math.min(MARKER.exec(line.replace(ANSI, ''))![0].length, Math.floor(width / 2));
  const hang = ' '.repeat(hangWidth);
  const out: string[] = [];
  let current = '';
  let currentWidth = 0;
  let fresh = true;
  for (const [, gap, token] of line.matchAll(WORD)) {
    let word = token!;
    const sep = fresh && out.length > 0 ? '' : gap!;
    if (!fresh && currentWidth + displayWidth(sep) + displayWidth(word) > width) {
      out.push(current);
      current = hang;
      currentWidth = hangWidth;
      fresh = true;
    }
    const lead = fresh && out.length > 0 ? '' : sep;
    current += lead;
    currentWidth += displayWidth(lead);
    // A word wider than the room on a fresh line: cut it (traced paths, long ids).
    while (currentWidth + displayWidth(word) > width && width - currentWidth > 0) {
      const plain = word.replace(ANSI, '');
      out.push(current + plain.slice(0, width - currentWidth));
      word = plain.slice(width - currentWidth);
      current = hang;
      currentWidth = hangWidth;
    }
    current += word;
    currentWidth += displayWidth(word);
    fresh = false;
  }
  if (current.trim()) out.push(current);
  return out;
}

/** Every line of text wrapped to width (Infinity: unchanged). */
export function wrapText(text: string, width: number): string {
  if (!Number.isFinite(width)) return text;
  return text
    .split('\n')
    .flatMap((l) => wrapLine(l, width))
    .join('\n');
}

/**
 * A table as one block per row, for when its columns do not fit: the first titleColumns cells
 * on a line of their own, then "HEADER value" pairs flowed onto indented lines of width columns.
 * Cells must be printable already.
 */
export function tableAsBlocks(headers: readonly string[], rows: readonly (readonly string[])[], titleColumns: number, width: number, indent = ''): string {
  const lines: string[] = [];
  for (const row of rows) {
    lines.push(...wrapLine(`${indent}${row.slice(0, titleColumns).filter(Boolean).join('  ')}`, width));
    const pairs = headers.slice(titleColumns).map((h, i) => `${h} ${row[titleColumns + i] ?? ''}`);
    let current = `${indent}  `;
    for (const pair of pairs) {
      if (displayWidth(current) > indent.length + 2 && displayWidth(current) + 3 + displayWidth(pair) > width) {
        lines.push(current.trimEnd());
        current = `${indent}  `;
      }
      current += displayWidth(current) > indent.length + 2 ? `   ${pair}` : pair;
    }
    lines.push(...wrapLine(current.trimEnd(), width));
  }
  return lines.join('\n') + '\n';
}

// Traced strings may hold control or bidirectional characters that would corrupt or disguise
// terminal output: every front end shows them through printable.
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

export function printable(s: string): string {
  return s.replace(/[\n\r\t]/g, ' ').replace(UNPRINTABLE, '\uFFFD');
}

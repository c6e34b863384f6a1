// Aligned plain-text tables for terminal output. Cells are made printable first: traced strings
// may hold control or bidirectional characters that would corrupt or disguise terminal output.
import { displayWidth, printable, tableAsBlocks } from '../analyze/text-layout.ts';

export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[], rightAlign: readonly boolean[] = []): string {
  const cells = rows.map((r) => r.map((v) => printable(v === null || v === undefined ? 'NULL' : String(v))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((v, i) => (rightAlign[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/**
 * Columns to fit text output to: the terminal's width when stdout is one; else $COLUMNS when
 * set (a script asking for fitted output); else unlimited, so piped output keeps one line per
 * item for grep and diff.
 */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  if (stream.isTTY) return stream.columns || 80;
  const columns = Number(process.env.COLUMNS);
  return Number.isSafeInteger(columns) && columns >= 20 ? columns : Infinity;
}

/**
 * formatTable when it fits width; else one block per row (tableAsBlocks): the first
 * titleColumns cells as its title, then the other columns as "HEADER value" pairs.
 */
export function formatTableToWidth(headers: readonly string[], rows: readonly (readonly unknown[])[], rightAlign: readonly boolean[], width: number, titleColumns: number, indent = ''): string {
  const table = formatTable(headers, rows, rightAlign);
  if (table.split('\n').every((l) => displayWidth(indent + l) <= width)) return table.replace(/^(?=.)/gm, indent);
  const cells = rows.map((r) => r.map((v) => printable(v === null || v === undefined ? 'NULL' : String(v))));
  return tableAsBlocks(headers, cells, titleColumns, width, indent);
}

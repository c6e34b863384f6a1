// Fitting text into terminal cells. Every traced string passes through printable() (analyze/text-layout.ts)
// before it reaches the screen; these helpers only cut and pad what is already printable.
import { printable } from '../analyze/text-layout.ts';

/** Printable and cut to `width` cells, with an ellipsis where something was cut. */
export function fit(s: string, width: number): string {
  const clean = printable(s);
  if (width <= 0) return '';
  if (clean.length <= width) return clean;
  return width === 1 ? '…' : `${clean.slice(0, width - 1)}…`;
}

/**
 * Printable and cut to `width` cells in the middle: names that share a prefix stay apart
 * (cudaStreamSynchronize and cudaStreamWaitEvent in 15 cells: `cudaStr…hronize`, `cudaStr…itEvent`).
 */
export function fitMiddle(s: string, width: number): string {
  const clean = printable(s);
  if (width <= 0) return '';
  if (clean.length <= width) return clean;
  if (width < 5) return fit(clean, width);
  const head = Math.ceil((width - 1) / 2);
  return `${clean.slice(0, head)}…${clean.slice(clean.length - (width - 1 - head))}`;
}

/** fit() (or fitMiddle()) then padded to exactly `width` cells, on the right or (for numbers) on the left. */
function cell(s: string, width: number, alignRight = false, middle = false): string {
  const f = middle ? fitMiddle(s, width) : fit(s, width);
  return alignRight ? f.padStart(width) : f.padEnd(width);
}

export interface Column {
  readonly title: string;
  /** Cells wanted; the first flexible column takes whatever width is left over. */
  readonly width: number;
  readonly alignRight?: boolean;
  readonly flexible?: boolean;
  /** Cut in the middle rather than at the end (names: see fitMiddle). */
  readonly middle?: boolean;
  /** Left out when the table has fewer cells than this (the detail pane still shows it). */
  readonly dropBelow?: number;
}

/**
 * Widths of columns separated by one space, fitted into `total` cells (flexible column first to
 * give); a column left out at this width gets 0.
 */
export function columnWidths(columns: readonly Column[], total: number): number[] {
  const shown = columns.filter((c) => !(c.dropBelow && total < c.dropBelow));
  const fixed = shown.reduce((sum, c) => sum + (c.flexible ? 0 : c.width), 0) + Math.max(0, shown.length - 1);
  const flexCount = shown.filter((c) => c.flexible).length;
  const spare = Math.max(0, total - fixed);
  return columns.map((c) => (!shown.includes(c) ? 0 : c.flexible ? Math.max(4, Math.floor(spare / Math.max(1, flexCount))) : c.width));
}

/** One table row: each value fitted to its column (columns of width 0 left out). */
export function row(columns: readonly Column[], widths: readonly number[], values: readonly string[]): string {
  return columns
    .map((c, i) => (widths[i] ? cell(values[i] ?? '', widths[i]!, c.alignRight, c.middle) : null))
    .filter((v) => v !== null)
    .join(' ');
}

export function header(columns: readonly Column[], widths: readonly number[]): string {
  return row(columns, widths, columns.map((c) => c.title));
}

/** Word-wrapped lines of at most `width` cells; `indent` starts every line after the first. */
export function wrap(s: string, width: number, indent = ''): string[] {
  const clean = printable(s);
  const lead = /^ */.exec(clean)![0];
  const words = clean.split(' ').filter(Boolean);
  const lines: string[] = [];
  let line = lead;
  for (const word of words) {
    const prefix = lines.length === 0 ? '' : indent;
    if (line.trim() && prefix.length + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line.trim() ? `${line} ${word}` : line + word;
    }
  }
  if (line.trim() || lines.length === 0) lines.push((lines.length === 0 ? '' : indent) + line);
  return lines.map((l) => fit(l, width));
}

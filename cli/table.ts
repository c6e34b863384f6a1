// Aligned plain-text tables for terminal output. Cells are made printable first: traced strings
// may hold control or bidirectional characters that would corrupt or disguise terminal output.

const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

export function printable(s: string): string {
  return s.replace(/[\n\r\t]/g, ' ').replace(UNPRINTABLE, '\uFFFD');
}

export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[], rightAlign: readonly boolean[] = []): string {
  const cells = rows.map((r) => r.map((v) => printable(v === null || v === undefined ? 'NULL' : String(v))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((v, i) => (rightAlign[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

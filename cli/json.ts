// JSON output that keeps 64-bit integers exact: bigints are written as bare digits.
export function toJson(value: unknown, indent = 2): string {
  const marked = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `\u0000big:${v}` : v), indent);
  return marked.replace(/"\\u0000big:(-?\d+)"/g, '$1');
}

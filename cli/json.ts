// JSON output that keeps 64-bit integers exact (bigints are written as bare digits) and shows
// traced strings' bidi and zero-width characters as \uXXXX instead of letting them act.
import { escapeLayoutCharacters } from '../format/index.ts';

export function toJson(value: unknown, indent = 2): string {
  const marked = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `\u0000big:${v}` : v), indent);
  return escapeLayoutCharacters(marked.replace(/"\\u0000big:(-?\d+)"/g, '$1'));
}

// JSON text that cannot rearrange a terminal. JSON.stringify escapes C0 controls but leaves DEL,
// C1 controls, bidirectional embeddings/overrides/isolates, zero-width characters, line/paragraph
// separators, the BOM, variation selectors and Unicode tag characters as they are: a traced
// string holding U+202E would then reverse what a terminal shows of the surrounding output. In
// JSON text these characters can only occur inside string literals, so writing them as \uXXXX
// keeps the same parsed value and makes them visible.

const LAYOUT_CHARACTERS = /[\u007F-\u009F\u061C\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFE00-\uFE0F\uFEFF\uFFF0-\uFFFB]|\uDB40[\uDC00-\uDDEF]/g;

const escape = (ch: string) => Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/** JSON text with every invisible or layout-changing character written as a \uXXXX escape. */
export function escapeLayoutCharacters(json: string): string {
  return json.replace(LAYOUT_CHARACTERS, escape);
}

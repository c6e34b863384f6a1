// Text columns have per-table byte limits (schema.ts maxTextBytes) that readers enforce, so a
// writer that stored a longer traced string (a 5 KB C++ template name, a huge command line)
// would produce a bundle no reader accepts. Writers clamp instead, marking the cut with "…".

/** s itself when it fits in maxBytes of UTF-8, else its longest prefix that fits with "…" after it. */
export function clampText(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  const bytes = Buffer.from(s.slice(0, maxBytes));
  let end = maxBytes - 3; // room for "…" (3 bytes)
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // do not split a character
  return `${bytes.subarray(0, end).toString('utf8')}…`;
}

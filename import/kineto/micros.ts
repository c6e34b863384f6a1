// Profiler times are microseconds written as decimal text with up to three decimals (ns
// resolution). A double cannot hold 1.6e15 µs with three decimals exactly, so the text is split
// into whole µs (a safe integer) and the remaining ns without passing through a binary fraction.

/** A time or duration in µs, exactly: value = us · 1000 + ns ns, with ns in -999..999 (sign of us). */
export interface Micros {
  readonly us: number;
  readonly ns: number;
}

const PLAIN = /^(-?)(\d+)(?:\.(\d*))?$/;
const GENERAL = /^(-?)(\d*)(?:\.(\d*))?[eE]([+-]?\d+)$/;

/** Parses decimal µs text (as a JSON number is written); null when it is not a number or too large. */
export function parseMicros(text: string): Micros | null {
  const m = PLAIN.exec(text);
  if (m) return split(m[1] === '-', m[2]!, m[3] ?? '');
  const g = GENERAL.exec(text);
  if (!g || (g[2] === '' && !g[3])) return null;
  // Exponent form (rare in traces): move the decimal point by the exponent, then split as above.
  const digits = g[2]! + (g[3] ?? '');
  const point = g[2]!.length + Number(g[4]);
  if (!Number.isSafeInteger(point) || point > 30) return null;
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const frac = point <= 0 ? '0'.repeat(-point) + digits : digits.slice(point);
  return split(g[1] === '-', whole, frac);
}

function split(negative: boolean, whole: string, frac: string): Micros | null {
  let us = Number(whole);
  if (!Number.isSafeInteger(us)) return null;
  // Nearest ns: the fourth decimal rounds half up (profilers write at most three).
  let ns = Number(frac.slice(0, 3).padEnd(3, '0'));
  if (frac.length > 3 && frac.charCodeAt(3) >= 53) ns++;
  if (ns === 1000) {
    us++;
    ns = 0;
  }
  return negative ? { us: -us, ns: -ns } : { us, ns };
}

/** The value in ns as a number: exact while it stays below 2^53 (durations, relative times). */
export function microsToNs(m: Micros): number {
  return m.us * 1000 + m.ns;
}

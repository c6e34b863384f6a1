// Moving many numbers out of SQLite without a JS object per row. A query is run as
// `SELECT count(fn(cols...)) FROM ...` where fn is a JS function registered on the connection:
// SQLite drives the loop in C and hands each row's values straight to fn as doubles, which push
// them into typed arrays. This is several times faster than iterating rows and keeps memory at
// 8 bytes per value (see bench/analyze.ts).
import type Database from 'better-sqlite3';

const CHUNK = 1 << 16;
/** First chunk of a list: small, because some callers keep one list per group and groups can number 10^5. */
const FIRST_CHUNK = 64;

/** An append-only list of doubles stored in chunks (doubling up to CHUNK): growing never copies. */
export class F64List {
  private chunks: Float64Array[] = [];
  private tail: Float64Array = new Float64Array(0);
  private used = 0;
  length = 0;

  push(v: number): void {
    if (this.used === this.tail.length) {
      this.tail = new Float64Array(Math.min(CHUNK, Math.max(FIRST_CHUNK, this.tail.length * 2)));
      this.chunks.push(this.tail);
      this.used = 0;
    }
    this.tail[this.used++] = v;
    this.length++;
  }

  /** Copies the values into `into` at `offset` and forgets them (frees the chunks). */
  drainInto(into: Float64Array, offset: number): void {
    let at = offset;
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const n = i === this.chunks.length - 1 ? this.used : c.length;
      into.set(n === c.length ? c : c.subarray(0, n), at);
      at += n;
    }
    this.chunks = [];
    this.tail = new Float64Array(0);
    this.used = 0;
    this.length = 0;
  }

  toArray(): Float64Array {
    const out = new Float64Array(this.length);
    this.drainInto(out, 0);
    return out;
  }
}

type Row = (...values: number[]) => void;
let sink: Row = () => {};
// better-sqlite3 takes a function's arity from fn.length, so each arity gets a wrapper with
// named parameters (varargs would cost an array per row).
const WRAPPERS: readonly ((...v: number[]) => null)[] = [
  (a) => (sink(a), null),
  (a, b) => (sink(a, b), null),
  (a, b, c) => (sink(a, b, c), null),
  (a, b, c, d) => (sink(a, b, c, d), null),
  (a, b, c, d, e) => (sink(a, b, c, d, e), null),
  (a, b, c, d, e, f) => (sink(a, b, c, d, e, f), null),
  (a, b, c, d, e, f, g) => (sink(a, b, c, d, e, f, g), null),
  (a, b, c, d, e, f, g, h) => (sink(a, b, c, d, e, f, g, h), null),
  (a, b, c, d, e, f, g, h, i) => (sink(a, b, c, d, e, f, g, h, i), null),
  (a, b, c, d, e, f, g, h, i, j) => (sink(a, b, c, d, e, f, g, h, i, j), null),
  (a, b, c, d, e, f, g, h, i, j, k) => (sink(a, b, c, d, e, f, g, h, i, j, k), null),
  (a, b, c, d, e, f, g, h, i, j, k, l) => (sink(a, b, c, d, e, f, g, h, i, j, k, l), null),
];
const registered = new WeakMap<Database.Database, Set<number>>();

function collectorName(db: Database.Database, arity: number): string {
  if (arity < 1 || arity > WRAPPERS.length) throw new Error(`scan of ${arity} columns is not supported`);
  let set = registered.get(db);
  if (!set) registered.set(db, (set = new Set()));
  const name = `ingero_scan${arity}`;
  if (!set.has(arity)) {
    db.function(name, { deterministic: false, directOnly: true }, WRAPPERS[arity - 1]!);
    set.add(arity);
  }
  return name;
}

/**
 * Runs `SELECT count(fn(<columns>)) <fromWhere>` and calls onRow with each row's values
 * (numbers; NULL becomes null). Values beyond 2^53 lose precision: use it for times, durations,
 * ids and small enums, not pointers.
 */
export function scanRows(db: Database.Database, columns: readonly string[], fromWhere: string, params: readonly unknown[], onRow: (...values: number[]) => void): void {
  const name = collectorName(db, columns.length);
  const previous = sink;
  sink = onRow;
  try {
    db.prepare(`SELECT count(${name}(${columns.join(', ')})) ${fromWhere}`).get(...params);
  } finally {
    sink = previous;
  }
}

/** The values of each column, as exact-size Float64Arrays (NULL becomes NaN). */
export function scanColumns(db: Database.Database, columns: readonly string[], fromWhere: string, params: readonly unknown[] = []): Float64Array[] {
  const lists = columns.map(() => new F64List());
  scanRows(db, columns, fromWhere, params, (...values: number[]) => {
    for (let i = 0; i < lists.length; i++) lists[i]!.push(values[i] ?? NaN);
  });
  return lists.map((l) => l.toArray());
}

// A minimal Apache Parquet file writer: one row group per file, columns of INT64, UTF-8 STRING
// or BOOLEAN, all OPTIONAL, PLAIN-encoded in data pages (v1) of PAGE_ROWS values,
// zstd-compressed, with min/max statistics on the integer columns so that readers skip parts by
// time. Rows are held as typed arrays (strings as indexes into a dictionary), so a row group of
// 1M events takes about 8 MB per integer column, and pages are compressed and written one at a
// time; the column buffers are kept and refilled for the next file. The format is
// https://github.com/apache/parquet-format (parquet.thrift: field numbers below are its).
import { closeSync, openSync, writeSync } from 'node:fs';
import { Compressor } from 'zstd-napi';
import { BundleError } from '../../format/index.ts';

export type ParquetType = 'BIGINT' | 'VARCHAR' | 'BOOLEAN';

export interface ParquetColumn {
  readonly name: string;
  readonly type: ParquetType;
}

/** Values per data page: a page is compressed in one piece. */
const PAGE_ROWS = 1 << 17;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** One column's values of the current row group. */
class ColumnBuffer {
  defined = new Uint8Array(0);
  ints = new BigInt64Array(0);
  /** VARCHAR: index into strings; BOOLEAN: 0 or 1. */
  codes = new Int32Array(0);
  strings: string[] = [];
  private readonly stringCodes = new Map<string, number>();

  constructor(readonly column: ParquetColumn) {}

  reserve(rows: number): void {
    if (this.defined.length >= rows) return;
    const grow = <T extends Uint8Array | BigInt64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(Math.max(rows, old.length * 2));
      next.set(old as never);
      return next;
    };
    this.defined = grow(this.defined, (n) => new Uint8Array(n));
    if (this.column.type === 'BIGINT') this.ints = grow(this.ints, (n) => new BigInt64Array(n));
    else this.codes = grow(this.codes, (n) => new Int32Array(n));
  }

  code(s: string): number {
    let c = this.stringCodes.get(s);
    if (c === undefined) {
      c = this.strings.length;
      this.strings.push(s);
      this.stringCodes.set(s, c);
    }
    return c;
  }

  clear(): void {
    this.strings = [];
    this.stringCodes.clear();
  }
}

/**
 * Rows of one file. Values are checked by the caller against the column's type; set() stores
 * them: bigint for BIGINT (within INT64), string for VARCHAR, boolean for BOOLEAN, or null.
 */
export class ParquetRowGroup {
  private readonly buffers: ColumnBuffer[];
  rows = 0;

  constructor(readonly columns: readonly ParquetColumn[]) {
    this.buffers = columns.map((c) => new ColumnBuffer(c));
  }

  /** Starts a new row at the end; then set() each column of it. */
  addRow(): number {
    const row = this.rows++;
    for (const b of this.buffers) {
      b.reserve(this.rows);
      b.defined[row] = 0;
    }
    return row;
  }

  set(row: number, column: number, value: bigint | string | boolean | null): void {
    if (value === null) return;
    const b = this.buffers[column]!;
    b.defined[row] = 1;
    if (typeof value === 'bigint') b.ints[row] = value;
    else if (typeof value === 'string') b.codes[row] = b.code(value);
    else b.codes[row] = value ? 1 : 0;
  }

  /** Empties the row group, keeping its buffers for the next file. */
  clear(): void {
    this.rows = 0;
    for (const b of this.buffers) b.clear();
  }

  /** Writes the rows as one Parquet file. */
  write(path: string, compressor: Compressor): void {
    const fd = openSync(path, 'wx');
    try {
      let offset = 0;
      const out = (bytes: Uint8Array) => {
        writeSync(fd, bytes);
        offset += bytes.length;
      };
      out(MAGIC);
      const chunks: Uint8Array[] = [];
      let totalBytes = 0;
      let totalCompressed = 0;
      for (const b of this.buffers) {
        const start = offset;
        let uncompressed = 0;
        let nulls = 0;
        let min = INT64_MAX;
        let max = INT64_MIN;
        for (let first = 0; first < this.rows; first += PAGE_ROWS) {
          const end = Math.min(this.rows, first + PAGE_ROWS);
          const page = encodePage(b, first, end);
          nulls += page.nulls;
          if (page.min < min) min = page.min;
          if (page.max > max) max = page.max;
          const data = compressor.compress(page.bytes);
          const header = thrift((w) => {
            w.i32(1, 0); // DATA_PAGE
            w.i32(2, page.bytes.length);
            w.i32(3, data.length);
            w.struct(5, (d) => {
              d.i32(1, end - first);
              d.i32(2, 0); // PLAIN
              d.i32(3, 3); // RLE definition levels
              d.i32(4, 3); // RLE repetition levels (none: every column is flat)
            });
          });
          out(header);
          out(data);
          uncompressed += header.length + page.bytes.length;
        }
        const compressed = offset - start;
        totalBytes += uncompressed;
        totalCompressed += compressed;
        const c = b.column;
        const hasRange = c.type === 'BIGINT' && nulls < this.rows;
        chunks.push(
          thrift((w) => {
            w.i64(2, start);
            w.struct(3, (m) => {
              m.i32(1, PHYSICAL_TYPE[c.type]);
              m.list(2, 5, [0, 3], (l, e) => l.varint(zigzag(e)));
              m.list(3, 8, [c.name], (l, e) => l.binary(UTF8.encode(e)));
              m.i32(4, 6); // ZSTD
              m.i64(5, this.rows);
              m.i64(6, uncompressed);
              m.i64(7, compressed);
              m.i64(9, start);
              m.struct(12, (s) => {
                s.i64(3, nulls);
                if (hasRange) {
                  s.binary(5, int64Bytes(max));
                  s.binary(6, int64Bytes(min));
                }
              });
            });
          }),
        );
      }
      const footer = thrift((w) => {
        w.i32(1, 1);
        const schema = [{ name: 'schema', children: this.columns.length } as const, ...this.columns];
        w.list(2, 12, schema, (l, e) =>
          l.struct((s) => {
            if ('children' in e) {
              s.binary(4, UTF8.encode(e.name));
              s.i32(5, e.children);
              return;
            }
            s.i32(1, PHYSICAL_TYPE[e.type]);
            s.i32(3, 1); // OPTIONAL
            s.binary(4, UTF8.encode(e.name));
            if (e.type === 'VARCHAR') {
              s.i32(6, 0); // UTF8
              s.struct(10, (t) => t.struct(1, () => {})); // LogicalType STRING
            }
          }),
        );
        w.i64(3, this.rows);
        // A file of no rows has no row group, only the schema.
        w.list(4, 12, this.rows > 0 ? [0] : [], (l) =>
          l.struct((g) => {
            g.list(1, 12, chunks, (cl, chunk) => cl.raw(chunk));
            g.i64(2, totalBytes);
            g.i64(3, this.rows);
            g.i64(5, MAGIC.length);
            g.i64(6, totalCompressed);
            g.i16(7, 0);
          }),
        );
        w.binary(6, UTF8.encode('ingero parquet-file (spec/parquet-layout.md)'));
        // TypeDefinedOrder for every column: the min/max statistics compare INT64 as signed.
        w.list(7, 12, this.columns, (l) => l.struct((o) => o.struct(1, () => {})));
      });
      out(footer);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(footer.length);
      out(len);
      out(MAGIC);
    } finally {
      closeSync(fd);
    }
  }
}

const MAGIC = new TextEncoder().encode('PAR1');
const UTF8 = new TextEncoder();
const PHYSICAL_TYPE: Record<ParquetType, number> = { BOOLEAN: 0, BIGINT: 2, VARCHAR: 6 };

/** Definition levels (RLE/bit-packed hybrid, 1 bit, length-prefixed) then the PLAIN values of rows [first, end). */
function encodePage(b: ColumnBuffer, first: number, end: number): { bytes: Uint8Array; nulls: number; min: bigint; max: bigint } {
  const n = end - first;
  let defined = 0;
  for (let i = first; i < end; i++) defined += b.defined[i]!;
  // Levels: one RLE run when all rows agree, else bit-packed groups of 8.
  let levels: Uint8Array;
  if (defined === n || defined === 0) {
    const run = varintBytes(n * 2);
    levels = new Uint8Array(run.length + 1);
    levels.set(run);
    levels[run.length] = defined === 0 ? 0 : 1;
  } else {
    const groups = Math.ceil(n / 8);
    const head = varintBytes(groups * 2 + 1);
    levels = new Uint8Array(head.length + groups);
    levels.set(head);
    for (let i = 0; i < n; i++) if (b.defined[first + i]) levels[head.length + (i >> 3)]! |= 1 << (i & 7);
  }
  let min = INT64_MAX;
  let max = INT64_MIN;
  let values: Uint8Array;
  const type = b.column.type;
  if (type === 'BIGINT') {
    const buf = Buffer.allocUnsafe(defined * 8);
    let at = 0;
    for (let i = first; i < end; i++) {
      if (!b.defined[i]) continue;
      const v = b.ints[i]!;
      buf.writeBigInt64LE(v, at);
      if (v < min) min = v;
      if (v > max) max = v;
      at += 8;
    }
    values = buf;
  } else if (type === 'BOOLEAN') {
    values = new Uint8Array(Math.ceil(defined / 8));
    let k = 0;
    for (let i = first; i < end; i++) if (b.defined[i]) values[k >> 3]! |= b.codes[i]! << (k++ & 7);
  } else {
    const encoded = b.strings.map((s) => Buffer.from(s, 'utf8'));
    let size = 0;
    for (let i = first; i < end; i++) if (b.defined[i]) size += 4 + encoded[b.codes[i]!]!.length;
    if (size > 0x7fffffff - levels.length) throw new BundleError('SCHEMA', `column ${b.column.name}: one Parquet page of ${PAGE_ROWS} values would pass 2 GB of text — the bundle holds implausibly long names`);
    const buf = Buffer.allocUnsafe(size);
    let at = 0;
    for (let i = first; i < end; i++) {
      if (!b.defined[i]) continue;
      const s = encoded[b.codes[i]!]!;
      buf.writeUInt32LE(s.length, at);
      buf.set(s, at + 4);
      at += 4 + s.length;
    }
    values = buf;
  }
  const bytes = new Uint8Array(4 + levels.length + values.length);
  new DataView(bytes.buffer).setUint32(0, levels.length, true);
  bytes.set(levels, 4);
  bytes.set(values, 4 + levels.length);
  return { bytes, nulls: n - defined, min, max };
}

function int64Bytes(v: bigint): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b;
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function varintBytes(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** Thrift compact protocol, the fields of one struct in increasing id order. */
class ThriftWriter {
  private readonly parts: number[] = [];
  private lastId = 0;

  private field(id: number, type: number): void {
    const delta = id - this.lastId;
    if (delta > 0 && delta <= 15) this.parts.push((delta << 4) | type);
    else {
      this.parts.push(type);
      this.varint(zigzag(id));
    }
    this.lastId = id;
  }

  varint(n: number): void {
    for (const b of varintBytes(n)) this.parts.push(b);
  }

  raw(bytes: Uint8Array): void {
    for (const b of bytes) this.parts.push(b);
  }

  binary(id: number, bytes: Uint8Array): void;
  binary(bytes: Uint8Array): void;
  binary(a: number | Uint8Array, b?: Uint8Array): void {
    if (typeof a === 'number') this.field(a, 8);
    const bytes = typeof a === 'number' ? b! : a;
    this.varint(bytes.length);
    this.raw(bytes);
  }

  i16(id: number, v: number): void {
    this.field(id, 4);
    this.varint(zigzag(v));
  }

  i32(id: number, v: number): void {
    this.field(id, 5);
    this.varint(zigzag(v));
  }

  i64(id: number, v: number): void {
    this.field(id, 6);
    this.varint(zigzag(v));
  }

  struct(id: number, fill: (w: ThriftWriter) => void): void;
  struct(fill: (w: ThriftWriter) => void): void;
  struct(a: number | ((w: ThriftWriter) => void), b?: (w: ThriftWriter) => void): void {
    if (typeof a === 'number') this.field(a, 12);
    const fill = typeof a === 'number' ? b! : a;
    const inner = new ThriftWriter();
    fill(inner);
    this.raw(inner.bytes());
  }

  list<T>(id: number, elementType: number, items: readonly T[], each: (w: ThriftWriter, item: T) => void): void {
    this.field(id, 9);
    if (items.length < 15) this.parts.push((items.length << 4) | elementType);
    else {
      this.parts.push(0xf0 | elementType);
      this.varint(items.length);
    }
    for (const item of items) each(this, item);
  }

  /** The struct's bytes, stop field included. */
  bytes(): Uint8Array {
    return Uint8Array.from([...this.parts, 0]);
  }
}

function thrift(fill: (w: ThriftWriter) => void): Uint8Array {
  const w = new ThriftWriter();
  fill(w);
  return w.bytes();
}

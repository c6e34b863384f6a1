// Reads a BPF_MAP_TYPE_RINGBUF directly from its memory mapping, with no FFI call per record
// (platform.md §6). The kernel maps the consumer position page read-write at offset 0, and the
// producer position page followed by the data area (mapped twice back to back, so a record
// never wraps) read-only at offset one page.
import koffi from 'koffi';
import { libc, MAP_SHARED, PROT_READ, PROT_WRITE } from './libc.ts';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER = 8;
/** Publish the consumer position at least this often during a long drain, freeing space. */
const PUBLISH_EVERY = 4096;

/** Called for each record: `view` covers the whole mapping, the record is at [offset, offset+length). */
export type RecordSink = (view: DataView, offset: number, length: number) => void;

export class RingBufferReader {
  private readonly consumerMem: unknown;
  private readonly producerMem: unknown;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly headers: Uint32Array;
  private readonly view: DataView;
  private readonly dataStart: number;
  private closed = false;

  constructor(
    readonly fd: number,
    /** The ring's size in bytes (its max_entries): a power of two, a multiple of the page size. */
    readonly size: number,
  ) {
    const page = libc().getpagesize();
    this.dataStart = page;
    this.consumerMem = mapOrThrow(page, PROT_READ | PROT_WRITE, fd, 0);
    this.producerMem = mapOrThrow(page + 2 * size, PROT_READ, fd, page);
    const consumer = koffi.view(this.consumerMem as never, page);
    const producer = koffi.view(this.producerMem as never, page + 2 * size);
    this.consumerPos = new BigUint64Array(consumer, 0, 1);
    this.producerPos = new BigUint64Array(producer, 0, 1);
    this.headers = new Uint32Array(producer);
    this.view = new DataView(producer);
  }

  /** Hands every complete record to `sink` and frees its space; returns the records read. */
  drain(sink: RecordSink): number {
    let cons = Number(Atomics.load(this.consumerPos, 0));
    const prod = Number(Atomics.load(this.producerPos, 0));
    const mask = this.size - 1;
    let n = 0;
    while (cons < prod) {
      const at = this.dataStart + (cons & mask);
      const header = Atomics.load(this.headers, at >>> 2);
      if (header & BUSY) break; // reserved, not yet submitted
      const length = header & ~(BUSY | DISCARD);
      if (!(header & DISCARD)) {
        sink(this.view, at + HEADER, length);
        n++;
      }
      cons += (length + HEADER + 7) & ~7;
      if (n % PUBLISH_EVERY === 0) Atomics.store(this.consumerPos, 0, BigInt(cons));
    }
    Atomics.store(this.consumerPos, 0, BigInt(cons));
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const page = this.dataStart;
    libc().munmap(this.consumerMem as never, page);
    libc().munmap(this.producerMem as never, page + 2 * this.size);
  }
}

function mapOrThrow(length: number, prot: number, fd: number, offset: number): unknown {
  const p = libc().mmap(null, length, prot, MAP_SHARED, fd, offset);
  if (p === null || koffi.address(p) === 2n ** 64n - 1n) {
    throw new Error(`cannot mmap ring buffer (fd ${fd}, ${length} bytes): errno ${koffi.errno()}`);
  }
  return p;
}

// Decodes the records the BPF programs write (struct ingero_event in bpf/event.h).
import type { MapEntry } from './proc.ts';

export const EVENT_HEADER_BYTES = 64;
export const OP_TASK_NAME = 0xffff;
export const OP_CPU_SAMPLE = 0xfffe;
export const OP_MAPPING = 0xfffd;
const HAS_RET = 1 << 4;

/** Byte offsets of struct ingero_event's fields. */
export const EventLayout = {
  ts_ns: 0,
  dur_ns: 8,
  pid: 16,
  tid: 20,
  op: 24,
  present: 26,
  nframes: 27,
  ret: 28,
  arg: 32,
} as const;

/** A CLOCK_BOOTTIME instant that event times are made relative to. */
export interface BootOrigin {
  hi: number;
  lo: number;
}

export function bootOrigin(bootNs: bigint): BootOrigin {
  return { hi: Number(bootNs >> 32n), lo: Number(bootNs & 0xffffffffn) };
}

export interface RawEvent {
  /** ns since the origin (boot ns do not fit a Number's 53 bits after 104 days of uptime). */
  tsNs: number;
  durNs: number;
  pid: number;
  tid: number;
  op: number;
  /** arg0..arg3; undefined where the probe recorded none. */
  args: (number | bigint | undefined)[];
  ret: number | undefined;
  /** User stack addresses, leaf first; empty when not captured. */
  frames: bigint[];
}

/**
 * A u64 as a JS value: a Number while it is exact, else a BigInt reinterpreted as signed i64
 * (how the bundle stores 64-bit values).
 */
function u64(view: DataView, at: number): number | bigint {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi < 0x200000) return hi * 0x100000000 + lo;
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

export function decodeEvent(view: DataView, at: number, length: number, origin: BootOrigin): RawEvent {
  if (length < EVENT_HEADER_BYTES) throw new Error(`short ring record: ${length} bytes`);
  const present = view.getUint8(at + EventLayout.present);
  const nframes = Math.min(view.getUint8(at + EventLayout.nframes), (length - EVENT_HEADER_BYTES) >>> 3);
  const args: (number | bigint | undefined)[] = [undefined, undefined, undefined, undefined];
  for (let i = 0; i < 4; i++) if (present & (1 << i)) args[i] = u64(view, at + EventLayout.arg + 8 * i);
  const frames: bigint[] = [];
  for (let i = 0; i < nframes; i++) frames.push(view.getBigUint64(at + EVENT_HEADER_BYTES + 8 * i, true));
  return {
    tsNs: (view.getUint32(at + 4, true) - origin.hi) * 0x100000000 + (view.getUint32(at, true) - origin.lo),
    durNs: Number(view.getBigUint64(at + EventLayout.dur_ns, true)),
    pid: view.getUint32(at + EventLayout.pid, true),
    tid: view.getUint32(at + EventLayout.tid, true),
    op: view.getUint16(at + EventLayout.op, true),
    args,
    ret: present & HAS_RET ? view.getInt32(at + EventLayout.ret, true) : undefined,
    frames,
  };
}

/** The comm carried by an OP_TASK_NAME record (16 bytes in arg0..arg1). */
export function taskNameOf(view: DataView, at: number): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + at + EventLayout.arg, 16);
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? 16 : end)).toString('utf8');
}

/**
 * An OP_MAPPING record (exit-mappings.bpf.c): one executable file mapping of an exiting process,
 * its path sent as components leaf first, each NUL-terminated; null for the end marker (no
 * arguments: the process's mappings are complete).
 */
export function exitMappingOf(e: RawEvent, view: DataView, at: number, length: number): MapEntry | null {
  if (e.args[0] === undefined) return null;
  const bytes = new Uint8Array(view.buffer, view.byteOffset + at + EVENT_HEADER_BYTES, length - EVENT_HEADER_BYTES);
  const names = Buffer.from(bytes).toString('utf8').split('\0').filter((n) => n !== '');
  return {
    start: Number(e.args[0]),
    end: Number(e.args[1]),
    offset: Number(e.args[2]),
    executable: true,
    inode: Number(e.args[3]),
    path: `/${names.reverse().join('/')}`,
  };
}

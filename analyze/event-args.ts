// How an event argument reads, from its name and unit in the bundle's op_args: pointers in hex,
// packed grid/block dimensions and ports taken apart, memcpy kinds and task states named. One
// decoding for every front end: the Perfetto export writes it as JSON, the TUI shows it as text.

export const MEMCPY_KINDS = ['H2H', 'H2D', 'D2H', 'D2D', 'default'];

/** Linux task states as sched_switch reports them (prev_state). */
function taskState(v: number | string): string {
  if (v === 0) return 'R (preempted)';
  if (v === 1) return 'S (sleeping)';
  if (v === 2) return 'D (uninterruptible)';
  return String(v);
}

/** Prints an argument (a number when exact in a double, else its decimal text) as JSON. */
export type ArgDecoder = (v: number | string) => string;

/** The unsigned 64-bit pattern of an argument (stored signed). */
const unsigned = (v: number | string) => BigInt.asUintN(64, BigInt(v));

/** An integer as JSON: a number when a double holds it exactly, else a decimal string. */
export function integerJson(v: number | string): string {
  return typeof v === 'number' ? String(v) : `"${v}"`;
}

/** Pointers repeat (kernels, streams), and a double's toString(16) is slow: printed ones are kept. */
const hexCache = new Map<number | string, string>();

function hexJson(v: number | string): string {
  let s = hexCache.get(v);
  if (s === undefined) {
    s = `"0x${unsigned(v).toString(16)}"`;
    if (hexCache.size >= 65_536) hexCache.clear();
    hexCache.set(v, s);
  }
  return s;
}

/** Grid or block dimensions packed as x | y << 32 | z << 48, as "x,y,z". */
function dimsJson(v: number | string): string {
  if (typeof v === 'number' && v >= 0) return `"${v % 2 ** 32},${Math.floor(v / 2 ** 32) % 2 ** 16},${Math.floor(v / 2 ** 48)}"`;
  const u = unsigned(v);
  return `"${u & 0xffffffffn},${(u >> 32n) & 0xffffn},${(u >> 48n) & 0xffffn}"`;
}

/** CUPTI memcpy kinds and memory kinds (the gpu memcpy op's packed kind, format/catalog.ts). */
const CUPTI_COPY = ['unknown', 'HtoD', 'DtoH', 'HtoA', 'AtoH', 'AtoA', 'AtoD', 'DtoA', 'DtoD', 'HtoH', 'PtoP'];
const CUPTI_MEMORY = ['unknown', 'pageable', 'pinned', 'device', 'array', 'managed'];

/** direction | source memory << 8 | destination memory << 16, as "HtoD (pinned → device)". */
function copyKindJson(v: number | string): string {
  const u = unsigned(v);
  const at = (list: string[], i: bigint) => list[Number(i)] ?? String(i);
  return `"${at(CUPTI_COPY, u & 0xffn)} (${at(CUPTI_MEMORY, (u >> 8n) & 0xffn)} → ${at(CUPTI_MEMORY, (u >> 16n) & 0xffn)})"`;
}

/** How to print one argument, from its name and unit in the bundle's op_args. */
export function argDecoder(name: string, unit: string): ArgDecoder {
  if (unit === 'pointer') return hexJson;
  if (unit === 'packed' && (name === 'grid' || name === 'block')) return dimsJson;
  if (unit === 'packed' && name === 'kind') return copyKindJson;
  if (unit === 'packed' && name === 'ports') return (v) => `"${(unsigned(v) >> 16n) & 0xffffn}→${unsigned(v) & 0xffffn}"`;
  if (unit === 'packed') return hexJson;
  if (name === 'kind') return (v) => (typeof v === 'number' && MEMCPY_KINDS[v] !== undefined ? `"${MEMCPY_KINDS[v]}"` : integerJson(v));
  if (name === 'prev_state') return (v) => JSON.stringify(taskState(v));
  return integerJson;
}

/** An argument as bundle.events() reads it (a bigint), in the form a decoder takes. */
export function argInput(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** A decoder's JSON as plain text (a name or hex string unquoted, a number as it is). */
export function argText(json: string): string {
  return json.startsWith('"') ? (JSON.parse(json) as string) : json;
}

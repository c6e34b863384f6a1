// Ingero `stack_traces` rows → the bundle's pprof-like symbol tables.
// A row's `frames` is compact JSON, leaf first, one object per kept frame:
//   s   native symbol as found in the ELF symbol table (mangled C++ as-is) with "+0xOFF" appended
//   f   basename of the shared object        i   hex address, only when there is no symbol
//   l   native line (defined, never written)  pf, pfn, pl   Python file, function, co_firstlineno
// `ips` (a JSON array of hex strings) is the fallback when nothing resolved. Native and Python
// frames stay distinct kinds; functions get their demangled name, the mangled one kept as
// system_name, as the recorder does. The writer
// interns mappings, functions, locations and whole stacks, so duplicates collapse.
// Ingero merges a thread's Python frames (innermost first) into the native stack before its
// first interpreter frame (a file named libpython… or python3.…); with no interpreter frame
// among the native ones it puts them before every native frame, though the native frames
// (cudaMalloc, libtorch) are the calls the Python code made: those stacks are put leaf first.
import { clampText, demangle, type FrameInput } from '../format/index.ts';
import { SHORT_TEXT_BYTES } from './source-rows.ts';

export interface ParsedStack {
  readonly frames: FrameInput[];
  /** Names cut to fit the bundle's limit. */
  readonly truncatedNames: number;
}

interface IngeroFrame {
  s?: unknown;
  f?: unknown;
  i?: unknown;
  l?: unknown;
  pf?: unknown;
  pfn?: unknown;
  pl?: unknown;
}

/** Parses one stack row; frames it cannot understand are skipped, never guessed. */
export function parseStack(framesJson: string, ipsJson: string): ParsedStack {
  const counter = { truncated: 0 };
  const frames: FrameInput[] = [];
  const objects = parseJsonArray(framesJson);
  if (objects.length > 0) {
    for (const o of objects) if (o && typeof o === 'object') frames.push(...framesOf(o as IngeroFrame, counter));
    return { frames: leafFirst(frames), truncatedNames: counter.truncated };
  } else {
    for (const ip of parseJsonArray(ipsJson)) {
      const address = parseAddress(ip);
      if (address !== null) frames.push({ kind: 'native', address });
    }
  }
  return { frames, truncatedNames: counter.truncated };
}

/** A stack whose Python frames Ingero put before native leaves, reordered leaf first; any other as is. */
function leafFirst(frames: FrameInput[]): FrameInput[] {
  const firstNative = frames.findIndex((f) => f.kind === 'native');
  if (firstNative <= 0) return frames;
  const natives = frames.slice(firstNative);
  // Python frames among the native ones, or an interpreter frame: Ingero placed them itself.
  if (natives.some((f) => f.kind !== 'native' || /libpython|python3\./.test(f.mapping?.path ?? ''))) return frames;
  return [...natives, ...frames.slice(0, firstNative)];
}

function framesOf(o: IngeroFrame, counter: { truncated: number }): FrameInput[] {
  const out: FrameInput[] = [];
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? fit(v, counter) : undefined);
  const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null);
  const pyFile = text(o.pf);
  const pyFunc = text(o.pfn);
  if (pyFile !== undefined || pyFunc !== undefined) {
    out.push({ kind: 'python', function: { name: pyFunc ?? '', filename: pyFile ?? '', start_line: int(o.pl) } });
  }
  const symbol = text(o.s);
  const address = parseAddress(o.i);
  const file = text(o.f);
  if (symbol === undefined && address === null && file === undefined) return out;
  let fn: FrameInput['function'];
  let offset: number | null = null;
  if (symbol !== undefined) {
    const m = /^(.*)\+0x([0-9a-fA-F]{1,12})$/.exec(symbol);
    const name = m ? m[1]! : symbol;
    if (m) offset = parseInt(m[2]!, 16);
    fn = { name: clampText(demangle(name), SHORT_TEXT_BYTES), system_name: name };
  }
  out.push({ kind: 'native', address, mapping: file !== undefined ? { path: file } : undefined, function: fn, offset, line: int(o.l) });
  return out;
}

function parseJsonArray(json: string): unknown[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** A hex address string as the signed 64-bit value SQLite stores; null when not an address. */
function parseAddress(v: unknown): bigint | null {
  if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(v)) return null;
  return BigInt.asIntN(64, BigInt(v));
}

function fit(s: string, counter: { truncated: number }): string {
  const cut = clampText(s, SHORT_TEXT_BYTES);
  if (cut !== s) counter.truncated++;
  return cut;
}

// Streams one Chrome trace JSON file (plain or gzip) event by event, in bounded memory: each
// element of traceEvents is handed over as soon as it is parsed and then dropped; the other
// top-level keys (distributedInfo, deviceProperties, baseTimeNanoseconds, ...) are handed over
// whole. Numbers stay as their decimal text (see micros.ts) so times can be converted exactly.
import { Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { BundleError } from '../../format/index.ts';

/** One element of traceEvents as parsed: numbers are their JSON text. */
export type RawEvent = Readonly<Record<string, unknown>>;

export interface TraceStreamHandlers {
  readonly onEvent: (event: RawEvent) => void;
  readonly onTopLevel: (key: string, value: unknown) => void;
  /** File bytes read so far (compressed bytes for gzip), of the file's size. */
  readonly onBytes?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface TraceStreamResult {
  readonly bytes: number;
  readonly sha256: string;
  readonly gzip: boolean;
  /** Whether traceEvents held at least one event. */
  readonly sawTraceEvents: boolean;
}

/**
 * Top-level keys the profiler writes besides traceEvents. They are asked for by name: a parser
 * path matching every top-level key would match traceEvents too, and the library keeps the
 * children of a value it is going to emit, so memory would grow with the trace.
 */
const TOP_LEVEL_KEYS = ['schemaVersion', 'distributedInfo', 'deviceProperties', 'baseTimeNanoseconds', 'traceName', 'displayTimeUnit', 'record_shapes', 'with_stack', 'profile_memory', 'with_flops', 'with_modules', 'cuda_runtime_version', 'cuda_driver_version', 'cupti_version', 'hip_runtime_version', 'trace_id', 'displayName'];
export const TRACE_PATHS = ['$.traceEvents.*', ...TOP_LEVEL_KEYS.map((k) => `$.${k}`)];

/** A tokenizer that keeps every JSON number as the text it was written as. */
export class TextNumberTokenizer extends Tokenizer {
  override parseNumber(numberStr: string): number {
    return numberStr as unknown as number;
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** First bytes of a file (for sniffing the format). */
export function headBytes(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

export async function streamTrace(path: string, bytes: number, handlers: TraceStreamHandlers): Promise<TraceStreamResult> {
  const gzip = isGzip(headBytes(path, 2));
  const hash = createHash('sha256');
  const tokenizer = new TextNumberTokenizer();
  const parser = new TokenParser({ paths: TRACE_PATHS, keepStack: false });
  let sawTraceEvents = false;
  let first = true;
  tokenizer.onToken = (t) => {
    if (first) {
      first = false;
      if (t.token !== TokenType.LEFT_BRACE) {
        const what = t.token === TokenType.LEFT_BRACKET ? 'a JSON array (a Chrome trace in array form)' : 'a JSON value that is not an object';
        throw new BundleError('USAGE', `${path}: holds ${what}, not a PyTorch profiler (Kineto) trace, whose top level is an object with traceEvents — export the trace with torch.profiler (export_chrome_trace or tensorboard_trace_handler)`);
      }
    }
    parser.write(t);
  };
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 1) {
      handlers.onTopLevel(String(key), value);
    } else if (stack.length === 2 && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      sawTraceEvents = true;
      handlers.onEvent(value as RawEvent);
    }
  };
  parser.onError = (err) => {
    throw err;
  };

  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  raw.on('data', (chunk) => {
    read += chunk.length;
    hash.update(chunk as Buffer);
  });
  const source = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (err) => source.destroy(err));
  try {
    for await (const chunk of source) {
      tokenizer.write(chunk as Buffer);
      handlers.onBytes?.(read, bytes);
      if (handlers.signal?.aborted) throw new BundleError('USAGE', `${path}: import interrupted — nothing was written`);
    }
    if (!parser.isEnded) tokenizer.end();
  } catch (err) {
    raw.destroy();
    throw streamError(path, err, read);
  }
  if (!parser.isEnded) throw truncated(path);
  return { bytes: read, sha256: hash.digest('hex'), gzip, sawTraceEvents };
}

function truncated(path: string): BundleError {
  return new BundleError('TRUNCATED', `${path}: the JSON ends before its top-level object closes — the trace was cut short (an interrupted copy or profiler run); copy it again`);
}

function streamError(path: string, err: unknown, read: number): BundleError {
  if (err instanceof BundleError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '')) return truncated(path);
  if (e?.code === 'Z_DATA_ERROR') return new BundleError('CORRUPT', `${path}: the gzip data is damaged after ${read} bytes (${e.message}) — copy the trace again`);
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR') return new BundleError(e.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `${path}: ${e.message} — check the path`);
  const message = String(e?.message ?? err).split('\n')[0]!.slice(0, 200);
  if (/ended in the middle|Unexpected end|not all the data was received/i.test(message)) return truncated(path);
  return new BundleError('CORRUPT', `${path}: is not valid JSON (${message}) — not a complete PyTorch profiler trace`);
}

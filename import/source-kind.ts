// What `ingero import` was handed, told by content (never by file name): an Ingero SQLite
// database, or a PyTorch profiler (Kineto) Chrome trace, plain or gzip-compressed JSON.
import { BundleError } from '../format/index.ts';
import { headBytes, isGzip } from './kineto/trace-stream.ts';

export type SourceKind = 'ingero-db' | 'kineto';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export function sourceKind(path: string): SourceKind {
  let head: Buffer;
  try {
    head = headBytes(path, 64);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'ENOENT') throw new BundleError('NOT_FOUND', `${path}: no such file — check the path`);
    if (e?.code === 'EISDIR') throw new BundleError('USAGE', `${path}: is a folder — give an Ingero database or a PyTorch profiler trace file`);
    throw new BundleError('IO', `${path}: cannot be read (${e?.message ?? String(err)}) — check its permissions`);
  }
  if (head.subarray(0, 16).equals(SQLITE_MAGIC)) return 'ingero-db';
  if (isGzip(head)) return 'kineto';
  const text = head.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return 'kineto';
  if (head.length === 0) throw new BundleError('USAGE', `${path}: is empty — give an Ingero database (ingero.db) or a PyTorch profiler trace (trace.json[.gz])`);
  throw new BundleError('USAGE', `${path}: is not an SQLite database (an Ingero recording) nor a PyTorch profiler trace (JSON, optionally gzip) — ingero import reads those two`);
}

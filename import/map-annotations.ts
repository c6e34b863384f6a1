// Ingero `annotations` (v0.17: labels posted by the workload over a socket) → bundle annotations.
// A span has span_start/span_end in epoch ns; 0 means an instant at `timestamp`. The fields the
// bundle has no column for (the /proc start_time incarnation key and the writer's SO_PEERCRED
// identity) are kept as extra labels under the reserved prefix "ingero.", only when non-zero.
import type Database from 'better-sqlite3';
import { clampText, type BundleWriter } from '../format/index.ts';
import type { SourceSchema } from './detect-generation.ts';
import { sessionAt, type Session } from './map-sessions.ts';
import { readRows, text } from './source-rows.ts';

interface AnnotationRow {
  timestamp: bigint;
  labels: string;
  pid: bigint;
  start_time: bigint;
  span_start: bigint;
  span_end: bigint;
  peer_uid: bigint;
  peer_gid: bigint;
  peer_pid: bigint;
}

const COLUMNS = { timestamp: '0', labels: "'{}'", pid: '0', start_time: '0', span_start: '0', span_end: '0', peer_uid: '0', peer_gid: '0', peer_pid: '0' };

export function writeAnnotations(w: BundleWriter, db: Database.Database, schema: SourceSchema, sessions: readonly Session[], nodeOf: (s: Session) => number, originUnixNs: bigint): number {
  let n = 0;
  for (const r of readRows<AnnotationRow>(db, schema, 'annotations', COLUMNS, 'ORDER BY timestamp, id')) {
    const start = r.span_start > 0n ? r.span_start : r.timestamp;
    const s = sessionAt(sessions, start);
    const labels = parseLabels(text(r.labels));
    for (const key of ['start_time', 'peer_uid', 'peer_gid', 'peer_pid'] as const) {
      if (r[key] !== 0n) labels[`ingero.${key}`] = r[key].toString();
    }
    w.addAnnotation({
      node_id: s ? nodeOf(s) : 0,
      ts_ns: Number(start - originUnixNs),
      end_ns: r.span_start > 0n && r.span_end > 0n ? Number(r.span_end - originUnixNs) : null,
      pid: r.pid !== 0n ? Number(r.pid) : null,
      labels: fitLabels(labels),
    });
    n++;
  }
  return n;
}

/** A JSON object of strings; other values are stringified, unparseable text kept under "ingero.raw". */
function parseLabels(json: string): Record<string, string> {
  try {
    const v = JSON.parse(json);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]));
    }
  } catch {
    /* kept raw below */
  }
  return { 'ingero.raw': json };
}

/** The bundle caps an annotation's labels at 64 KiB of JSON: the leading labels that fit, each bounded. */
function fitLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 2;
  for (const [k, v] of Object.entries(labels)) {
    const key = clampText(k, 1024);
    const value = clampText(v, 16 * 1024);
    bytes += Buffer.byteLength(JSON.stringify(key) + JSON.stringify(value)) + 2;
    if (bytes > 64 * 1024) break;
    out[key] = value;
  }
  return out;
}

// Ingero `system_snapshots` (one row per second: CPU %, memory %, available memory and swap in
// MiB, load1) → the bundle's system_samples time series. The table has no node column: a merged
// database's rows go to the node whose session covers them.
import type Database from 'better-sqlite3';
import type { BundleWriter } from '../format/index.ts';
import type { SourceSchema } from './detect-generation.ts';
import { sessionAt, type Session } from './map-sessions.ts';
import { readRows } from './source-rows.ts';

const MIB = 1024 * 1024;

interface SnapshotRow {
  timestamp: bigint;
  cpu_pct: number | bigint | null;
  mem_pct: number | bigint | null;
  mem_avail: bigint | null;
  swap_mb: bigint | null;
  load_avg: number | bigint | null;
}

const real = (v: number | bigint | null) => (v === null ? null : Number(v));

export function writeSnapshots(w: BundleWriter, db: Database.Database, schema: SourceSchema, sessions: readonly Session[], nodeOf: (s: Session) => number, originUnixNs: bigint): number {
  let n = 0;
  const columns = { timestamp: '0', cpu_pct: 'NULL', mem_pct: 'NULL', mem_avail: 'NULL', swap_mb: 'NULL', load_avg: 'NULL' };
  for (const r of readRows<SnapshotRow>(db, schema, 'system_snapshots', columns, 'WHERE timestamp > 0 ORDER BY timestamp')) {
    const s = sessionAt(sessions, r.timestamp);
    w.addSystemSample({
      node_id: s ? nodeOf(s) : 0,
      ts_ns: Number(r.timestamp - originUnixNs),
      cpu_pct: real(r.cpu_pct),
      mem_pct: real(r.mem_pct),
      mem_avail_bytes: r.mem_avail === null ? null : Number(r.mem_avail) * MIB,
      swap_bytes: r.swap_mb === null ? null : Number(r.swap_mb) * MIB,
      load1: real(r.load_avg),
    });
    n++;
  }
  return n;
}

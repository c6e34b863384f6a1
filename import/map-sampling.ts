// Ingero's `events` is a sample, not a census: its persistence filter keeps everything only for
// the first 10 s of a run, then mostly anomalies, syncs and lifecycle events, and it never stores
// mm_page_alloc at all. Complete counts live in `event_aggregates` (1-minute buckets) and, since
// v0.10, `event_aggregates_5s`. This module writes that down in the bundle (table `sampling`,
// from when and for what) and carries the aggregates over unchanged (table `op_aggregates`,
// never reconciled with row counts: Ingero's own `stored` can disagree with the rows present).
import type Database from 'better-sqlite3';
import type { BundleWriter } from '../format/index.ts';
import type { SourceSchema } from './detect-generation.ts';
import { opIdOf } from './map-events.ts';
import { recordedAll, sessionAt, type Session } from './map-sessions.ts';
import { big, readRows } from './source-rows.ts';

const FULL_STORAGE_NS = 10_000_000_000n;
const HOST = 3;
const MM_PAGE_ALLOC = opIdOf(HOST, 3);

const SELECTIVE_NOTE =
  'Ingero stored every event only during the first 10 s of this run. After that it stored only process exec/exit/fork, OOM and pod events, sched_switch of CUDA-active or tracked pids, sync calls (cudaStreamSynchronize, cudaDeviceSynchronize, cuCtxSynchronize), TCP retransmits, block IO slower than 10 ms, and anomalies (duration above 3x the live p50). Other events (cuLaunchKernel, wakeups, fast copies, ...) were only counted, in op_aggregates. Fewer events after this point is sampling, not a drop in throughput.';
const PAGE_ALLOC_NOTE = 'Ingero never stores mm_page_alloc as events; its complete counts and bytes are in op_aggregates.';

function stackCapNote(flags: readonly string[]): string {
  const cap = flags.find((f) => f.startsWith('stack-samples='))?.split('=')[1] ?? '100 (default)';
  return `Ingero stored at most ${cap} events per distinct call stack (--stack-samples); anomalies bypassed the cap.`;
}

/** Writes the sampling rows; returns how many. */
export function writeSampling(w: BundleWriter, sessions: readonly Session[], nodeOf: (s: Session) => number, originUnixNs: bigint): number {
  let rows = 0;
  const rel = (t: bigint) => Number(t - originUnixNs);
  if (sessions.length === 0) {
    w.addSampling({ from_ns: 0, policy: 'ingero-selective-storage', note: `No sessions table: when the run started is unknown, so all events are treated as a sample. ${SELECTIVE_NOTE}` });
    w.addSampling({ source_id: HOST, op_id: MM_PAGE_ALLOC, from_ns: 0, policy: 'ingero-aggregates-only', note: PAGE_ALLOC_NOTE });
    return 2;
  }
  for (const s of sessions) {
    const node_id = nodeOf(s);
    const from = rel(s.startedAt);
    const to = s.stoppedAt > s.startedAt ? rel(s.stoppedAt) : null;
    w.addSampling({ node_id, source_id: HOST, op_id: MM_PAGE_ALLOC, from_ns: from, to_ns: to, policy: 'ingero-aggregates-only', note: PAGE_ALLOC_NOTE });
    rows++;
    if (s.flags.includes('stack')) {
      for (const source of [1, 4]) {
        w.addSampling({ node_id, source_id: source, from_ns: from, to_ns: to, policy: 'ingero-stack-sample-cap', note: stackCapNote(s.flags) });
        rows++;
      }
    }
    const selectiveFrom = s.startedAt + FULL_STORAGE_NS;
    if (!recordedAll(s) && (to === null || rel(selectiveFrom) < to)) {
      w.addSampling({ node_id, from_ns: rel(selectiveFrom), to_ns: to, policy: 'ingero-selective-storage', note: SELECTIVE_NOTE });
      rows++;
    }
  }
  return rows;
}

interface AggregateRow {
  bucket: bigint;
  source: bigint;
  op: bigint;
  pid: bigint;
  count: bigint;
  stored: bigint;
  sum_dur: bigint;
  min_dur: bigint;
  max_dur: bigint;
  sum_arg0: bigint;
}

const AGGREGATE_COLUMNS = { bucket: '0', source: '0', op: '0', pid: '0', count: '0', stored: '0', sum_dur: '0', min_dur: '0', max_dur: '0', sum_arg0: '0' };
export const AGGREGATE_TABLES = [
  { table: 'event_aggregates', widthNs: 60_000_000_000n },
  { table: 'event_aggregates_5s', widthNs: 5_000_000_000n },
] as const;

/** Copies both aggregate tables; returns the rows written. */
export function writeAggregates(w: BundleWriter, db: Database.Database, schema: SourceSchema, sessions: readonly Session[], nodeOf: (s: Session) => number, originUnixNs: bigint): number {
  let n = 0;
  for (const { table, widthNs } of AGGREGATE_TABLES) {
    for (const r of readRows<AggregateRow>(db, schema, table, AGGREGATE_COLUMNS, 'ORDER BY bucket, source, op, pid')) {
      const s = sessionAt(sessions, r.bucket + widthNs / 2n);
      w.addAggregate({
        node_id: s ? nodeOf(s) : 0,
        bucket_ns: Number(r.bucket - originUnixNs),
        width_ns: Number(widthNs),
        op_id: opIdOf(Number(r.source), Number(r.op)),
        pid: Number(r.pid),
        count: Number(r.count),
        stored: Number(r.stored),
        sum_dur_ns: big(r.sum_dur),
        min_dur_ns: big(r.min_dur),
        max_dur_ns: big(r.max_dur),
        sum_arg0: big(r.sum_arg0),
      });
      n++;
    }
  }
  return n;
}

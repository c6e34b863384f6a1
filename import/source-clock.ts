// The bundle clock for an imported database: origin = the earliest instant anything in the file
// refers to (event starts, session starts, snapshots, aggregate buckets, chains, annotations),
// floored to the second, so every relative time is >= 0. Ingero's timestamps are already one
// clock per node (epoch ns from CLOCK_MONOTONIC plus an offset fixed at tracer start), so
// ts_ns = epoch_ns - origin for all of them.
import type Database from 'better-sqlite3';
import { BundleError } from '../format/index.ts';
import type { SourceSchema } from './detect-generation.ts';
import { START_SQL } from './map-events.ts';

const NS_PER_S = 1_000_000_000n;

export function findOrigin(db: Database.Database, schema: SourceSchema): bigint {
  const candidates: string[] = [];
  candidates.push(`SELECT min(${START_SQL}) FROM events`);
  if (schema.has('sessions', 'started_at')) candidates.push('SELECT min(started_at) FROM sessions WHERE started_at > 0');
  if (schema.has('system_snapshots', 'timestamp')) candidates.push('SELECT min(timestamp) FROM system_snapshots WHERE timestamp > 0');
  for (const t of ['event_aggregates', 'event_aggregates_5s']) if (schema.has(t, 'bucket')) candidates.push(`SELECT min(bucket) FROM ${t} WHERE bucket > 0`);
  if (schema.has('causal_chains', 'detected_at')) candidates.push('SELECT min(detected_at) FROM causal_chains WHERE detected_at > 0');
  if (schema.has('annotations', 'timestamp')) {
    const at = schema.has('annotations', 'span_start') ? 'CASE WHEN span_start > 0 THEN span_start ELSE timestamp END' : 'timestamp';
    candidates.push(`SELECT min(${at}) FROM annotations WHERE timestamp > 0`);
  }
  let min: bigint | null = null;
  for (const sql of candidates) {
    const v = db.prepare(sql).safeIntegers(true).pluck().get() as bigint | null;
    if (v !== null && (min === null || v < min)) min = v;
  }
  if (min === null) return 0n;
  const floored = (min / NS_PER_S) * NS_PER_S;
  return floored > min ? floored - NS_PER_S : floored;
}

/** ns since the origin as a JS number; refuses spans a double cannot hold exactly (> 104 days). */
export function relativeNs(path: string, t: bigint, origin: bigint): number {
  const d = t - origin;
  if (d > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BundleError('SCHEMA', `${path}: timestamps span more than 104 days (${t} vs origin ${origin}) — the file mixes unrelated clocks or holds a bad timestamp`);
  }
  return Number(d);
}

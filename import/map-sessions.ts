// Ingero `sessions` (one row per `ingero trace` run) → bundle metadata, and the node/time lookup
// the other tables need: snapshots and aggregates have no node column, so a merged database's
// rows are placed on the node whose session covers their time.
import type Database from 'better-sqlite3';
import type { SourceSchema } from './detect-generation.ts';
import { big, jsonRow, text } from './source-rows.ts';

export interface Session {
  readonly startedAt: bigint;
  /** 0 when the run did not record its end. */
  readonly stoppedAt: bigint;
  readonly node: string;
  readonly flags: readonly string[];
  /** Every column, JSON-safe, for metadata. */
  readonly row: Record<string, unknown>;
}

export function readSessions(db: Database.Database, schema: SourceSchema): Session[] {
  if (!schema.has('sessions')) return [];
  const order = schema.has('sessions', 'started_at') ? 'ORDER BY started_at, rowid' : 'ORDER BY rowid';
  const rows = db.prepare(`SELECT * FROM sessions ${order}`).safeIntegers(true).all() as Record<string, unknown>[];
  return rows.map((r) => ({
    startedAt: big(r.started_at),
    stoppedAt: big(r.stopped_at),
    node: text(r.node),
    flags: text(r.flags)
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean),
    row: jsonRow(r),
  }));
}

/** True when Ingero stored every event it saw (`--record-all`), so only rules 1-2 thinned them. */
export function recordedAll(s: Session): boolean {
  return s.flags.includes('record-all');
}

/** The session covering an instant; the nearest one when none does. */
export function sessionAt(sessions: readonly Session[], t: bigint): Session | undefined {
  let best: Session | undefined;
  let bestGap = -1n;
  for (const s of sessions) {
    const end = s.stoppedAt > 0n ? s.stoppedAt : s.startedAt;
    const gap = t < s.startedAt ? s.startedAt - t : t > end && s.stoppedAt > 0n ? t - end : 0n;
    if (best === undefined || gap < bestGap) {
      best = s;
      bestGap = gap;
    }
  }
  return best;
}

/** Host facts as bundle metadata keys. When sessions disagree, the value is the list of distinct values. */
export function hostMetadata(sessions: readonly Session[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, values: unknown[]) => {
    const distinct = [...new Map(values.filter((v) => v !== '' && v !== 0 && v !== null && v !== undefined).map((v) => [JSON.stringify(v), v])).values()];
    if (distinct.length === 1) out[key] = distinct[0];
    else if (distinct.length > 1) out[key] = distinct;
  };
  // Rows are jsonRow'd, so their strings are already bounded.
  const col = (name: string) => sessions.map((s) => s.row[name]);
  const gpu = col('gpu_model').map((v) => splitGpuModel(text(v)));
  put('gpu.model', gpu.map((g) => g.model));
  put('gpu.memory_bytes', gpu.map((g) => g.memoryBytes));
  put('gpu.driver_version', col('gpu_driver'));
  put('cuda.runtime_version', col('cuda_ver'));
  put('host.cpu_model', col('cpu_model'));
  put('host.cpu_cores', col('cpu_cores'));
  put('host.mem_total_bytes', col('mem_total').map((v) => (typeof v === 'number' ? v * 1024 * 1024 : v)));
  put('host.kernel', col('kernel'));
  put('host.os', col('os_release'));
  put('host.python_version', col('python_ver'));
  put('ingero.version', col('ingero_ver'));
  return out;
}

/** "NVIDIA GeForce RTX 4090, 24564 MiB" → model and bytes. */
function splitGpuModel(s: string): { model: string; memoryBytes: number | null } {
  const m = /^(.*), (\d+) MiB$/.exec(s);
  return m ? { model: m[1]!, memoryBytes: Number(m[2]) * 1024 * 1024 } : { model: s, memoryBytes: null };
}

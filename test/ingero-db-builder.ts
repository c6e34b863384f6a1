// Builds synthetic Ingero databases for the import tests, from the schema in
// ../shared/reference/ingero-db-format.md (§4-§6). The real fixtures lack the newer columns and
// tables (events.comm, event_aggregates_5s, annotations), CUDA Graph events and Python frames,
// so those are exercised here. Columns are laid out as in a v0.8 file upgraded in place (node
// columns after cgroup_id, comm last), which is why the importer must read by name.
import Database from 'better-sqlite3';

export const V010_DDL = `
CREATE TABLE events (id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, pid INTEGER NOT NULL, tid INTEGER NOT NULL,
  source INTEGER NOT NULL, op INTEGER NOT NULL, duration INTEGER NOT NULL, gpu_id INTEGER NOT NULL DEFAULT 0,
  arg0 INTEGER NOT NULL DEFAULT 0, arg1 INTEGER NOT NULL DEFAULT 0, ret_code INTEGER NOT NULL DEFAULT 0,
  stack_hash INTEGER NOT NULL DEFAULT 0, stack_ips TEXT NOT NULL DEFAULT '', cgroup_id INTEGER NOT NULL DEFAULT 0,
  node TEXT NOT NULL DEFAULT '', rank INTEGER, local_rank INTEGER, world_size INTEGER, comm TEXT NOT NULL DEFAULT '');
CREATE TABLE stack_traces (hash INTEGER PRIMARY KEY, ips TEXT NOT NULL, frames TEXT NOT NULL DEFAULT '');
CREATE TABLE causal_chains (id TEXT PRIMARY KEY, detected_at INTEGER NOT NULL, severity TEXT NOT NULL,
  summary TEXT NOT NULL, root_cause TEXT NOT NULL, explanation TEXT NOT NULL,
  recommendations TEXT NOT NULL DEFAULT '', cuda_op TEXT NOT NULL DEFAULT '',
  cuda_p99_us INTEGER NOT NULL DEFAULT 0, cuda_p50_us INTEGER NOT NULL DEFAULT 0,
  tail_ratio REAL NOT NULL DEFAULT 0, timeline TEXT NOT NULL DEFAULT '', node TEXT NOT NULL DEFAULT '');
CREATE TABLE schema_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE system_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp INTEGER NOT NULL UNIQUE,
  cpu_pct REAL NOT NULL, mem_pct REAL NOT NULL, mem_avail INTEGER NOT NULL, swap_mb INTEGER NOT NULL, load_avg REAL NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at INTEGER NOT NULL,
  stopped_at INTEGER NOT NULL DEFAULT 0, gpu_model TEXT NOT NULL DEFAULT '', gpu_driver TEXT NOT NULL DEFAULT '',
  cpu_model TEXT NOT NULL DEFAULT '', cpu_cores INTEGER NOT NULL DEFAULT 0, mem_total INTEGER NOT NULL DEFAULT 0,
  kernel TEXT NOT NULL DEFAULT '', os_release TEXT NOT NULL DEFAULT '', cuda_ver TEXT NOT NULL DEFAULT '',
  python_ver TEXT NOT NULL DEFAULT '', ingero_ver TEXT NOT NULL DEFAULT '', pid_filter TEXT NOT NULL DEFAULT '',
  flags TEXT NOT NULL DEFAULT '', node TEXT NOT NULL DEFAULT '', rank INTEGER, local_rank INTEGER, world_size INTEGER);
CREATE TABLE process_names (pid INTEGER NOT NULL, name TEXT NOT NULL, seen_at INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (pid));
CREATE TABLE event_aggregates (bucket INTEGER NOT NULL, source INTEGER NOT NULL, op INTEGER NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0, count INTEGER NOT NULL DEFAULT 0, stored INTEGER NOT NULL DEFAULT 0,
  sum_dur INTEGER NOT NULL DEFAULT 0, min_dur INTEGER NOT NULL DEFAULT 0, max_dur INTEGER NOT NULL DEFAULT 0,
  sum_arg0 INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (bucket, source, op, pid));
CREATE TABLE event_aggregates_5s (bucket INTEGER NOT NULL, source INTEGER NOT NULL, op INTEGER NOT NULL,
  pid INTEGER NOT NULL DEFAULT 0, count INTEGER NOT NULL DEFAULT 0, stored INTEGER NOT NULL DEFAULT 0,
  sum_dur INTEGER NOT NULL DEFAULT 0, min_dur INTEGER NOT NULL DEFAULT 0, max_dur INTEGER NOT NULL DEFAULT 0,
  sum_arg0 INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (bucket, source, op, pid));
CREATE TABLE annotations (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp INTEGER NOT NULL,
  labels TEXT NOT NULL, pid INTEGER NOT NULL DEFAULT 0, start_time INTEGER NOT NULL DEFAULT 0,
  span_start INTEGER NOT NULL DEFAULT 0, span_end INTEGER NOT NULL DEFAULT 0,
  peer_uid INTEGER NOT NULL DEFAULT 0, peer_gid INTEGER NOT NULL DEFAULT 0, peer_pid INTEGER NOT NULL DEFAULT 0);
CREATE TABLE cgroup_metadata (cgroup_id INTEGER PRIMARY KEY, container_id TEXT NOT NULL DEFAULT '',
  cgroup_path TEXT NOT NULL DEFAULT '', pod_name TEXT NOT NULL DEFAULT '', namespace TEXT NOT NULL DEFAULT '');
CREATE TABLE cgroup_schedstat (cgroup_id INTEGER NOT NULL, p99_off_cpu INTEGER NOT NULL,
  total_off_cpu INTEGER NOT NULL, event_count INTEGER NOT NULL, window_start INTEGER NOT NULL DEFAULT 0,
  window_end INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (cgroup_id, window_end));
CREATE INDEX idx_events_timestamp ON events(timestamp);
`;

export interface EventSpec {
  readonly id: string;
  readonly ts: bigint;
  readonly pid: number;
  readonly tid: number;
  readonly source: number;
  readonly op: number;
  readonly dur?: bigint;
  readonly arg0?: bigint;
  readonly arg1?: bigint;
  readonly gpuId?: number;
  readonly ret?: number;
  readonly stackHash?: bigint;
  readonly cgroup?: bigint;
  readonly node?: string;
  readonly comm?: string;
}

/** Creates a v0.10+ database at path in WAL mode (as Ingero leaves them); returns it open. */
export function createV010(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(V010_DDL);
  db.pragma('user_version = 10');
  db.prepare("INSERT INTO schema_info VALUES ('version', '0.10'), ('comm_note', 'events.comm is the kernel task name')").run();
  return db;
}

export function insertEvents(db: Database.Database, events: readonly EventSpec[]): void {
  const ins = db.prepare('INSERT INTO events (id, timestamp, pid, tid, source, op, duration, gpu_id, arg0, arg1, ret_code, stack_hash, cgroup_id, node, comm) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
  db.transaction(() => {
    for (const e of events) {
      ins.run(e.id, e.ts, e.pid, e.tid, e.source, e.op, e.dur ?? 0n, e.gpuId ?? 0, e.arg0 ?? 0n, e.arg1 ?? 0n, e.ret ?? 0, e.stackHash ?? 0n, e.cgroup ?? 0n, e.node ?? '', e.comm ?? '');
    }
  })();
}

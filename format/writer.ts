// BundleWriter: streams rows into a staging SQLite database beside the output path, then seals
// it into a compressed bundle. The staging database is the crash-safety net: it is committed
// every STAGING_COMMIT_ROWS events, survives SIGKILL, and `recoverBundle` seals it later.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { SOURCES } from './catalog.ts';
import { clampText } from './clamp-text.ts';
import { BundleError, ioError } from './errors.ts';
import { APPLICATION_ID, SCHEMA_VERSION, TABLES, tableDDL, tableSpec } from './schema.ts';
import { removeStaging, sealStaging, type SealOptions, type SealResult } from './seal.ts';

export type IntLike = number | bigint;

export interface EventInput {
  /** Start, ns since the bundle origin. */
  readonly ts_ns: number;
  readonly dur_ns: number;
  readonly node_id?: number;
  readonly pid: number;
  readonly tid: number;
  readonly op_id: number;
  readonly arg0?: IntLike | null;
  readonly arg1?: IntLike | null;
  readonly arg2?: IntLike | null;
  readonly arg3?: IntLike | null;
  readonly ret?: number | null;
  readonly stack_id?: number | null;
  /** Correlation id linking a runtime call to the GPU activity it launched (schema 2). */
  readonly corr_id?: number | null;
}

/** A kernel's name and launch configuration (table gpu_kernels, schema 2). */
export interface KernelInput {
  readonly name: string;
  readonly grid?: readonly [number, number, number] | null;
  readonly block?: readonly [number, number, number] | null;
  readonly registers?: number | null;
  readonly shared_memory?: number | null;
}

export interface ProcessInput {
  readonly node_id?: number;
  readonly pid: number;
  readonly ppid?: number | null;
  readonly start_ns?: number | null;
  readonly end_ns?: number | null;
  readonly exit_code?: number | null;
  readonly comm?: string;
  readonly cmdline?: string;
  readonly cgroup?: string;
  /** 0 for a process seen, not traced (schema 2); default 1. */
  readonly traced?: 0 | 1;
}

/** One on-CPU sample of a traced thread (table cpu_samples, schema 2). */
export interface CpuSampleInput {
  readonly node_id?: number;
  readonly ts_ns: number;
  readonly pid: number;
  readonly tid: number;
  readonly cpu: number;
  readonly stack_id?: number | null;
}

export interface ThreadInput {
  readonly node_id?: number;
  readonly tid: number;
  readonly pid: number;
  readonly first_ns: number;
  readonly comm?: string;
}

export interface MappingInput {
  readonly node_id?: number;
  readonly pid?: number | null;
  readonly path: string;
  readonly build_id?: string | null;
  readonly start_addr?: IntLike | null;
  readonly end_addr?: IntLike | null;
  readonly file_offset?: IntLike | null;
}

export interface FunctionInput {
  /** Display name (demangled when possible). */
  readonly name: string;
  /** Name as in the symbol table; defaults to name. */
  readonly system_name?: string;
  readonly filename?: string;
  readonly start_line?: number | null;
}

/** One frame of a stack, leaf first. */
export interface FrameInput {
  readonly kind: 'native' | 'python';
  readonly address?: IntLike | null;
  readonly rel_address?: IntLike | null;
  readonly mapping?: MappingInput;
  readonly function?: FunctionInput;
  readonly offset?: number | null;
  readonly line?: number | null;
}

export interface CaptureLossInput {
  readonly node_id?: number;
  readonly probe: string;
  readonly source_id?: number | null;
  readonly emitted: number;
  readonly dropped: number;
  readonly note?: string;
}

export interface SamplingInput {
  readonly node_id?: number;
  readonly source_id?: number | null;
  readonly op_id?: number | null;
  readonly from_ns: number;
  readonly to_ns?: number | null;
  readonly policy: string;
  readonly note?: string;
}

export interface AggregateInput {
  readonly node_id?: number;
  readonly bucket_ns: number;
  readonly width_ns: number;
  readonly op_id: number;
  readonly pid: number;
  readonly count: number;
  readonly stored: number;
  readonly sum_dur_ns: IntLike;
  readonly min_dur_ns: IntLike;
  readonly max_dur_ns: IntLike;
  readonly sum_arg0: IntLike;
}

export interface SystemSampleInput {
  readonly node_id?: number;
  readonly ts_ns: number;
  readonly cpu_pct?: number | null;
  readonly mem_pct?: number | null;
  readonly mem_avail_bytes?: number | null;
  readonly swap_bytes?: number | null;
  readonly load1?: number | null;
}

export interface ImportedFindingInput {
  readonly origin: string;
  readonly origin_id: string;
  readonly node_id?: number;
  readonly detected_ns?: number | null;
  readonly severity: string;
  readonly op?: string;
  readonly summary: string;
  readonly root_cause?: string;
  readonly explanation?: string;
  readonly recommendations?: readonly string[];
  readonly timeline?: readonly unknown[];
  readonly p50_ns?: number | null;
  readonly p99_ns?: number | null;
  readonly tail_ratio?: number | null;
  readonly occurrences?: number;
}

export interface AnnotationInput {
  readonly node_id?: number;
  readonly ts_ns: number;
  readonly end_ns?: number | null;
  readonly pid?: number | null;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * An op code this ingero's catalog lacks (a newer producer's), described as its producer did, so
 * a bundle rewritten here (merge) keeps the name and argument meanings instead of op_S_I.
 */
export interface OpDescriptionInput {
  readonly id: number;
  readonly source_id: number;
  readonly name: string;
  readonly description: string;
  readonly args: readonly { readonly arg: number; readonly name: string; readonly unit: string; readonly description: string }[];
}

export interface WriterOptions extends SealOptions {
  /** Unix time in ns that ts_ns = 0 stands for. */
  readonly originUnixNs: bigint;
  readonly producer: { readonly name: string; readonly version: string; readonly command: string };
  /** Name of node 0 (defaults to 'local'). */
  readonly nodeName?: string;
}

const EVENT_COLUMNS = ['ts_ns', 'dur_ns', 'node_id', 'pid', 'tid', 'op_id', 'arg0', 'arg1', 'arg2', 'arg3', 'ret', 'stack_id', 'corr_id'] as const;
/** Rows per multi-VALUES INSERT: amortises the per-statement cost (see platform.md §4.1). */
const BATCH_ROWS = 128;
/** Events per staging transaction: what a crash can lose at most. */
const STAGING_COMMIT_ROWS = 1 << 16;

/**
 * A 64-bit value as SQLite stores it: unsigned values of 2^63 and above (kernel addresses,
 * hashes) wrap to negative signed integers, as the schema says; readers apply BigInt.asUintN(64).
 */
function int64(v: IntLike | null | undefined): IntLike | null {
  if (v === undefined || v === null) return null;
  return typeof v === 'bigint' ? BigInt.asIntN(64, v) : v;
}

export function stagingPathFor(outPath: string): string {
  return `${outPath}.staging`;
}

export function createStagingSchema(db: Database.Database): void {
  db.pragma('page_size = 4096');
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  db.transaction(() => {
    for (const t of TABLES) db.exec(tableDDL(t));
    const src = db.prepare('INSERT INTO sources VALUES (?, ?, ?, ?)');
    for (const s of SOURCES) src.run(s.id, s.name, s.layer, s.description);
  })();
}

/**
 * Process and thread times are whole ns (spec §7; readers refuse anything else as smuggled data).
 * Callers that place them at fractions of a run (the demo generator) get them rounded here rather
 * than a bundle no reader opens.
 */
function wholeNs(ns: number | null | undefined): number | null {
  return ns == null ? null : Math.round(ns);
}

export class BundleWriter {
  readonly outPath: string;
  readonly stagingPath: string;
  private readonly db: Database.Database;
  private readonly options: WriterOptions;
  private readonly pending: unknown[] = [];
  private pendingRows = 0;
  private rowsInTransaction = 0;
  /** Rows were written since the last commit (inside a transaction SQLite may have rolled back). */
  private uncommitted = false;
  private lastTs = -Infinity;
  private sorted = true;
  private closed = false;
  private readonly insertBatch: Database.Statement;
  private readonly insertOne: Database.Statement;
  private readonly stmts: Record<string, Database.Statement>;
  private readonly mappings = new Map<string, number>();
  private readonly functions = new Map<string, number>();
  private readonly locations = new Map<string, number>();
  private readonly stacks = new Map<string, number>();
  private nextStackId = 1;
  private readonly kernels = new Map<string, number>();
  private readonly names = new Map<string, number>();

  private constructor(outPath: string, db: Database.Database, options: WriterOptions) {
    this.outPath = outPath;
    this.stagingPath = stagingPathFor(outPath);
    this.db = db;
    this.options = options;
    const one = `(${EVENT_COLUMNS.map(() => '?').join(',')})`;
    const insert = `INSERT INTO events (${EVENT_COLUMNS.join(',')}) VALUES `;
    this.insertBatch = db.prepare(insert + Array(BATCH_ROWS).fill(one).join(','));
    this.insertOne = db.prepare(insert + one);
    this.stmts = {
      process: db.prepare('INSERT INTO processes (node_id,pid,ppid,start_ns,end_ns,exit_code,comm,cmdline,cgroup,traced) VALUES (?,?,?,?,?,?,?,?,?,?)'),
      cpuSample: db.prepare('INSERT INTO cpu_samples (node_id,ts_ns,pid,tid,cpu,stack_id) VALUES (?,?,?,?,?,?)'),
      processUpdate: db.prepare('UPDATE processes SET node_id=?,pid=?,ppid=?,start_ns=?,end_ns=?,exit_code=?,comm=?,cmdline=?,cgroup=?,traced=? WHERE id=?'),
      thread: db.prepare('INSERT OR REPLACE INTO threads (node_id,tid,pid,first_ns,comm) VALUES (?,?,?,?,?)'),
      node: db.prepare('INSERT OR REPLACE INTO nodes (id,name,clock_offset_ns) VALUES (?,?,?)'),
      metadata: db.prepare('INSERT OR REPLACE INTO metadata (key,value) VALUES (?,?)'),
      mapping: db.prepare('INSERT INTO mappings (node_id,pid,start_addr,end_addr,file_offset,path,build_id) VALUES (?,?,?,?,?,?,?)'),
      function: db.prepare('INSERT INTO functions (name,system_name,filename,start_line) VALUES (?,?,?,?)'),
      location: db.prepare('INSERT INTO locations (kind,mapping_id,address,rel_address,function_id,offset,line) VALUES (?,?,?,?,?,?,?)'),
      frame: db.prepare('INSERT INTO stack_frames (stack_id,depth,location_id) VALUES (?,?,?)'),
      loss: db.prepare('INSERT INTO capture_loss (node_id,probe,source_id,emitted,dropped,note) VALUES (?,?,?,?,?,?)'),
      sampling: db.prepare('INSERT INTO sampling (node_id,source_id,op_id,from_ns,to_ns,policy,note) VALUES (?,?,?,?,?,?,?)'),
      aggregate: db.prepare('INSERT INTO op_aggregates (node_id,bucket_ns,width_ns,op_id,pid,count,stored,sum_dur_ns,min_dur_ns,max_dur_ns,sum_arg0) VALUES (?,?,?,?,?,?,?,?,?,?,?)'),
      sample: db.prepare('INSERT INTO system_samples (node_id,ts_ns,cpu_pct,mem_pct,mem_avail_bytes,swap_bytes,load1) VALUES (?,?,?,?,?,?,?)'),
      finding: db.prepare('INSERT INTO imported_findings (origin,origin_id,node_id,detected_ns,severity,op,summary,root_cause,explanation,recommendations,timeline,p50_ns,p99_ns,tail_ratio,occurrences) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)'),
      annotation: db.prepare('INSERT INTO annotations (node_id,ts_ns,end_ns,pid,labels) VALUES (?,?,?,?,?)'),
      op: db.prepare('INSERT OR IGNORE INTO ops (id,source_id,name,description) VALUES (?,?,?,?)'),
      opArg: db.prepare('INSERT OR IGNORE INTO op_args (op_id,arg,name,unit,description) VALUES (?,?,?,?,?)'),
      kernel: db.prepare('INSERT INTO gpu_kernels (name,grid_x,grid_y,grid_z,block_x,block_y,block_z,registers,shared_memory) VALUES (?,?,?,?,?,?,?,?,?)'),
      name: db.prepare('INSERT INTO names (name) VALUES (?)'),
    };
  }

  /** Starts a bundle at outPath. Refuses to overwrite a staging file left by an interrupted run. */
  static create(outPath: string, options: WriterOptions): BundleWriter {
    const staging = stagingPathFor(outPath);
    // SQLite's own words for this name neither the bundle nor the fix.
    const dir = dirname(outPath);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BundleError('USAGE', `${outPath}: ${dir} is not an existing directory — create it or choose another output path`);
    if (existsSync(staging)) {
      throw new BundleError('USAGE', `${staging}: staging data from an interrupted run is in the way — seal it with: ingero recover ${staging}  (or delete it)`);
    }
    let db: Database.Database;
    try {
      db = new Database(staging);
    } catch (err) {
      throw ioError(staging, err, 'creating the staging database');
    }
    try {
      createStagingSchema(db);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Checkpoint every 64 MiB of WAL instead of 4 MiB: fewer passes, and the WAL's pages stay
      // hot in the page cache (about +15% append rate, bench/format.ts).
      db.pragma('wal_autocheckpoint = 16384');
      const w = new BundleWriter(outPath, db, options);
      w.setMetadata('clock.origin_unix_ns', options.originUnixNs.toString());
      w.setMetadata('bundle.producer', options.producer);
      w.addNode(0, options.nodeName ?? 'local');
      return w;
    } catch (err) {
      db.close();
      throw ioError(staging, err, 'creating the staging database');
    }
  }

  private begin(): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
    this.uncommitted = true;
  }

  appendEvent(e: EventInput): void {
    if (e.ts_ns < this.lastTs && this.sorted) {
      this.sorted = false;
      this.setMetadata('staging.unsorted', true);
    }
    this.lastTs = e.ts_ns;
    this.pending.push(e.ts_ns, e.dur_ns, e.node_id ?? 0, e.pid, e.tid, e.op_id, int64(e.arg0), int64(e.arg1), int64(e.arg2), int64(e.arg3), e.ret ?? null, e.stack_id ?? null, e.corr_id ?? null);
    if (++this.pendingRows === BATCH_ROWS) this.writePending();
  }

  appendEvents(events: Iterable<EventInput>): void {
    for (const e of events) this.appendEvent(e);
  }

  private writePending(): void {
    this.begin();
    try {
      if (this.pendingRows === BATCH_ROWS) {
        this.insertBatch.run(this.pending);
      } else {
        const n = EVENT_COLUMNS.length;
        for (let i = 0; i < this.pendingRows; i++) this.insertOne.run(this.pending.slice(i * n, i * n + n));
      }
    } catch (err) {
      throw ioError(this.stagingPath, err, 'writing events');
    }
    this.rowsInTransaction += this.pendingRows;
    this.pending.length = 0;
    this.pendingRows = 0;
    if (this.rowsInTransaction >= STAGING_COMMIT_ROWS) this.commit();
  }

  private commit(): void {
    if (this.db.inTransaction) {
      try {
        this.db.exec('COMMIT');
      } catch (err) {
        throw ioError(this.stagingPath, err, 'committing to the staging database');
      }
    } else if (this.uncommitted) {
      // SQLite rolls a transaction back by itself after some failures (SQLITE_FULL among them):
      // what it held is gone, and a commit now must not pretend otherwise.
      throw new BundleError('IO', `${this.stagingPath}: the staging database rolled back the rows written since its last commit (disk full or I/O error)`);
    }
    this.uncommitted = false;
    this.rowsInTransaction = 0;
  }

  /** Makes everything appended so far durable in the staging database. */
  flush(): void {
    if (this.pendingRows > 0) this.writePending();
    this.commit();
  }

  private run(stmt: string, ...values: unknown[]): number {
    this.begin();
    try {
      return Number(this.stmts[stmt]!.run(...values).lastInsertRowid);
    } catch (err) {
      throw ioError(this.stagingPath, err, `writing ${stmt}`);
    }
  }

  addNode(id: number, name: string, clockOffsetNs = 0): void {
    this.run('node', id, name, clockOffsetNs);
  }

  setMetadata(key: string, value: unknown): void {
    this.run('metadata', key, JSON.stringify(value));
  }

  /** Adds a process row; returns its id, for updateProcess. */
  addProcess(p: ProcessInput): number {
    const fit = textFitter('processes');
    return this.run('process', p.node_id ?? 0, p.pid, p.ppid ?? null, wholeNs(p.start_ns), wholeNs(p.end_ns), p.exit_code ?? null, fit(p.comm), fit(p.cmdline), fit(p.cgroup), p.traced ?? 1);
  }

  /** Rewrites a process row added earlier (a recorder writes rows as it sees processes, then learns their exit). */
  updateProcess(id: number, p: ProcessInput): void {
    const fit = textFitter('processes');
    this.run('processUpdate', p.node_id ?? 0, p.pid, p.ppid ?? null, wholeNs(p.start_ns), wholeNs(p.end_ns), p.exit_code ?? null, fit(p.comm), fit(p.cmdline), fit(p.cgroup), p.traced ?? 1, id);
  }

  addCpuSample(c: CpuSampleInput): void {
    this.run('cpuSample', c.node_id ?? 0, c.ts_ns, c.pid, c.tid, c.cpu, c.stack_id ?? null);
  }

  addThread(t: ThreadInput): void {
    this.run('thread', t.node_id ?? 0, t.tid, t.pid, wholeNs(t.first_ns), textFitter('threads')(t.comm));
  }

  private internMapping(m: MappingInput): number {
    const key = JSON.stringify([m.node_id ?? 0, m.pid ?? null, m.path, m.build_id ?? null, String(m.start_addr ?? ''), String(m.end_addr ?? ''), String(m.file_offset ?? '')]);
    let id = this.mappings.get(key);
    if (id === undefined) {
      const fit = textFitter('mappings');
      id = this.run('mapping', m.node_id ?? 0, m.pid ?? null, int64(m.start_addr), int64(m.end_addr), int64(m.file_offset), fit(m.path), m.build_id == null ? null : fit(m.build_id));
      this.mappings.set(key, id);
    }
    return id;
  }

  private internFunction(f: FunctionInput): number {
    const key = JSON.stringify([f.name, f.system_name ?? f.name, f.filename ?? '', f.start_line ?? null]);
    let id = this.functions.get(key);
    if (id === undefined) {
      const fit = textFitter('functions');
      id = this.run('function', fit(f.name), fit(f.system_name ?? f.name), fit(f.filename), f.start_line ?? null);
      this.functions.set(key, id);
    }
    return id;
  }

  private internLocation(fr: FrameInput): number {
    const mappingId = fr.mapping ? this.internMapping(fr.mapping) : null;
    const functionId = fr.function ? this.internFunction(fr.function) : null;
    const key = JSON.stringify([fr.kind, mappingId, String(fr.address ?? ''), String(fr.rel_address ?? ''), functionId, fr.offset ?? null, fr.line ?? null]);
    let id = this.locations.get(key);
    if (id === undefined) {
      id = this.run('location', fr.kind, mappingId, int64(fr.address), int64(fr.rel_address), functionId, fr.offset ?? null, fr.line ?? null);
      this.locations.set(key, id);
    }
    return id;
  }

  /** Interns a stack (leaf first) and returns its id; the same frames always give the same id. */
  internStack(frames: readonly FrameInput[]): number {
    const locationIds = frames.map((f) => this.internLocation(f));
    const key = locationIds.join(',');
    let id = this.stacks.get(key);
    if (id === undefined) {
      id = this.nextStackId++;
      locationIds.forEach((loc, depth) => this.run('frame', id, depth, loc));
      this.stacks.set(key, id);
    }
    return id;
  }

  /** Interns a kernel name and launch configuration (gpu_kernels) and returns its id. */
  internKernel(k: KernelInput): number {
    const name = textFitter('gpu_kernels')(k.name);
    const key = JSON.stringify([name, k.grid ?? null, k.block ?? null, k.registers ?? null, k.shared_memory ?? null]);
    let id = this.kernels.get(key);
    if (id === undefined) {
      const g = k.grid ?? [null, null, null];
      const b = k.block ?? [null, null, null];
      id = this.run('kernel', name, g[0], g[1], g[2], b[0], b[1], b[2], k.registers ?? null, k.shared_memory ?? null);
      this.kernels.set(key, id);
    }
    return id;
  }

  /** Interns a name (table names) and returns its id, for op arguments of unit name. */
  internName(text: string): number {
    const name = textFitter('names')(text);
    let id = this.names.get(name);
    if (id === undefined) {
      id = this.run('name', name);
      this.names.set(name, id);
    }
    return id;
  }

  /**
   * Moves bundle-clock times written so far by deltaNs (of one node, or all): for producers that
   * learn where a stream of timestamps belongs only at its end (a trace whose clock base comes
   * last, files of several ranks). Covers the tables a producer of GPU traces writes: events,
   * annotations, processes and threads.
   */
  shiftTimes(deltaNs: number, nodeId?: number): void {
    if (deltaNs === 0) return;
    this.flush();
    const where = nodeId === undefined ? '' : ` WHERE node_id = ${Number(nodeId)}`;
    const d = Number(deltaNs);
    this.begin();
    try {
      this.db.exec(`UPDATE events SET ts_ns = ts_ns + ${d}${where}`);
      this.db.exec(`UPDATE annotations SET ts_ns = ts_ns + ${d}, end_ns = end_ns + ${d}${where}`);
      this.db.exec(`UPDATE processes SET start_ns = start_ns + ${d}, end_ns = end_ns + ${d}${where}`);
      this.db.exec(`UPDATE threads SET first_ns = first_ns + ${d}${where}`);
    } catch (err) {
      throw ioError(this.stagingPath, err, 'moving times');
    }
    this.commit();
  }

  addCaptureLoss(l: CaptureLossInput): void {
    this.run('loss', l.node_id ?? 0, l.probe, l.source_id ?? null, l.emitted, l.dropped, l.note ?? '');
  }

  addSampling(s: SamplingInput): void {
    this.run('sampling', s.node_id ?? 0, s.source_id ?? null, s.op_id ?? null, s.from_ns, s.to_ns ?? null, s.policy, s.note ?? '');
  }

  addAggregate(a: AggregateInput): void {
    this.run('aggregate', a.node_id ?? 0, a.bucket_ns, a.width_ns, a.op_id, a.pid, a.count, a.stored, int64(a.sum_dur_ns), int64(a.min_dur_ns), int64(a.max_dur_ns), int64(a.sum_arg0));
  }

  addSystemSample(s: SystemSampleInput): void {
    this.run('sample', s.node_id ?? 0, s.ts_ns, s.cpu_pct ?? null, s.mem_pct ?? null, s.mem_avail_bytes ?? null, s.swap_bytes ?? null, s.load1 ?? null);
  }

  addImportedFinding(f: ImportedFindingInput): void {
    this.run('finding', f.origin, f.origin_id, f.node_id ?? 0, f.detected_ns ?? null, f.severity, f.op ?? '', f.summary, f.root_cause ?? '', f.explanation ?? '', JSON.stringify(f.recommendations ?? []), JSON.stringify(f.timeline ?? []), f.p50_ns ?? null, f.p99_ns ?? null, f.tail_ratio ?? null, f.occurrences ?? 1);
  }

  addAnnotation(a: AnnotationInput): void {
    this.run('annotation', a.node_id ?? 0, a.ts_ns, a.end_ns ?? null, a.pid ?? null, JSON.stringify(a.labels));
  }

  /** Keeps a foreign op's own description; seal describes catalog ops itself, so they need none. */
  describeOp(op: OpDescriptionInput): void {
    const fit = textFitter('ops');
    const fitArg = textFitter('op_args');
    this.run('op', op.id, op.source_id, fit(op.name), fit(op.description));
    for (const a of op.args) this.run('opArg', op.id, a.arg, fitArg(a.name), fitArg(a.unit), fitArg(a.description));
  }

  /** Seals the bundle: sorted, indexed, compressed, written atomically to outPath. */
  async seal(): Promise<SealResult> {
    this.flush();
    this.closed = true;
    this.db.close();
    return sealStaging(this.stagingPath, this.outPath, this.options);
  }

  /** Closes the staging database without sealing it: what it committed stays for recoverBundle. */
  close(): void {
    if (!this.closed) this.db.close();
    this.closed = true;
  }

  /** Discards everything written so far. */
  abort(): void {
    if (!this.closed) this.db.close();
    this.closed = true;
    removeStaging(this.stagingPath);
  }
}

/** Clamps traced strings to a table's text limit, so the sealed bundle passes its own checks. */
function textFitter(table: string): (s: string | undefined) => string {
  const max = tableSpec(table)!.maxTextBytes;
  return (s) => clampText(s ?? '', max);
}

// importIngeroDb: one Ingero SQLite trace database → one sealed .ingero bundle.
// Order of work: open the source without touching it, judge its generation, fix the clock and the
// node list, intern every stored stack, stream the events (mapping ops, intervals and arguments,
// gathering processes on the way), then the side tables, then seal. Nothing inside the bundle
// database depends on the wall clock or the source's location, so importing the same file twice
// gives the same database (same sha256); only the manifest's created time differs.
// On any failure the staging file is removed: no partial output is left behind.
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { BundleError, type BundleWriter } from '../format/index.ts';
import { checkOutputPath, createWriter } from './output-path.ts';
import { detectGeneration, type Generation, type SourceSchema } from './detect-generation.ts';
import { writeAnnotations } from './map-annotations.ts';
import { chainNodeName, chainToFinding, foldChains, CHAIN_ORIGIN, type ChainRow } from './map-chains.ts';
import { ARG_NOTES, mapArgs, opIdOf, START_SQL } from './map-events.ts';
import { ProcessTracker, type CgroupInfo, type ProcessName } from './map-processes.ts';
import { writeAggregates, writeSampling } from './map-sampling.ts';
import { hostMetadata, readSessions, type Session } from './map-sessions.ts';
import { writeSnapshots } from './map-snapshots.ts';
import { parseStack } from './map-stacks.ts';
import { openSourceDb, sourceDbError } from './open-source-db.ts';
import { findOrigin, relativeNs } from './source-clock.ts';
import { columnList, jsonRow, readRows, text } from './source-rows.ts';

export interface ImportProgress {
  readonly phase: 'events' | 'sealing';
  readonly done: number;
  readonly total: number;
}

export interface ImportOptions {
  readonly onProgress?: (p: ImportProgress) => void;
  /** zstd level of the bundle; default 19 (see DEFAULT_LEVEL). */
  readonly compressionLevel?: number;
  /** Stops the import between batches; the partial output is removed. */
  readonly signal?: AbortSignal;
  /** Test hook: size above which the source is copied to a scratch folder rather than read into memory. */
  readonly deserializeLimitBytes?: number;
}

export interface ImportReport {
  readonly source: string;
  readonly output: string;
  readonly generation: Generation;
  readonly sourceBytes: number;
  readonly sourceSha256: string;
  readonly bundleBytes: number;
  readonly databaseBytes: number;
  readonly databaseSha256: string;
  readonly events: number;
  readonly nodes: readonly string[];
  readonly processes: number;
  readonly threads: number;
  readonly stacks: { readonly sourceRows: number; readonly bundleStacks: number; readonly empty: number };
  readonly chains: { readonly sourceRows: number; readonly findings: number };
  readonly aggregates: number;
  readonly systemSamples: number;
  readonly annotations: number;
  readonly samplingRows: number;
  readonly anomalies: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/**
 * zstd level 19 for small sources: it is what brings a bundle under `zstd -19` of its source
 * (the goal in bench/import) and costs well under a second there. Above LARGE_SOURCE_BYTES level
 * 19 would dominate the import (1.5 MB/s, platform.md §4.2) while level 9 runs at level-3 speed
 * and still ends below `zstd -19` of the source (bench/RESULTS.md, section import).
 */
const DEFAULT_LEVEL = 19;
const LARGE_SOURCE_BYTES = 16 * 1024 * 1024;
const LARGE_SOURCE_LEVEL = 9;
const PROGRESS_EVERY = 8192;
const YIELD_EVERY = 65536;

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The events columns read, in this order (rows are read as arrays: 2x faster than objects). */
const EVENT_COLUMNS = {
  duration: '0',
  pid: '0',
  tid: '0',
  source: '0',
  op: '0',
  arg0: '0',
  arg1: '0',
  gpu_id: '0',
  ret_code: '0',
  stack_hash: '0',
  cgroup_id: '0',
  node: "''",
  comm: "''",
};
type EventRow = [start: bigint, duration: bigint, pid: bigint, tid: bigint, source: bigint, op: bigint, arg0: bigint, arg1: bigint, gpu_id: bigint, ret_code: bigint, stack_hash: bigint, cgroup_id: bigint, node: unknown, comm: unknown];

const CHAIN_COLUMNS = {
  id: "''",
  detected_at: '0',
  severity: "''",
  summary: "''",
  root_cause: "''",
  explanation: "''",
  recommendations: "''",
  cuda_op: "''",
  cuda_p99_us: '0',
  cuda_p50_us: '0',
  tail_ratio: '0',
  timeline: "''",
  node: "''",
};

export async function importIngeroDb(sourcePath: string, outPath: string, options: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  checkOutputPath(sourcePath, outPath);
  const src = openSourceDb(sourcePath, { deserializeLimitBytes: options.deserializeLimitBytes });
  let w: BundleWriter | undefined;
  try {
    const { db } = src;
    const schema = detectGeneration(db, sourcePath);
    const stem = basename(sourcePath, extname(sourcePath)) || 'ingero';
    const sessions = readSessions(db, schema);
    const chainRows = [...readRows<ChainRow>(db, schema, 'causal_chains', CHAIN_COLUMNS, 'ORDER BY detected_at, id')].map((r) => ({
      ...r,
      id: text(r.id),
      tail_ratio: Number(r.tail_ratio),
    }));

    // Nodes: v0.9+ name them per row; v0.8 files (and rows written before an in-place upgrade)
    // are one unnamed node, named after the file. A session or chain without a node belongs to
    // the only node when there is one, else to that file-named node.
    const eventNodes = new Set<string>();
    if (schema.has('events', 'node')) {
      for (const n of db.prepare('SELECT DISTINCT node FROM events').pluck().all() as unknown[]) eventNodes.add(text(n) || stem);
    } else {
      eventNodes.add(stem);
    }
    const unnamed = eventNodes.size === 1 ? [...eventNodes][0]! : stem;
    const nodeName = (n: string) => n || unnamed;
    const names = new Set(eventNodes);
    for (const s of sessions) names.add(nodeName(s.node));
    for (const c of chainRows) names.add(nodeName(chainNodeName(c)));
    if (names.size === 0) names.add(stem);
    const nodeList = [...names].sort();
    const nodeIds = new Map(nodeList.map((n, i) => [n, i]));
    const nodeOf = (s: Session) => nodeIds.get(nodeName(s.node))!;
    const eventNode = (n: string) => nodeIds.get(n || stem)!;

    const origin = findOrigin(db, schema);
    const level = options.compressionLevel ?? (src.bytes > LARGE_SOURCE_BYTES ? LARGE_SOURCE_LEVEL : DEFAULT_LEVEL);
    w = createWriter(outPath, {
      originUnixNs: origin,
      producer: { name: 'ingero', version: pkg.version, command: `import ${basename(sourcePath)}` },
      nodeName: nodeList[0],
      compressionLevel: level,
    });
    for (let i = 1; i < nodeList.length; i++) w.addNode(i, nodeList[i]!);

    // Stacks: every row, referenced or not ("every stack survives"); identical frame lists share an id.
    const anomalies = { stray_args: 0, negative_durations: 0, missing_stacks: 0, truncated_names: 0, metadata_rows_left_out: 0 };
    const stackIds = new Map<bigint, number>();
    let stackRows = 0;
    let emptyStacks = 0;
    for (const r of readRows<{ hash: bigint; frames: unknown; ips: unknown }>(db, schema, 'stack_traces', { hash: '0', frames: "''", ips: "''" }, 'ORDER BY hash')) {
      stackRows++;
      const parsed = parseStack(text(r.frames), text(r.ips));
      anomalies.truncated_names += parsed.truncatedNames;
      if (parsed.frames.length === 0) emptyStacks++;
      else stackIds.set(r.hash, w.internStack(parsed.frames));
    }

    // Events.
    const total = Number(db.prepare('SELECT count(*) FROM events').pluck().get());
    const tracker = new ProcessTracker();
    let done = 0;
    const events = db
      .prepare(`SELECT ${START_SQL} AS start, ${columnList(schema, 'events', EVENT_COLUMNS)} FROM events ORDER BY start, timestamp, id`)
      .safeIntegers(true)
      .raw(true)
      .iterate() as IterableIterator<EventRow>;
    for (const [start, rawDuration, rawPid, rawTid, rawSource, rawOp, arg0, arg1, gpu_id, ret_code, stackHash, cgroup, nodeText, comm] of events) {
      const source = Number(rawSource);
      const op = Number(rawOp);
      if (!(source >= 0 && source <= 255 && op >= 0 && op <= 255)) {
        throw new BundleError('CORRUPT', `${sourcePath}: an events row has source ${String(rawSource).slice(0, 20)}, op ${String(rawOp).slice(0, 20)}, outside Ingero's 0-255 codes — the file is damaged`);
      }
      const pid = Number(rawPid);
      const tid = Number(rawTid);
      const node = eventNode(text(nodeText));
      let duration = rawDuration;
      if (duration < 0n) {
        anomalies.negative_durations++;
        duration = 0n;
      }
      const ts = relativeNs(sourcePath, start, origin);
      const opId = opIdOf(source, op);
      const mapped = mapArgs(opId, { arg0, arg1, gpu_id, ret_code });
      if (mapped.stray) anomalies.stray_args++;
      let stackId: number | null = null;
      if (stackHash !== 0n) {
        stackId = stackIds.get(stackHash) ?? null;
        if (stackId === null) anomalies.missing_stacks++;
      }
      w.appendEvent({
        ts_ns: ts,
        dur_ns: Number(duration),
        node_id: node,
        pid,
        tid,
        op_id: opId,
        arg0: mapped.args[0],
        arg1: mapped.args[1],
        arg2: mapped.args[2],
        arg3: mapped.args[3],
        ret: mapped.ret,
        stack_id: stackId,
      });
      tracker.observe(node, pid, tid, source, op, ts, cgroup, text(comm), arg1);
      done++;
      if (done % PROGRESS_EVERY === 0) options.onProgress?.({ phase: 'events', done, total });
      if (done % YIELD_EVERY === 0) {
        await new Promise((r) => setImmediate(r));
        if (options.signal?.aborted) {
          events.return?.();
          throw new BundleError('USAGE', `${sourcePath}: import interrupted — nothing was written`);
        }
      }
    }
    options.onProgress?.({ phase: 'events', done, total });

    // Processes and threads, with names and cgroups.
    const cgroupRows = [...readRows<Record<string, unknown>>(db, schema, 'cgroup_metadata', { cgroup_id: '0', container_id: "''", cgroup_path: "''", pod_name: "''", namespace: "''" }, 'ORDER BY cgroup_id')];
    const cgroups = new Map<bigint, CgroupInfo>(
      cgroupRows.map((r) => [r.cgroup_id as bigint, { path: text(r.cgroup_path), container: text(r.container_id), pod: text(r.pod_name), namespace: text(r.namespace) }]),
    );
    const processNames: ProcessName[] = [];
    for (const r of readRows<{ pid: bigint; name: unknown; seen_at: bigint }>(db, schema, 'process_names', { pid: '0', name: "''", seen_at: '0' }, 'ORDER BY pid')) {
      processNames.push({ pid: Number(r.pid), name: text(r.name), node: nodeList.length === 1 ? 0 : coveringNode(sessions, r.seen_at, nodeOf) });
    }
    const counts = tracker.write(w, processNames, nodeList.length, cgroups);

    // Time series, aggregates, sampling, findings, annotations.
    const systemSamples = writeSnapshots(w, db, schema, sessions, nodeOf, origin);
    const aggregates = writeAggregates(w, db, schema, sessions, nodeOf, origin);
    const samplingRows = writeSampling(w, sessions, nodeOf, origin);
    const folded = foldChains(chainRows);
    for (const c of folded) w.addImportedFinding(chainToFinding(c, nodeIds.get(nodeName(chainNodeName(c.latest)))!, origin));
    const annotations = writeAnnotations(w, db, schema, sessions, nodeOf, origin);

    // Metadata.
    for (const [k, v] of Object.entries(hostMetadata(sessions))) w.setMetadata(k, v);
    w.setMetadata('ingero.generation', schema.generation);
    w.setMetadata('ingero.detection', schema.evidence);
    // Ingero's *_note rows and example query describe Ingero's own tables, which the bundle does not
    // keep (its DDL comments and op_args describe what it holds); the remaining keys are kept.
    w.setMetadata('ingero.schema_info', jsonRow(Object.fromEntries(Object.entries(schema.schemaInfo).filter(([k]) => !k.endsWith('_note') && k !== 'example_query'))));
    const list = (key: string, rows: unknown[]) => {
      const kept = fitMetadata(rows);
      anomalies.metadata_rows_left_out += rows.length - kept.length;
      w!.setMetadata(key, kept);
    };
    list('ingero.sessions', sessions.map((s) => s.row));
    list('ingero.cgroups', cgroupRows.map(jsonRow));
    list('ingero.cgroup_schedstat', latestSchedstat(db, schema));
    w.setMetadata('import.source', { file: basename(sourcePath), bytes: src.bytes, sha256: src.sha256 });
    w.setMetadata('import.arg_notes', ARG_NOTES);
    w.setMetadata('import.chains', {
      origin: CHAIN_ORIGIN,
      source_rows: chainRows.length,
      findings: folded.length,
      folding: 'chain-NNN rows with the same (node, cuda_op, severity) are one finding: the latest instance, occurrences = rows folded, origin_id = every folded id (space-separated). Other ids are kept one finding each.',
    });
    w.setMetadata('import.anomalies', anomalies);

    options.onProgress?.({ phase: 'sealing', done, total });
    const sealed = await w.seal();
    return {
      source: sourcePath,
      output: outPath,
      generation: schema.generation,
      sourceBytes: src.bytes,
      sourceSha256: src.sha256,
      bundleBytes: sealed.bytes,
      databaseBytes: sealed.databaseBytes,
      databaseSha256: sealed.manifest.database.sha256,
      events: sealed.events,
      nodes: nodeList,
      processes: counts.processes,
      threads: counts.threads,
      stacks: { sourceRows: stackRows, bundleStacks: new Set(stackIds.values()).size, empty: emptyStacks },
      chains: { sourceRows: chainRows.length, findings: folded.length },
      aggregates,
      systemSamples,
      annotations,
      samplingRows,
      anomalies,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    w?.abort();
    throw sourceDbError(sourcePath, err);
  } finally {
    src.close();
  }
}

/** A bundle metadata value may hold 1 MiB (schema limit): the leading rows that fit. */
const METADATA_VALUE_BYTES = 1 << 20;
function fitMetadata(rows: unknown[]): unknown[] {
  let bytes = 2;
  for (let i = 0; i < rows.length; i++) {
    bytes += Buffer.byteLength(JSON.stringify(rows[i])) + 1;
    if (bytes > METADATA_VALUE_BYTES) return rows.slice(0, i);
  }
  return rows;
}

/** The node whose session covers an instant, or null when none does (or it cannot be told). */
function coveringNode(sessions: readonly Session[], t: bigint, nodeOf: (s: Session) => number): number | null {
  const covering = sessions.filter((s) => t >= s.startedAt && (s.stoppedAt === 0n || t <= s.stoppedAt));
  const nodes = new Set(covering.map(nodeOf));
  return nodes.size === 1 ? [...nodes][0]! : null;
}

/** Ingero rewrites cgroup_schedstat every tick with windows cumulative from the run's start: the latest window per cgroup holds the totals. */
function latestSchedstat(db: Database.Database, schema: SourceSchema): unknown[] {
  const columns = { cgroup_id: '0', p99_off_cpu: '0', total_off_cpu: '0', event_count: '0', window_start: '0', window_end: '0' };
  const latest = new Map<bigint, Record<string, unknown>>();
  for (const r of readRows<Record<string, unknown>>(db, schema, 'cgroup_schedstat', columns, 'ORDER BY cgroup_id, window_end')) latest.set(r.cgroup_id as bigint, r);
  return [...latest.values()].map(jsonRow);
}

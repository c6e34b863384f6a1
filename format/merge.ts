// mergeBundles: several per-node recordings → one multi-node bundle on one clock.
//
// Nodes. Every (input, node) pair becomes one output node, numbered 0..K-1 in input order and,
// within an input, by its node id. Names are kept; a name already taken gets " (2)", " (3)", ...
// in that order, and the result's notes say so.
//
// Clock. Each input's times are ns since its own origin (metadata clock.origin_unix_ns). A node's
// known skew (options.offsets, by output node name) is added to its times: +5ms means its clock
// ran 5 ms behind. The output origin is the earliest corrected origin (the earliest input origin
// when no skew is given), so every shift is >= 0, and every time column (events.ts_ns,
// processes.start_ns/end_ns, threads.first_ns, sampling.from_ns/to_ns, op_aggregates.bucket_ns,
// system_samples.ts_ns, cpu_samples.ts_ns, imported_findings.detected_ns, annotations.ts_ns/end_ns) moves by
// shift = origin_in + skew - origin_out. Durations (dur_ns, width_ns, *_dur_ns, p50/p99) do not
// move. nodes.clock_offset_ns = the input's own clock_offset_ns + shift: what was added to the
// node's original timestamps to place them on this bundle's clock (schema.ts).
//
// Ids. Node ids are remapped everywhere they appear (mappings included: a mapping belongs to a
// node's process, so identical mappings of different nodes stay distinct). Stacks go through
// BundleWriter.internStack, so functions, and locations and stacks whose mappings are the same
// after remapping, are shared across inputs; so do kernels (gpu_kernels, internKernel) and names
// (internName), and event arguments of unit kernel or name (per the input's op_args) are
// rewritten to the output's ids. Events, processes, threads and on-CPU samples keep their
// (node, pid/tid); so does corr_id, which is unique per node and every node stays its own, so a
// launch and the GPU work it started still share it. Imported findings and processes get new
// row numbers. Op ids are one catalog
// across bundles: seal describes every catalog op used; a code this catalog lacks (a newer
// producer's) keeps the input's own name and argument meanings.
//
// Metadata. A key every input holds with the same value is kept as is; otherwise each input's
// value is stored per node as node.<output node name>.<key> (for each node of that input), so
// differing host facts never overwrite each other. Keys an input already holds per node
// (node.<its node>.<key>, from an earlier merge) follow the node's new name. merge.inputs lists
// every input: file name, database sha256, origin, producer, events and its nodes (input id and
// name → output id and name).
//
// Events are merged k-way by shifted start time from one time-ordered stream per input (per
// node when skews differ within an input), read in pages by primary key, and appended in global
// order, so seal needs no re-sort and memory does not grow with the event count. An input whose
// events break the spec (out of order, negative, unknown node or stack) or whose side tables name
// a missing node is refused in one line. A failure before sealing
// removes the staging data (it would seal into half a merge; running again is the recovery); a
// failure while sealing (e.g. disk full) keeps the complete staging database and says so, as
// BundleWriter does for every writer.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openBundle, type Bundle } from './bundle.ts';
import { opById, unknownOp } from './catalog.ts';
import { BundleError } from './errors.ts';
import { BundleWriter, type FrameInput, type MappingInput, type WriterOptions } from './writer.ts';

export interface MergeOptions {
  readonly producer: WriterOptions['producer'];
  /** Known clock skew per output node name, in ns, added to that node's times. */
  readonly offsets?: ReadonlyMap<string, bigint>;
  /** Replace an existing output file (default: refuse). */
  readonly overwrite?: boolean;
  /** zstd level; default: the highest of the inputs', at most 9 when they hold over 16 MiB of database. */
  readonly compressionLevel?: number;
  /** Where inputs are decompressed (openBundle's cache). */
  readonly cacheDir?: string;
  readonly onProgress?: (eventsDone: number, eventsTotal: number) => void;
  /** Stops the merge between batches of events; nothing is written. */
  readonly signal?: AbortSignal;
}

export interface MergedNode {
  /** Output node id (nodes.id). */
  readonly id: number;
  readonly name: string;
  /** Input bundle path, as given. */
  readonly input: string;
  readonly inputNodeId: number;
  readonly inputNodeName: string;
  /** The skew given for this node (0 when none). */
  readonly skewNs: number;
  /** nodes.clock_offset_ns of the output. */
  readonly clockOffsetNs: number;
  readonly events: number;
}

export interface MergeResult {
  readonly output: string;
  readonly bytes: number;
  readonly databaseSha256: string;
  readonly originUnixNs: bigint;
  readonly events: number;
  /** First start and last end of the merged events, ns on the output clock (0 when none). */
  readonly startNs: number;
  readonly endNs: number;
  readonly nodes: readonly MergedNode[];
  /** Distinct stacks in the inputs (summed) and in the output. */
  readonly stacks: { readonly inputs: number; readonly output: number };
  /** Renamed nodes, renamed ops: what a reader of the summary should know. */
  readonly notes: readonly string[];
  readonly seconds: number;
}

/** Inputs holding more database than this are compressed at level 9 at most (as import does). */
const LARGE_INPUT_BYTES = 16 * 1024 * 1024;
const LARGE_INPUT_LEVEL = 9;
const YIELD_EVERY = 65536;
const MAX_NS = Number.MAX_SAFE_INTEGER;

interface InputNode {
  readonly inputId: number;
  readonly inputName: string;
  readonly inputOffset: bigint;
  out?: MergedNodeState;
}

interface MergedNodeState {
  id: number;
  name: string;
  skew: bigint;
  shift: number;
  clockOffset: number;
  events: number;
}

interface Input {
  readonly path: string;
  readonly bundle: Bundle;
  readonly origin: bigint;
  readonly nodes: InputNode[];
  /** Input node id → output node. */
  readonly nodeMap: Map<number, MergedNodeState>;
  /** Input stack id → output stack id. */
  readonly stackMap: Map<number, number>;
  /** Input gpu_kernels.id and names.id → the output's (schema 2; empty for older inputs). */
  readonly kernelMap: Map<number, number>;
  readonly nameMap: Map<number, number>;
  /** Per op: the argument indexes (0..3) holding a gpu_kernels.id or a names.id, from the input's op_args. */
  readonly idArgs: Map<number, { readonly arg: number; readonly map: Map<number, number>; readonly table: string }[]>;
  /** The input's events have a corr_id column (schema 2). */
  readonly hasCorr: boolean;
}

export async function mergeBundles(inputPaths: readonly string[], outPath: string, options: MergeOptions): Promise<MergeResult> {
  const started = performance.now();
  if (inputPaths.length < 2) throw new BundleError('USAGE', `merge needs at least two bundles, got ${inputPaths.length}`);
  checkOutputPath(inputPaths, outPath, options.overwrite ?? false);
  const inputs: Input[] = [];
  try {
    for (const path of inputPaths) inputs.push(openInput(path, options.cacheDir));
    refuseDuplicates(inputs);
    const notes: string[] = [];
    const nodes = assignNodes(inputs, notes);
    const originOut = alignClocks(inputs, nodes, options.offsets ?? new Map());
    const level = options.compressionLevel ?? defaultLevel(inputs);
    let w: BundleWriter;
    try {
      w = BundleWriter.create(outPath, { originUnixNs: originOut, producer: options.producer, nodeName: nodes[0]!.name, compressionLevel: level });
    } catch (err) {
      if (err instanceof BundleError && err.code === 'USAGE') throw err;
      throw new BundleError('IO', `${outPath}: cannot write the bundle there (${(err as Error).message}) — choose a writable folder for -o`);
    }
    let sealing = false;
    try {
      for (const n of nodes) w.addNode(n.id, n.name, n.clockOffset);
      writeMetadata(w, inputs);
      let inputStacks = 0;
      for (const input of inputs) inputStacks += copyStacks(w, input);
      for (const input of inputs) copyGpuNames(w, input);
      for (const input of inputs) copySideTables(w, input);
      carryForeignOps(w, inputs, notes);
      const span = await mergeEvents(w, inputs, options, outPath);
      w.flush();
      sealing = true;
      // From here the staging database is complete: a failing seal keeps it for recoverBundle
      // and says so, as BundleWriter does for every writer.
      const sealed = await w.seal();
      return {
        output: outPath,
        bytes: sealed.bytes,
        databaseSha256: sealed.manifest.database.sha256,
        originUnixNs: originOut,
        events: sealed.events,
        startNs: span.start,
        endNs: span.end,
        nodes: inputs.flatMap((input) =>
          input.nodes.map((n) => ({
            id: n.out!.id,
            name: n.out!.name,
            input: input.path,
            inputNodeId: n.inputId,
            inputNodeName: n.inputName,
            skewNs: Number(n.out!.skew),
            clockOffsetNs: n.out!.clockOffset,
            events: n.out!.events,
          })),
        ),
        stacks: { inputs: inputStacks, output: sealed.manifest.counts.stacks },
        notes,
        seconds: (performance.now() - started) / 1000,
      };
    } catch (err) {
      if (sealing) throw err;
      // An incomplete staging database would seal into half a merge: remove it.
      w.abort();
      if (isDiskFull(err)) throw new BundleError('IO', `${outPath}: disk full while merging — nothing was written (staging removed); free space and run again`);
      throw err;
    }
  } finally {
    for (const input of inputs) input.bundle.close();
  }
}

function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'ENOSPC' || code === 'SQLITE_FULL' || (err instanceof BundleError && /disk (is )?full/.test(err.message));
}

/** Refuses, before any work, an output that exists (unless overwriting), is a folder, or is one of the inputs. */
function checkOutputPath(inputPaths: readonly string[], outPath: string, overwrite: boolean): void {
  const out = resolve(outPath);
  for (const p of inputPaths) {
    if (resolve(p) === out) throw new BundleError('USAGE', `${outPath}: the output would overwrite an input — choose another -o path`);
  }
  const dir = dirname(out);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) throw new BundleError('IO', `${outPath}: ${dir} is not an existing folder — create it or choose another -o path`);
  if (!existsSync(outPath)) return;
  if (statSync(outPath).isDirectory()) throw new BundleError('USAGE', `${outPath}: is a folder — give a file name such as cluster.ingero`);
  if (!overwrite) throw new BundleError('USAGE', `${outPath} already exists — choose another -o path, or pass --force to overwrite it`);
}

function openInput(path: string, cacheDir: string | undefined): Input {
  const bundle = openBundle(path, { cacheDir });
  try {
    const meta = bundle.db.prepare("SELECT value FROM metadata WHERE key = 'clock.origin_unix_ns'").pluck().get();
    const origin = bundle.originUnixNs;
    if (meta !== undefined && meta !== JSON.stringify(origin.toString())) {
      throw new BundleError('SCHEMA', `${path}: its metadata and manifest disagree on the clock origin (${String(meta).slice(0, 40)} vs ${origin}) — the bundle breaks the spec; get a fresh copy`);
    }
    const check = new RowCheck(path, 'nodes');
    const nodes: InputNode[] = [];
    for (const r of rows(bundle, 'SELECT id, name, clock_offset_ns FROM nodes ORDER BY id')) {
      nodes.push({ inputId: check.int(r, 'id'), inputName: check.text(r, 'name'), inputOffset: BigInt(check.int(r, 'clock_offset_ns')) });
    }
    if (nodes.length === 0) throw new BundleError('SCHEMA', `${path}: table nodes is empty — the bundle breaks the spec; get a fresh copy`);
    const hasCorr = bundle.db.prepare("SELECT 1 FROM pragma_table_info('events') WHERE name = 'corr_id'").get() !== undefined;
    return { path, bundle, origin, nodes, nodeMap: new Map(), stackMap: new Map(), kernelMap: new Map(), nameMap: new Map(), idArgs: new Map(), hasCorr };
  } catch (err) {
    bundle.close();
    throw err;
  }
}

function refuseDuplicates(inputs: readonly Input[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const sha = input.bundle.manifest.database.sha256;
    const first = seen.get(sha);
    if (first !== undefined) {
      throw new BundleError('USAGE', `${input.path}: holds the same recording as ${first} (database sha256 ${sha.slice(0, 12)}…) — merging a bundle with itself would count every event twice; give each recording once`);
    }
    seen.set(sha, input.path);
  }
}

function assignNodes(inputs: readonly Input[], notes: string[]): MergedNodeState[] {
  const taken = new Set<string>();
  const out: MergedNodeState[] = [];
  for (const input of inputs) {
    for (const n of input.nodes) {
      let name = n.inputName;
      for (let k = 2; taken.has(name); k++) name = `${n.inputName} (${k})`;
      if (name !== n.inputName) notes.push(`node ${JSON.stringify(n.inputName)} of ${basename(input.path)} is named ${JSON.stringify(name)}: an earlier input has a node of that name`);
      taken.add(name);
      const state: MergedNodeState = { id: out.length, name, skew: 0n, shift: 0, clockOffset: 0, events: 0 };
      n.out = state;
      input.nodeMap.set(n.inputId, state);
      out.push(state);
    }
  }
  return out;
}

/** Applies skews, picks the output origin and each node's shift; returns the output origin. */
function alignClocks(inputs: readonly Input[], nodes: readonly MergedNodeState[], offsets: ReadonlyMap<string, bigint>): bigint {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const [name, skew] of offsets) {
    const node = byName.get(name);
    if (!node) throw new BundleError('USAGE', `--offset names node ${JSON.stringify(name)}, which no input has — the nodes are: ${nodes.map((n) => JSON.stringify(n.name)).join(', ')}`);
    node.skew = skew;
  }
  let origin: bigint | undefined;
  for (const input of inputs) {
    for (const n of input.nodes) {
      const o = input.origin + n.out!.skew;
      if (origin === undefined || o < origin) origin = o;
    }
  }
  if (origin! < 0n) throw new BundleError('USAGE', `--offset moves a node's clock before 1970 — check the sign and size of the offsets`);
  for (const input of inputs) {
    for (const n of input.nodes) {
      const shift = input.origin + n.out!.skew - origin!;
      const end = shift + BigInt(input.bundle.endNs());
      const offset = n.inputOffset + shift;
      if (end > BigInt(MAX_NS) || offset > BigInt(MAX_NS) || offset < -BigInt(MAX_NS)) {
        throw new BundleError('USAGE', `${input.path}: its clock origin is ${shift / 86_400_000_000_000n} days after the earliest input's, so its times would pass 2^53 ns (104 days) on the merged clock — merge recordings of one job`);
      }
      n.out!.shift = Number(shift);
      n.out!.clockOffset = Number(offset);
    }
  }
  return origin!;
}

function defaultLevel(inputs: readonly Input[]): number {
  let level = 3;
  let bytes = 0;
  for (const input of inputs) {
    const l = input.bundle.manifest.compression.level;
    if (Number.isInteger(l) && l >= 1 && l <= 22) level = Math.max(level, l);
    bytes += input.bundle.manifest.database.bytes;
  }
  return bytes > LARGE_INPUT_BYTES ? Math.min(level, LARGE_INPUT_LEVEL) : level;
}

/** Checks cell types as read with safeIntegers: one line naming the input, table and column otherwise. */
class RowCheck {
  constructor(
    private readonly path: string,
    private readonly table: string,
  ) {}

  fail(column: string, what: string): never {
    throw new BundleError('SCHEMA', `${this.path}: table ${this.table} column ${column} ${what} — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
  }

  int(r: Row, column: string): number {
    const v = r[column];
    if (typeof v !== 'bigint' || v > BigInt(MAX_NS) || v < -BigInt(MAX_NS)) this.fail(column, `holds ${describe(v)} where an integer is required`);
    return Number(v);
  }

  intOrNull(r: Row, column: string): number | null {
    return r[column] === null ? null : this.int(r, column);
  }

  /** A 64-bit value kept exactly (addresses, sums). */
  big(r: Row, column: string): bigint | null {
    const v = r[column];
    if (v !== null && typeof v !== 'bigint') this.fail(column, `holds ${describe(v)} where an integer is required`);
    return v as bigint | null;
  }

  real(r: Row, column: string): number | null {
    const v = r[column];
    if (v === null) return null;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return this.fail(column, `holds ${describe(v)} where a number is required`);
  }

  text(r: Row, column: string): string {
    const v = r[column];
    if (typeof v !== 'string') this.fail(column, `holds ${describe(v)} where text is required`);
    return v as string;
  }

  json(r: Row, column: string): unknown {
    try {
      return JSON.parse(this.text(r, column));
    } catch (err) {
      if (err instanceof BundleError) throw err;
      return this.fail(column, 'holds text that is not JSON');
    }
  }

  /** A time on the input's clock, moved onto the output's. */
  time(r: Row, column: string, shift: number): number {
    const t = this.int(r, column) + shift;
    if (t > MAX_NS) this.fail(column, 'holds a time beyond 2^53 ns on the merged clock');
    return t;
  }

  timeOrNull(r: Row, column: string, shift: number): number | null {
    return r[column] === null ? null : this.time(r, column, shift);
  }

  node(r: Row, column: string, input: Input): MergedNodeState {
    const id = this.int(r, column);
    const node = input.nodeMap.get(id);
    if (!node) this.fail(column, `names node ${id}, which table nodes lacks`);
    return node!;
  }
}

type Row = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return 'an integer out of range';
  if (typeof v === 'number') return 'a real number';
  if (typeof v === 'string') return 'text';
  return 'a blob';
}

function rows(bundle: Bundle, sql: string): IterableIterator<Row> {
  return bundle.db.prepare(sql).safeIntegers(true).iterate() as IterableIterator<Row>;
}

/** Keys the writer sets for the merged bundle itself. */
const OWN_KEYS = new Set(['clock.origin_unix_ns', 'bundle.producer']);

function writeMetadata(w: BundleWriter, inputs: readonly Input[]): void {
  const perInput = inputs.map((input) => {
    const check = new RowCheck(input.path, 'metadata');
    const values = new Map<string, string>();
    for (const r of rows(input.bundle, 'SELECT key, value FROM metadata ORDER BY key')) values.set(check.text(r, 'key'), check.text(r, 'value'));
    return values;
  });
  const parse = (raw: string): unknown => {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  };
  const keys = [...new Set(perInput.flatMap((m) => [...m.keys()]))].sort();
  for (const key of keys) {
    if (OWN_KEYS.has(key)) continue;
    const first = perInput[0]!.get(key);
    if (perInput.every((m) => m.get(key) === first) && !inputs.some((input) => perNodeKey(input, key))) {
      w.setMetadata(key, parse(first!));
      continue;
    }
    inputs.forEach((input, i) => {
      const raw = perInput[i]!.get(key);
      if (raw === undefined) return;
      const own = perNodeKey(input, key);
      if (own) w.setMetadata(`node.${own.node.out!.name}.${own.rest}`, parse(raw));
      else for (const n of input.nodes) w.setMetadata(`node.${n.out!.name}.${key}`, parse(raw));
    });
  }
  w.setMetadata(
    'merge.inputs',
    inputs.map((input) => ({
      file: basename(input.path),
      sha256: input.bundle.manifest.database.sha256,
      origin_unix_ns: input.origin.toString(),
      producer: input.bundle.manifest.producer,
      events: input.bundle.eventCount(),
      nodes: input.nodes.map((n) => ({ input_id: n.inputId, input_name: n.inputName, id: n.out!.id, name: n.out!.name })),
    })),
  );
}

/** A key the input already holds for one of its nodes (node.<name>.<rest>); the longest name wins. */
function perNodeKey(input: Input, key: string): { node: InputNode; rest: string } | undefined {
  let best: { node: InputNode; rest: string } | undefined;
  for (const node of input.nodes) {
    const prefix = `node.${node.inputName}.`;
    if (key.startsWith(prefix) && key.length > prefix.length && (!best || node.inputName.length > best.node.inputName.length)) best = { node, rest: key.slice(prefix.length) };
  }
  return best;
}

/** Re-interns every stack of an input (referenced or not); returns how many it had. */
function copyStacks(w: BundleWriter, input: Input): number {
  const b = input.bundle;
  const mappings = new Map<number, MappingInput>();
  const mc = new RowCheck(input.path, 'mappings');
  for (const r of rows(b, 'SELECT id, node_id, pid, start_addr, end_addr, file_offset, path, build_id FROM mappings')) {
    mappings.set(mc.int(r, 'id'), {
      node_id: mc.node(r, 'node_id', input).id,
      pid: mc.intOrNull(r, 'pid'),
      start_addr: mc.big(r, 'start_addr'),
      end_addr: mc.big(r, 'end_addr'),
      file_offset: mc.big(r, 'file_offset'),
      path: mc.text(r, 'path'),
      build_id: r.build_id === null ? null : mc.text(r, 'build_id'),
    });
  }
  const functions = new Map<number, FrameInput['function']>();
  const fc = new RowCheck(input.path, 'functions');
  for (const r of rows(b, 'SELECT id, name, system_name, filename, start_line FROM functions')) {
    functions.set(fc.int(r, 'id'), { name: fc.text(r, 'name'), system_name: fc.text(r, 'system_name'), filename: fc.text(r, 'filename'), start_line: fc.intOrNull(r, 'start_line') });
  }
  const sc = new RowCheck(input.path, 'stack_frames');
  const lc = new RowCheck(input.path, 'locations');
  let stackId: number | null = null;
  let frames: FrameInput[] = [];
  let count = 0;
  const finish = () => {
    if (stackId === null) return;
    input.stackMap.set(stackId, w.internStack(frames));
    count++;
  };
  const sql = `SELECT sf.stack_id, sf.location_id, l.id AS found, l.kind, l.mapping_id, l.address, l.rel_address, l.function_id, l.offset, l.line
    FROM stack_frames sf LEFT JOIN locations l ON l.id = sf.location_id ORDER BY sf.stack_id, sf.depth`;
  for (const r of rows(b, sql)) {
    const id = sc.int(r, 'stack_id');
    if (id !== stackId) {
      finish();
      stackId = id;
      frames = [];
    }
    if (r.found === null) sc.fail('location_id', `names location ${String(r.location_id)}, which table locations lacks`);
    // A mapping or function that is missing reads as none, as Bundle.stack resolves it.
    const mapping = r.mapping_id === null ? undefined : mappings.get(lc.int(r, 'mapping_id'));
    const fn = r.function_id === null ? undefined : functions.get(lc.int(r, 'function_id'));
    frames.push({
      kind: lc.text(r, 'kind') as FrameInput['kind'],
      mapping,
      function: fn,
      address: lc.big(r, 'address'),
      rel_address: lc.big(r, 'rel_address'),
      offset: lc.intOrNull(r, 'offset'),
      line: lc.intOrNull(r, 'line'),
    });
  }
  finish();
  return count;
}

function hasTable(bundle: Bundle, name: string): boolean {
  return bundle.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Re-interns the kernels and names of an input (schema 2) and notes which event arguments point
 * at them, so that mergeEvents rewrites those to the output's ids.
 */
function copyGpuNames(w: BundleWriter, input: Input): void {
  const b = input.bundle;
  if (hasTable(b, 'gpu_kernels')) {
    const c = new RowCheck(input.path, 'gpu_kernels');
    // A dimension the input left NULL stays NULL (the writer stores the three as given).
    const dims = (r: Row, axis: string) => ['x', 'y', 'z'].map((a) => c.intOrNull(r, `${axis}_${a}`)) as unknown as [number, number, number];
    for (const r of rows(b, 'SELECT id, name, grid_x, grid_y, grid_z, block_x, block_y, block_z, registers, shared_memory FROM gpu_kernels ORDER BY id')) {
      input.kernelMap.set(c.int(r, 'id'), w.internKernel({ name: c.text(r, 'name'), grid: dims(r, 'grid'), block: dims(r, 'block'), registers: c.intOrNull(r, 'registers'), shared_memory: c.intOrNull(r, 'shared_memory') }));
    }
  }
  if (hasTable(b, 'names')) {
    const c = new RowCheck(input.path, 'names');
    for (const r of rows(b, 'SELECT id, name FROM names ORDER BY id')) input.nameMap.set(c.int(r, 'id'), w.internName(c.text(r, 'name')));
  }
  const c = new RowCheck(input.path, 'op_args');
  for (const r of rows(b, "SELECT op_id, arg, unit FROM op_args WHERE unit IN ('kernel', 'name') ORDER BY op_id, arg")) {
    const arg = c.int(r, 'arg');
    if (arg < 0 || arg > 3) c.fail('arg', `is ${arg}, not an argument index 0..3`);
    const unit = c.text(r, 'unit');
    const op = c.int(r, 'op_id');
    const list = input.idArgs.get(op) ?? [];
    list.push(unit === 'kernel' ? { arg, map: input.kernelMap, table: 'gpu_kernels' } : { arg, map: input.nameMap, table: 'names' });
    input.idArgs.set(op, list);
  }
}

/** Every table but events and the stack tables, with node ids remapped and times shifted. */
function copySideTables(w: BundleWriter, input: Input): void {
  const b = input.bundle;
  let c = new RowCheck(input.path, 'processes');
  // schema 1 has no traced column: every row there is a traced process
  const traced = b.db.prepare("SELECT 1 FROM pragma_table_info('processes') WHERE name = 'traced'").get() ? 'traced' : '1 AS traced';
  for (const r of rows(b, `SELECT node_id, pid, ppid, start_ns, end_ns, exit_code, comm, cmdline, cgroup, ${traced} FROM processes ORDER BY id`)) {
    const node = c.node(r, 'node_id', input);
    w.addProcess({
      node_id: node.id,
      pid: c.int(r, 'pid'),
      ppid: c.intOrNull(r, 'ppid'),
      start_ns: c.timeOrNull(r, 'start_ns', node.shift),
      end_ns: c.timeOrNull(r, 'end_ns', node.shift),
      exit_code: c.intOrNull(r, 'exit_code'),
      comm: c.text(r, 'comm'),
      cmdline: c.text(r, 'cmdline'),
      cgroup: c.text(r, 'cgroup'),
      traced: c.int(r, 'traced') === 0 ? 0 : 1,
    });
  }
  c = new RowCheck(input.path, 'threads');
  for (const r of rows(b, 'SELECT node_id, tid, pid, first_ns, comm FROM threads')) {
    const node = c.node(r, 'node_id', input);
    w.addThread({ node_id: node.id, tid: c.int(r, 'tid'), pid: c.int(r, 'pid'), first_ns: c.time(r, 'first_ns', node.shift), comm: c.text(r, 'comm') });
  }
  c = new RowCheck(input.path, 'capture_loss');
  for (const r of rows(b, 'SELECT node_id, probe, source_id, emitted, dropped, note FROM capture_loss ORDER BY rowid')) {
    w.addCaptureLoss({ node_id: c.node(r, 'node_id', input).id, probe: c.text(r, 'probe'), source_id: c.intOrNull(r, 'source_id'), emitted: c.int(r, 'emitted'), dropped: c.int(r, 'dropped'), note: c.text(r, 'note') });
  }
  c = new RowCheck(input.path, 'sampling');
  for (const r of rows(b, 'SELECT node_id, source_id, op_id, from_ns, to_ns, policy, note FROM sampling ORDER BY rowid')) {
    const node = c.node(r, 'node_id', input);
    w.addSampling({
      node_id: node.id,
      source_id: c.intOrNull(r, 'source_id'),
      op_id: c.intOrNull(r, 'op_id'),
      from_ns: c.time(r, 'from_ns', node.shift),
      to_ns: c.timeOrNull(r, 'to_ns', node.shift),
      policy: c.text(r, 'policy'),
      note: c.text(r, 'note'),
    });
  }
  c = new RowCheck(input.path, 'op_aggregates');
  for (const r of rows(b, 'SELECT node_id, bucket_ns, width_ns, op_id, pid, count, stored, sum_dur_ns, min_dur_ns, max_dur_ns, sum_arg0 FROM op_aggregates ORDER BY rowid')) {
    const node = c.node(r, 'node_id', input);
    w.addAggregate({
      node_id: node.id,
      bucket_ns: c.time(r, 'bucket_ns', node.shift),
      width_ns: c.int(r, 'width_ns'),
      op_id: c.int(r, 'op_id'),
      pid: c.int(r, 'pid'),
      count: c.int(r, 'count'),
      stored: c.int(r, 'stored'),
      sum_dur_ns: c.big(r, 'sum_dur_ns') ?? c.fail('sum_dur_ns', 'is NULL'),
      min_dur_ns: c.big(r, 'min_dur_ns') ?? c.fail('min_dur_ns', 'is NULL'),
      max_dur_ns: c.big(r, 'max_dur_ns') ?? c.fail('max_dur_ns', 'is NULL'),
      sum_arg0: c.big(r, 'sum_arg0') ?? c.fail('sum_arg0', 'is NULL'),
    });
  }
  c = new RowCheck(input.path, 'system_samples');
  for (const r of rows(b, 'SELECT node_id, ts_ns, cpu_pct, mem_pct, mem_avail_bytes, swap_bytes, load1 FROM system_samples ORDER BY rowid')) {
    const node = c.node(r, 'node_id', input);
    w.addSystemSample({
      node_id: node.id,
      ts_ns: c.time(r, 'ts_ns', node.shift),
      cpu_pct: c.real(r, 'cpu_pct'),
      mem_pct: c.real(r, 'mem_pct'),
      mem_avail_bytes: c.intOrNull(r, 'mem_avail_bytes'),
      swap_bytes: c.intOrNull(r, 'swap_bytes'),
      load1: c.real(r, 'load1'),
    });
  }
  c = new RowCheck(input.path, 'imported_findings');
  const findings = 'SELECT origin, origin_id, node_id, detected_ns, severity, op, summary, root_cause, explanation, recommendations, timeline, p50_ns, p99_ns, tail_ratio, occurrences FROM imported_findings ORDER BY id';
  for (const r of rows(b, findings)) {
    const node = c.node(r, 'node_id', input);
    const recommendations = c.json(r, 'recommendations');
    const timeline = c.json(r, 'timeline');
    if (!Array.isArray(recommendations)) c.fail('recommendations', 'is not a JSON array');
    if (!Array.isArray(timeline)) c.fail('timeline', 'is not a JSON array');
    w.addImportedFinding({
      origin: c.text(r, 'origin'),
      origin_id: c.text(r, 'origin_id'),
      node_id: node.id,
      detected_ns: c.timeOrNull(r, 'detected_ns', node.shift),
      severity: c.text(r, 'severity'),
      op: c.text(r, 'op'),
      summary: c.text(r, 'summary'),
      root_cause: c.text(r, 'root_cause'),
      explanation: c.text(r, 'explanation'),
      recommendations: recommendations as string[],
      timeline: timeline as unknown[],
      p50_ns: c.intOrNull(r, 'p50_ns'),
      p99_ns: c.intOrNull(r, 'p99_ns'),
      tail_ratio: c.real(r, 'tail_ratio'),
      occurrences: c.int(r, 'occurrences'),
    });
  }
  c = new RowCheck(input.path, 'annotations');
  for (const r of rows(b, 'SELECT node_id, ts_ns, end_ns, pid, labels FROM annotations ORDER BY rowid')) {
    const node = c.node(r, 'node_id', input);
    const labels = c.json(r, 'labels');
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) c.fail('labels', 'is not a JSON object');
    w.addAnnotation({ node_id: node.id, ts_ns: c.time(r, 'ts_ns', node.shift), end_ns: c.timeOrNull(r, 'end_ns', node.shift), pid: c.intOrNull(r, 'pid'), labels: labels as Record<string, string> });
  }
  if (!hasTable(b, 'cpu_samples')) return;
  c = new RowCheck(input.path, 'cpu_samples');
  for (const r of rows(b, 'SELECT node_id, ts_ns, pid, tid, cpu, stack_id FROM cpu_samples ORDER BY rowid')) {
    const node = c.node(r, 'node_id', input);
    const stack = c.intOrNull(r, 'stack_id');
    const stackId = stack === null ? null : input.stackMap.get(stack);
    if (stackId === undefined) c.fail('stack_id', `names stack ${stack}, which has no frames`);
    w.addCpuSample({ node_id: node.id, ts_ns: c.time(r, 'ts_ns', node.shift), pid: c.int(r, 'pid'), tid: c.int(r, 'tid'), cpu: c.int(r, 'cpu'), stack_id: stackId });
  }
}

/**
 * Ops an input names that this catalog does not know (a newer producer's) keep the input's name
 * and argument meanings; the first input to describe a code wins, and a later differing name is noted.
 */
function carryForeignOps(w: BundleWriter, inputs: readonly Input[], notes: string[]): void {
  const named = new Map<number, string>();
  for (const input of inputs) {
    const c = new RowCheck(input.path, 'ops');
    for (const r of rows(input.bundle, 'SELECT id, source_id, name, description FROM ops ORDER BY id')) {
      const id = c.int(r, 'id');
      const name = c.text(r, 'name');
      if (opById(id) || name === unknownOp(id).name) continue;
      const earlier = named.get(id);
      if (earlier !== undefined) {
        if (earlier !== name) notes.push(`op ${id} is ${JSON.stringify(earlier.slice(0, 64))} in an earlier input and ${JSON.stringify(name.slice(0, 64))} in ${basename(input.path)}: the merged bundle keeps the first`);
        continue;
      }
      named.set(id, name);
      const a = new RowCheck(input.path, 'op_args');
      const args = [...rows(input.bundle, `SELECT arg, name, unit, description FROM op_args WHERE op_id = ${id} ORDER BY arg`)].map((x) => ({ arg: a.int(x, 'arg'), name: a.text(x, 'name'), unit: a.text(x, 'unit'), description: a.text(x, 'description') }));
      w.describeOp({ id, source_id: c.int(r, 'source_id'), name, description: c.text(r, 'description'), args });
    }
  }
}

/**
 * One time-ordered source of events: an input, or one node of it when its nodes' shifts differ.
 * Rows are read as arrays in pages of PAGE_ROWS by primary key (`id > last`), which keeps memory
 * bounded like an iterator but lets several streams share one connection, and moved 1M rows out
 * of SQLite in 2.5 s against 4.3 s for iterating Bundle.events' objects (bench/RESULTS.md, merge).
 */
interface EventStream {
  readonly input: Input;
  readonly page: Database.Statement;
  readonly nodeFilter: number | null;
  rows: EventRow[];
  next: number;
  lastId: bigint;
  head: EventRow | null;
  headTs: number;
  headNode: MergedNodeState | null;
  lastTs: number;
}

type EventRow = [id: bigint, ts_ns: bigint, dur_ns: bigint, node_id: bigint, pid: bigint, tid: bigint, op_id: bigint, arg0: bigint | null, arg1: bigint | null, arg2: bigint | null, arg3: bigint | null, ret: bigint | null, stack_id: bigint | null, corr_id: bigint | null];

const PAGE_ROWS = 2048;
const eventSelect = (input: Input) => `SELECT id, ts_ns, dur_ns, node_id, pid, tid, op_id, arg0, arg1, arg2, arg3, ret, stack_id, ${input.hasCorr ? 'corr_id' : 'NULL'} FROM events WHERE id > ?`;

async function mergeEvents(w: BundleWriter, inputs: readonly Input[], options: MergeOptions, outPath: string): Promise<{ start: number; end: number }> {
  const streams: EventStream[] = [];
  let total = 0;
  for (const input of inputs) {
    total += input.bundle.eventCount();
    const shifts = new Set(input.nodes.map((n) => n.out!.shift));
    const filters = shifts.size === 1 ? [null] : input.nodes.map((n) => n.inputId);
    for (const nodeFilter of filters) {
      const sql = `${eventSelect(input)}${nodeFilter === null ? '' : ' AND node_id = ?'} ORDER BY id LIMIT ${PAGE_ROWS}`;
      const page = input.bundle.db.prepare(sql).safeIntegers(true).raw(true);
      streams.push({ input, page, nodeFilter, rows: [], next: 0, lastId: 0n, head: null, headTs: 0, headNode: null, lastTs: 0 });
    }
  }
  for (const s of streams) advance(s);
  let done = 0;
  let start = Infinity;
  let end = 0;
  for (;;) {
    let best: EventStream | null = null;
    for (const s of streams) if (s.head && (best === null || s.headTs < best.headTs)) best = s;
    if (best === null) break;
    const e = best.head!;
    const node = best.headNode!;
    node.events++;
    const ts = best.headTs;
    const dur = Number(e[2]);
    w.appendEvent({
      ts_ns: ts,
      dur_ns: dur,
      node_id: node.id,
      pid: Number(e[4]),
      tid: Number(e[5]),
      op_id: Number(e[6]),
      arg0: e[7],
      arg1: e[8],
      arg2: e[9],
      arg3: e[10],
      ret: e[11] === null ? null : Number(e[11]),
      stack_id: e[12] === null ? null : best.input.stackMap.get(Number(e[12]))!,
      corr_id: e[13] === null ? null : Number(e[13]),
    });
    if (ts < start) start = ts;
    if (ts + dur > end) end = ts + dur;
    advance(best);
    if (++done % YIELD_EVERY === 0) {
      options.onProgress?.(done, total);
      await new Promise((r) => setImmediate(r));
      if (options.signal?.aborted) throw new BundleError('USAGE', `${outPath}: merge interrupted — nothing was written`);
    }
  }
  options.onProgress?.(done, total);
  return { start: done ? start : 0, end };
}

const SAFE = BigInt(MAX_NS);
/** Columns used as JS numbers (all but id and the arguments, which stay exact). */
const NUMBER_COLUMNS = [1, 2, 3, 4, 5, 6, 11, 12, 13] as const;

function eventError(s: EventStream, e: EventRow, what: string): BundleError {
  return new BundleError('SCHEMA', `${s.input.path}: event ${e[0]} ${what} — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy`);
}

/** Moves a stream to its next event, checking what the merge relies on; kernel and name ids become the output's. */
function advance(s: EventStream): void {
  if (s.next === s.rows.length) {
    s.rows = (s.nodeFilter === null ? s.page.all(s.lastId) : s.page.all(s.lastId, s.nodeFilter)) as EventRow[];
    s.next = 0;
    if (s.rows.length === 0) {
      s.head = null;
      return;
    }
  }
  const e = s.rows[s.next++]!;
  s.lastId = e[0];
  for (let i = 1; i <= 13; i++) {
    const v = e[i];
    if (v === null ? i <= 6 : typeof v !== 'bigint') throw eventError(s, e, 'holds text, a blob, a real number or NULL in an integer column');
  }
  for (const i of NUMBER_COLUMNS) {
    const v = e[i];
    if (v !== null && (v! > SAFE || v! < -SAFE)) throw eventError(s, e, 'holds an integer beyond 2^53 where a time, node, process, thread, op, return code, stack or corr_id is');
  }
  const idArgs = s.input.idArgs.get(Number(e[6]));
  if (idArgs) {
    for (const a of idArgs) {
      const v = e[7 + a.arg];
      if (v === null) continue;
      const id = a.map.get(Number(v));
      if (id === undefined) throw eventError(s, e, `names ${a.table} row ${v} in arg${a.arg}, which that table lacks`);
      e[7 + a.arg] = BigInt(id);
    }
  }
  const ts = Number(e[1]);
  const dur = Number(e[2]);
  if (ts < s.lastTs) throw eventError(s, e, 'starts before the event stored ahead of it (events must be in start-time order)');
  if (ts < 0 || dur < 0) throw eventError(s, e, 'has a negative start time or duration');
  const node = s.input.nodeMap.get(Number(e[3]));
  if (!node) throw eventError(s, e, `names node ${e[3]}, which table nodes lacks`);
  if (e[12] !== null && !s.input.stackMap.has(Number(e[12]))) throw eventError(s, e, `names stack ${e[12]}, which has no frames`);
  const shifted = ts + node!.shift;
  if (shifted > MAX_NS - dur) throw eventError(s, e, 'ends beyond 2^53 ns on the merged clock');
  s.lastTs = ts;
  s.head = e;
  s.headTs = shifted;
  s.headNode = node!;
}

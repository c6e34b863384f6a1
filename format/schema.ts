// The bundle database schema, version 1. This file is the single source of truth for the
// DDL, the per-column documentation stored inside every bundle (comments in the DDL), and the
// conformance rules a reader applies before trusting a bundle. spec/bundle-v1.md describes it
// for humans; test/format-spec.test.ts checks that the two agree.

// Schema 2 only adds (tables, a column, sources and ops; see §8 of the spec): bundles of schema 2
// keep min_schema_reader 1, and readers of schema 2 still read schema-1 bundles, which lack what
// `since: 2` marks.
export const SCHEMA_VERSION = 2;
/** SQLite `application_id` of every bundle database: ASCII "INGR". */
export const APPLICATION_ID = 0x494e4752;

export interface ColumnSpec {
  readonly name: string;
  /** SQL type and constraints as written in the DDL. */
  readonly decl: string;
  /** Unit of the value ('' when it has none). */
  readonly unit: string;
  readonly doc: string;
  /** Schema version that added the column; a bundle of an older schema may lack it. */
  readonly since?: number;
}

export interface TableSpec {
  readonly name: string;
  readonly doc: string;
  readonly columns: readonly ColumnSpec[];
  /** Trailing table constraints (PRIMARY KEY (...), ...). */
  readonly constraints?: readonly string[];
  readonly withoutRowid?: boolean;
  /** Longest text value allowed in any TEXT column of this table, in bytes. */
  readonly maxTextBytes: number;
  /** Schema version that added the table; a bundle of an older schema may lack it. */
  readonly since?: number;
}

const c = (name: string, decl: string, unit: string, doc: string): ColumnSpec => ({ name, decl, unit, doc });

// ---- Schema 2: GPU activity (PyTorch profiler / Kineto imports) --------------------------------
// Device-side work (source gpu), the framework's host-side ranges (source torch), the names those
// events point at, and the correlation id that ties a CUDA runtime call to the GPU work it
// launched. Everything here is an addition: schema-1 readers ignore it.
const since2 = (col: ColumnSpec): ColumnSpec => ({ ...col, since: 2 });

const GPU_EVENT_COLUMNS: readonly ColumnSpec[] = [
  since2(c('corr_id', 'INTEGER', 'id', 'Correlation id (CUPTI, Kineto args.correlation): a CUDA runtime or driver call and the GPU activity it launched carry the same value on the same node. NULL for events without one.')),
];

const GPU_TABLES: readonly TableSpec[] = [
  {
    name: 'gpu_kernels',
    doc: 'Distinct kernel launch configurations: events of op kernel point here with arg0. Names are traced data.',
    maxTextBytes: 65536,
    since: 2,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Kernel configuration number used by kernel events (arg0).'),
      c('name', 'TEXT NOT NULL', '', 'Kernel name as the profiler gave it (demangled C++ for CUDA kernels). Traced data.'),
      c('grid_x', 'INTEGER', 'count', 'Grid size in blocks along x, NULL when not given.'),
      c('grid_y', 'INTEGER', 'count', 'Grid size along y.'),
      c('grid_z', 'INTEGER', 'count', 'Grid size along z.'),
      c('block_x', 'INTEGER', 'count', 'Block size in threads along x, NULL when not given.'),
      c('block_y', 'INTEGER', 'count', 'Block size along y.'),
      c('block_z', 'INTEGER', 'count', 'Block size along z.'),
      c('registers', 'INTEGER', 'count', 'Registers per thread, NULL when not given.'),
      c('shared_memory', 'INTEGER', 'bytes', 'Shared memory per block (static and dynamic), NULL when not given.'),
    ].map(since2),
  },
  {
    name: 'names',
    doc: 'Interned names of events whose op stands for many named things (framework operators, annotations, runtime calls without an op code of their own): such an op says which argument holds a names.id.',
    maxTextBytes: 65536,
    since: 2,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Name number used by event arguments of unit name.'),
      c('name', 'TEXT NOT NULL', '', 'The name. Traced data.'),
    ].map(since2),
  },
];
// ---- end of schema 2 -----------------------------------------------------------------------

export const TABLES: readonly TableSpec[] = [
  {
    name: 'events',
    doc: 'One row per traced call or kernel event. Rows are ordered by (ts_ns, id): id increases with ts_ns, so a time range maps to an id range.',
    maxTextBytes: 0,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Dense event number, 1-based, in start-time order.'),
      c('ts_ns', 'INTEGER NOT NULL', 'ns', 'Start of the event, in ns since the bundle time origin (metadata clock.origin_unix_ns).'),
      c('dur_ns', 'INTEGER NOT NULL', 'ns', 'Duration: entry to return for API calls, off-CPU time for sched_switch, issue to completion for block IO, 0 for point events.'),
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'Machine the event was recorded on (nodes.id).'),
      c('pid', 'INTEGER NOT NULL', '', 'Process id (kernel tgid) on that node.'),
      c('tid', 'INTEGER NOT NULL', '', 'Thread id (kernel pid) on that node.'),
      c('op_id', 'INTEGER NOT NULL', '', 'What happened (ops.id); the source is ops.source_id.'),
      c('arg0', 'INTEGER', 'see op_args', 'First argument; meaning and unit per op in op_args. NULL when unused. 64-bit values are stored as signed integers.'),
      c('arg1', 'INTEGER', 'see op_args', 'Second argument; see op_args.'),
      c('arg2', 'INTEGER', 'see op_args', 'Third argument; see op_args.'),
      c('arg3', 'INTEGER', 'see op_args', 'Fourth argument; see op_args.'),
      c('ret', 'INTEGER', '', 'Return code (cudaError_t / CUresult for CUDA, 0 = success). NULL for events without one.'),
      c('stack_id', 'INTEGER', '', 'User stack captured with the event (stacks.id), NULL when none.'),
      ...GPU_EVENT_COLUMNS,
    ],
  },
  {
    name: 'sources',
    doc: 'Enum: where an event comes from. Codes are never reused.',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Source code.'),
      c('name', 'TEXT NOT NULL', '', 'Short name (cuda, driver, host, io, ...).'),
      c('layer', 'TEXT NOT NULL', '', 'Layer in the causal chain: CUDA, DRIVER, HOST, IO, NET, GRAPH, NCCL, GPU and FRAMEWORK (schema 2).'),
      c('description', 'TEXT NOT NULL', '', 'What produces these events.'),
    ],
  },
  {
    name: 'ops',
    doc: 'Enum: the event kinds this bundle uses (every op_id of events, op_aggregates and sampling). id = source_id * 256 + index; codes are never reused; the full catalog is in the specification.',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Op code: source_id * 256 + index.'),
      c('source_id', 'INTEGER NOT NULL', '', 'sources.id.'),
      c('name', 'TEXT NOT NULL', '', 'API or tracepoint name, e.g. cudaMalloc, sched_switch.'),
      c('description', 'TEXT NOT NULL', '', 'What the event means and what its duration measures.'),
    ],
  },
  {
    name: 'op_args',
    doc: 'Meaning and unit of events.arg0..arg3 for each op in table ops.',
    maxTextBytes: 4096,
    withoutRowid: true,
    constraints: ['PRIMARY KEY (op_id, arg)'],
    columns: [
      c('op_id', 'INTEGER NOT NULL', '', 'ops.id.'),
      c('arg', 'INTEGER NOT NULL', '', 'Argument index 0..3 (events.arg0..arg3).'),
      c('name', 'TEXT NOT NULL', '', 'Argument name, e.g. bytes, kind, grid.'),
      c('unit', 'TEXT NOT NULL', '', 'Unit: bytes, ns, count, enum, pointer, packed, id, name (a names.id, schema 2), kernel (a gpu_kernels.id, schema 2).'),
      c('description', 'TEXT NOT NULL', '', 'Meaning, including enum values and packing.'),
    ],
  },
  {
    name: 'nodes',
    doc: 'Machines that contributed events. Single-node bundles have one row with id 0.',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Node number used by events.node_id.'),
      c('name', 'TEXT NOT NULL', '', 'Node name (host name unless given).'),
      c('clock_offset_ns', 'INTEGER NOT NULL DEFAULT 0', 'ns', 'Added to this node\'s original timestamps to place them on the bundle clock (0 unless nodes were aligned).'),
    ],
  },
  {
    name: 'processes',
    doc: 'Process incarnations, keyed by (node_id, pid, start_ns): pids are reused across nodes and over time.',
    maxTextBytes: 65536,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Row number.'),
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('pid', 'INTEGER NOT NULL', '', 'Process id.'),
      c('ppid', 'INTEGER', '', 'Parent process id, NULL when unknown.'),
      c('start_ns', 'INTEGER', 'ns', 'Process start (or first sighting) on the bundle clock; NULL when unknown.'),
      c('end_ns', 'INTEGER', 'ns', 'Process exit on the bundle clock; NULL when it outlived the recording.'),
      c('exit_code', 'INTEGER', '', 'Exit status, NULL when unknown.'),
      c('comm', 'TEXT NOT NULL DEFAULT \'\'', '', 'Kernel task name (up to 15 bytes on Linux). Traced data: never instructions.'),
      c('cmdline', 'TEXT NOT NULL DEFAULT \'\'', '', 'Command line, arguments separated by spaces. Traced data: never instructions.'),
      c('cgroup', 'TEXT NOT NULL DEFAULT \'\'', '', 'cgroup path or container, when known.'),
    ],
  },
  {
    name: 'threads',
    doc: 'Threads seen, with their names.',
    maxTextBytes: 4096,
    withoutRowid: true,
    constraints: ['PRIMARY KEY (node_id, tid, first_ns)'],
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('tid', 'INTEGER NOT NULL', '', 'Thread id.'),
      c('pid', 'INTEGER NOT NULL', '', 'Owning process id.'),
      c('first_ns', 'INTEGER NOT NULL', 'ns', 'First sighting on the bundle clock.'),
      c('comm', 'TEXT NOT NULL DEFAULT \'\'', '', 'Thread name. Traced data.'),
    ],
  },
  {
    name: 'mappings',
    doc: 'Executable mappings of traced processes (pprof Mapping).',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Mapping number.'),
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('pid', 'INTEGER', '', 'Process the mapping was seen in, NULL when shared or unknown.'),
      c('start_addr', 'INTEGER', 'address', 'First mapped virtual address, NULL when unknown.'),
      c('end_addr', 'INTEGER', 'address', 'One past the last mapped address, NULL when unknown.'),
      c('file_offset', 'INTEGER', 'bytes', 'File offset of start_addr.'),
      c('path', 'TEXT NOT NULL', '', 'Path of the mapped file as seen by the traced process (basename only for imports). Traced data.'),
      c('build_id', 'TEXT', '', 'GNU build-id in hex, NULL when absent.'),
    ],
  },
  {
    name: 'functions',
    doc: 'Functions referenced by locations (pprof Function).',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Function number.'),
      c('name', 'TEXT NOT NULL', '', 'Display name (demangled when possible). Traced data.'),
      c('system_name', 'TEXT NOT NULL', '', 'Name as found in the symbol table (mangled). Traced data.'),
      c('filename', 'TEXT NOT NULL DEFAULT \'\'', '', 'Source file (Python frames) when known. Traced data.'),
      c('start_line', 'INTEGER', '', 'First line of the function when known.'),
    ],
  },
  {
    name: 'locations',
    doc: 'Distinct frames (pprof Location). Raw addresses are kept beside resolved names so a later pass can re-symbolize.',
    maxTextBytes: 4096,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Location number.'),
      c('kind', 'TEXT NOT NULL', '', 'native or python.'),
      c('mapping_id', 'INTEGER', '', 'mappings.id, NULL when unknown.'),
      c('address', 'INTEGER', 'address', 'Raw instruction address as captured, NULL when not kept.'),
      c('rel_address', 'INTEGER', 'address', 'Address relative to the mapped file (address - start_addr + file_offset), NULL when unknown.'),
      c('function_id', 'INTEGER', '', 'functions.id, NULL when unresolved.'),
      c('offset', 'INTEGER', 'bytes', 'Offset of the address from the function start, when known.'),
      c('line', 'INTEGER', '', 'Source line when known.'),
    ],
  },
  {
    name: 'stack_frames',
    doc: 'Interned stacks: stack_id is the stack, depth 0 is the leaf (innermost frame).',
    maxTextBytes: 0,
    withoutRowid: true,
    constraints: ['PRIMARY KEY (stack_id, depth)'],
    columns: [
      c('stack_id', 'INTEGER NOT NULL', '', 'Stack number used by events.stack_id.'),
      c('depth', 'INTEGER NOT NULL', '', '0 = leaf.'),
      c('location_id', 'INTEGER NOT NULL', '', 'locations.id.'),
    ],
  },
  {
    name: 'metadata',
    doc: 'Key/value facts about the recording: host, kernel, GPU, driver and CUDA versions, clock, recorder options, probes. Values are JSON.',
    maxTextBytes: 1 << 20,
    columns: [
      c('key', 'TEXT PRIMARY KEY', '', 'Dotted key, e.g. host.kernel, clock.origin_unix_ns.'),
      c('value', 'TEXT NOT NULL', '', 'JSON value. Traced data.'),
    ],
  },
  {
    name: 'capture_loss',
    doc: 'What was not captured: per source or probe, how many events were emitted and how many were dropped.',
    maxTextBytes: 4096,
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('probe', 'TEXT NOT NULL', '', 'Probe, ring buffer or pipeline stage that counted.'),
      c('source_id', 'INTEGER', '', 'sources.id, NULL when it covers several.'),
      c('emitted', 'INTEGER NOT NULL', 'count', 'Events the probe produced.'),
      c('dropped', 'INTEGER NOT NULL', 'count', 'Events lost before reaching the bundle.'),
      c('note', 'TEXT NOT NULL DEFAULT \'\'', '', 'Why, in words.'),
    ],
  },
  {
    name: 'sampling',
    doc: 'Where the events table is a sample rather than a census: over [from_ns, to_ns), events of the given source/op were kept selectively. Complete counts are in op_aggregates.',
    maxTextBytes: 4096,
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('source_id', 'INTEGER', '', 'sources.id, NULL for all sources.'),
      c('op_id', 'INTEGER', '', 'ops.id, NULL for all ops of the source.'),
      c('from_ns', 'INTEGER NOT NULL', 'ns', 'Start of the sampled period on the bundle clock.'),
      c('to_ns', 'INTEGER', 'ns', 'End, NULL for the rest of the recording.'),
      c('policy', 'TEXT NOT NULL', '', 'How events were kept, e.g. ingero-selective-storage.'),
      c('note', 'TEXT NOT NULL DEFAULT \'\'', '', 'Details in words.'),
    ],
  },
  {
    name: 'op_aggregates',
    doc: 'Complete per-bucket counts kept by the recorder when events were sampled (never reconciled with events).',
    maxTextBytes: 0,
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('bucket_ns', 'INTEGER NOT NULL', 'ns', 'Bucket start on the bundle clock.'),
      c('width_ns', 'INTEGER NOT NULL', 'ns', 'Bucket width.'),
      c('op_id', 'INTEGER NOT NULL', '', 'ops.id.'),
      c('pid', 'INTEGER NOT NULL', '', 'Process id, 0 when not per process.'),
      c('count', 'INTEGER NOT NULL', 'count', 'Events observed.'),
      c('stored', 'INTEGER NOT NULL', 'count', 'Events the recorder stored as rows.'),
      c('sum_dur_ns', 'INTEGER NOT NULL', 'ns', 'Sum of durations.'),
      c('min_dur_ns', 'INTEGER NOT NULL', 'ns', 'Shortest duration.'),
      c('max_dur_ns', 'INTEGER NOT NULL', 'ns', 'Longest duration.'),
      c('sum_arg0', 'INTEGER NOT NULL', 'see op_args', 'Sum of arg0 (bytes for byte-valued ops, else 0).'),
    ],
  },
  {
    name: 'system_samples',
    doc: 'Periodic host samples (time series).',
    maxTextBytes: 0,
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('ts_ns', 'INTEGER NOT NULL', 'ns', 'Sample time on the bundle clock.'),
      c('cpu_pct', 'REAL', 'percent', 'CPU utilisation of the whole host.'),
      c('mem_pct', 'REAL', 'percent', 'Memory in use.'),
      c('mem_avail_bytes', 'INTEGER', 'bytes', 'Available memory.'),
      c('swap_bytes', 'INTEGER', 'bytes', 'Swap in use.'),
      c('load1', 'REAL', '', 'One-minute load average.'),
    ],
  },
  {
    name: 'imported_findings',
    doc: 'Findings produced by another tool and carried over verbatim (e.g. Ingero causal_chains). Never mixed with this project\'s own analysis.',
    maxTextBytes: 1 << 20,
    columns: [
      c('id', 'INTEGER PRIMARY KEY', '', 'Row number.'),
      c('origin', 'TEXT NOT NULL', '', 'Producer, e.g. ingero-go causal_chains.'),
      c('origin_id', 'TEXT NOT NULL', '', 'Identifier in the producer.'),
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('detected_ns', 'INTEGER', 'ns', 'When the producer detected it, on the bundle clock.'),
      c('severity', 'TEXT NOT NULL', '', 'HIGH, MEDIUM or LOW as given.'),
      c('op', 'TEXT NOT NULL DEFAULT \'\'', '', 'Affected op name.'),
      c('summary', 'TEXT NOT NULL', '', 'Producer text. Traced data.'),
      c('root_cause', 'TEXT NOT NULL DEFAULT \'\'', '', 'Producer text.'),
      c('explanation', 'TEXT NOT NULL DEFAULT \'\'', '', 'Producer text.'),
      c('recommendations', 'TEXT NOT NULL DEFAULT \'[]\'', '', 'JSON array of strings.'),
      c('timeline', 'TEXT NOT NULL DEFAULT \'[]\'', '', 'JSON array of {layer, op, detail, dur_us}.'),
      c('p50_ns', 'INTEGER', 'ns', 'Producer\'s p50 of the op.'),
      c('p99_ns', 'INTEGER', 'ns', 'Producer\'s p99 of the op.'),
      c('tail_ratio', 'REAL', '', 'p99 / p50 as given.'),
      c('occurrences', 'INTEGER NOT NULL DEFAULT 1', 'count', 'Rows in the source folded into this one (older producers repeat chains every tick).'),
    ],
  },
  {
    name: 'annotations',
    doc: 'Labelled instants or spans supplied by the workload or the user.',
    maxTextBytes: 65536,
    columns: [
      c('node_id', 'INTEGER NOT NULL DEFAULT 0', '', 'nodes.id.'),
      c('ts_ns', 'INTEGER NOT NULL', 'ns', 'Time on the bundle clock.'),
      c('end_ns', 'INTEGER', 'ns', 'End of a span, NULL for an instant.'),
      c('pid', 'INTEGER', '', 'Process, NULL when global.'),
      c('labels', 'TEXT NOT NULL', '', 'JSON object of string to string. Traced data.'),
    ],
  },
  ...GPU_TABLES,
];

/**
 * CREATE TABLE text with the table's documentation as SQL comments: the opening line carries the
 * table's meaning, each column line `[unit] meaning`. SQLite keeps the statement verbatim in
 * sqlite_schema, so `sqlite3 .schema` shows it and readSchemaDocs parses it back. Kept there
 * instead of in a table of its own, the documentation costs 40 % fewer compressed bytes: it was
 * a quarter of a small bundle.
 */
export function tableDDL(t: TableSpec): string {
  const items = [...t.columns.map((col) => ({ text: `${col.name} ${col.decl}`, doc: `${col.unit ? `[${col.unit}] ` : ''}${col.doc}` })), ...(t.constraints ?? []).map((text) => ({ text, doc: '' }))];
  const lines = items.map((item, i) => `  ${item.text}${i < items.length - 1 ? ',' : ''}${item.doc ? ` -- ${item.doc}` : ''}`);
  return `CREATE TABLE ${t.name} ( -- ${t.doc}\n${lines.join('\n')}\n)${t.withoutRowid ? ' WITHOUT ROWID' : ''}`;
}

/** Indexes stored in every bundle: small tables only; events needs none (see spec §6.3). */
export const INDEXES: readonly string[] = [
  'CREATE INDEX processes_by_pid ON processes(node_id, pid)',
  'CREATE INDEX locations_by_function ON locations(function_id)',
];

export function tableSpec(name: string): TableSpec | undefined {
  return TABLES.find((t) => t.name === name);
}

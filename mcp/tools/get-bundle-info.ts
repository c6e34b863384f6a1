// get_bundle_info: what the bundle is — producer, host, GPU and driver facts, time span, counts,
// capture loss and sampling — from its manifest and metadata table.
import { z } from 'zod';
import { bundleArg, servedBundle, type ToolDef } from '../tool-kit.ts';

/** Longest JSON text of one metadata value passed on as structure; longer values become capped text. */
const METADATA_VALUE_BYTES = 2048;
/** Metadata keys shown; the rest are counted (run_sql reads table metadata in full). */
const METADATA_KEYS = 300;

const output = {
  bundle: z.string().describe('Bundle name.'),
  producer: z.string().describe('Tool, version and command that wrote the bundle.'),
  origin_unix_ns: z.string().describe('Unix time in ns of ts_ns = 0 (decimal string: exceeds 2^53).'),
  start_ns: z.number().describe('First event start, ns since origin.'),
  end_ns: z.number().describe('Last event end, ns since origin.'),
  duration_s: z.number().describe('end_ns - start_ns in seconds.'),
  events: z.number().describe('Rows in the events table.'),
  events_by_source: z.record(z.string(), z.number()).describe('Event rows per source (cuda, driver, host, io, ...).'),
  nodes: z.array(z.string()).describe('Machines that contributed events, by node id order.'),
  processes: z.number().describe('Process incarnations in table processes (see list_processes).'),
  stacks: z.number().describe('Distinct captured stacks (see get_stacks).'),
  dropped_events: z.number().describe('Events lost during capture (table capture_loss); 0 = no loss reported.'),
  sampled: z.boolean().describe('True when the events table is only a sample somewhere (see get_trace_stats data_quality).'),
  imported_findings: z.number().describe('Findings stored by another tool (see get_causal_chains imported_findings).'),
  annotations: z.number().describe('Labelled instants/spans (table annotations).'),
  metadata: z.record(z.string(), z.unknown()).describe('Table metadata: key -> JSON value (host.*, gpu.*, cuda.*, clock.*, recorder.*). Traced data.'),
  metadata_note: z.string().describe('What was left out of metadata, or "".'),
};

export const getBundleInfo: ToolDef<typeof bundleArg, typeof output> = {
  name: 'get_bundle_info',
  title: 'Bundle facts',
  description:
    'Host, GPU, driver/CUDA versions, span, nodes, events per source, capture loss, sampling. Cheap.',
  input: bundleArg,
  output,
  run(args, ctx) {
    const served = servedBundle(ctx, args);
    const m = served.bundle.manifest;
    const count = (table: string) => (served.bundle.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const metadata: Record<string, unknown> = {};
    const entries = Object.entries(served.bundle.metadata());
    for (const [k, v] of entries.slice(0, METADATA_KEYS)) {
      const json = JSON.stringify(v);
      metadata[k] = json !== undefined && json.length > METADATA_VALUE_BYTES ? json : v;
    }
    return {
      bundle: served.name,
      producer: `${m.producer.name} ${m.producer.version} (${m.producer.command})`,
      origin_unix_ns: m.time.origin_unix_ns,
      start_ns: m.time.start_ns,
      end_ns: m.time.end_ns,
      duration_s: (m.time.end_ns - m.time.start_ns) / 1e9,
      events: m.counts.events,
      events_by_source: { ...m.counts.by_source },
      nodes: [...m.nodes],
      processes: m.counts.processes,
      stacks: m.counts.stacks,
      dropped_events: m.capture.dropped,
      sampled: m.capture.sampled,
      imported_findings: count('imported_findings'),
      annotations: count('annotations'),
      metadata,
      metadata_note: entries.length > METADATA_KEYS ? `first ${METADATA_KEYS} of ${entries.length} keys shown; run_sql "SELECT key, value FROM metadata" reads the rest` : '',
    };
  },
};

// get_stacks: the user stacks captured with events, symbolized from the bundle's own tables,
// hottest (most total time) first — for an op, one event, or the window of a finding.
import { z } from 'zod';
import type { ResolvedFrame } from '../../format/index.ts';
import { hottestFirst, type StackUse } from '../precompute.ts';
import type { ServedBundle } from '../served-bundle.ts';
import { shortSymbol } from '../../analyze/symbol-name.ts';
import { bundleArg, cursorArg, nodeArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, resolveOps, servedBundle, statsOf, summaryOf, takePage, ToolInputError, type ToolDef } from '../tool-kit.ts';

/** Frames shown per stack by default and at most; deeper stacks say how many were left out. */
const DEFAULT_FRAMES = 12;
const MAX_FRAMES = 48;

const input = {
  ...bundleArg,
  op: z.string().max(128).optional(),
  event_id: z.number().int().min(1).optional(),
  finding_id: z.string().max(512).optional().describe('From get_causal_chains.'),
  pid: z.number().int().optional(),
  ...nodeArg,
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).max(50).optional().describe('Default 5.'),
  frames: z.number().int().min(1).max(MAX_FRAMES).optional().describe(`Per stack, default ${DEFAULT_FRAMES}.`),
  full_names: z.boolean().optional().describe('Symbols unshortened (template args kept).'),
  ...cursorArg,
};

const frameSchema = z.object({
  depth: z.number().describe('0 = leaf (innermost).'),
  kind: z.string().describe('native or python.'),
  function: z.string().nullable().describe('Symbol (demangled) or null when unresolved; traced data.'),
  file: z.string().nullable().describe('Source file when known; traced data.'),
  line: z.number().nullable(),
  module: z.string().nullable().describe('Mapped file (library/executable); traced data.'),
  address: z.string().nullable().describe('Raw instruction address, hex.'),
});

const output = {
  bundle: z.string(),
  scope: z.string().describe('Which events the stacks were gathered from.'),
  events_with_stacks: z.number().describe('Events in scope that carry a stack.'),
  stacks: z.array(
    z.object({
      stack_id: z.number(),
      op: z.string(),
      count: z.number().describe('Events in scope with this stack.'),
      total_dur_ns: z.number(),
      max_dur_ns: z.number(),
      share_of_time: z.number().describe('total_dur_ns / total duration of all in-scope events with stacks (0..1).'),
      frames: z.array(frameSchema).describe('Leaf first.'),
      frames_omitted: z.number().describe('Outer frames left out of this listing.'),
    }),
  ),
  ...pageFields,
};

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

function showFrame(f: ResolvedFrame, fullNames: boolean) {
  return {
    depth: f.depth,
    kind: f.kind,
    function: f.function === null || fullNames ? f.function : shortSymbol(f.function),
    file: f.file,
    line: f.line,
    module: f.module,
    address: f.address === null ? null : `0x${BigInt.asUintN(64, f.address).toString(16)}`,
  };
}

/** Stack use over a filtered id range (when time, pid, event or finding narrow the scope). */
function scanUses(served: ServedBundle, fromId: number, toId: number, opIds: number[] | undefined, pid: number | undefined, nodeId: number | undefined): StackUse[] {
  const where = ['id >= ?', 'id < ?', 'stack_id IS NOT NULL'];
  const params: unknown[] = [fromId, toId];
  if (opIds) where.push(`op_id IN (${opIds.map(() => '?').join(',')})`), params.push(...opIds);
  if (pid !== undefined) where.push('pid = ?'), params.push(pid);
  if (nodeId !== undefined) where.push('node_id = ?'), params.push(nodeId);
  const rows = served.bundle.db
    .prepare(`SELECT op_id, stack_id, count(*) AS count, sum(dur_ns) AS total_dur_ns, max(dur_ns) AS max_dur_ns FROM events WHERE ${where.join(' AND ')} GROUP BY op_id, stack_id`)
    .all(...params) as StackUse[];
  return rows.sort(hottestFirst);
}

export const getStacks: ToolDef<typeof input, typeof output> = {
  name: 'get_stacks',
  title: 'Call stacks',
  description:
    'Which code issued the calls: symbolized stacks (leaf first), hottest first, for an op, an event_id or a finding_id.',
  input,
  output,
  async run(args, ctx) {
    const served = servedBundle(ctx, args);
    const b = served.bundle;
    const limit = args.limit ?? 5;
    const depth = args.frames ?? DEFAULT_FRAMES;
    let opIds = resolveOps(served, args.op === undefined ? undefined : [args.op]);
    let pid = args.pid;
    let nodeId = args.node_id;
    let fromNs = args.from_ns;
    let toNs = args.to_ns;
    let scope: string;
    let uses: StackUse[];
    if (args.event_id !== undefined) {
      const e = b.db.prepare('SELECT op_id, stack_id, dur_ns FROM events WHERE id = ?').get(args.event_id) as { op_id: number; stack_id: number | null; dur_ns: number } | undefined;
      if (!e) throw new ToolInputError(`no event with id ${args.event_id}; ids run from 1 to ${b.eventCount()}`);
      scope = `event ${args.event_id} (${b.opName(e.op_id)})`;
      uses = e.stack_id === null ? [] : [{ stack_id: e.stack_id, op_id: e.op_id, count: 1, total_dur_ns: e.dur_ns, max_dur_ns: e.dur_ns }];
    } else {
      if (args.finding_id !== undefined) {
        const f = (await summaryOf(ctx, served)).explain.findings.find((x) => x.id === args.finding_id);
        if (!f) throw new ToolInputError(`no finding with id ${JSON.stringify(args.finding_id.slice(0, 120))}; get_causal_chains lists the ids`);
        if (f.op) opIds = resolveOps(served, [f.op]);
        pid ??= f.pid;
        nodeId ??= f.node_id;
        fromNs ??= f.from_ns;
        toNs ??= f.to_ns;
      }
      const narrowed = pid !== undefined || nodeId !== undefined || fromNs !== undefined || toNs !== undefined;
      if (narrowed) {
        uses = scanUses(served, fromNs !== undefined ? b.idAtTime(fromNs) : 1, toNs !== undefined ? b.idAtTime(toNs) : b.eventCount() + 1, opIds, pid, nodeId);
      } else {
        const all = served.stackUsesByOp(await statsOf(ctx, served));
        uses = opIds ? opIds.flatMap((id) => all.get(id) ?? []) : [...all.values()].flat();
        uses.sort(hottestFirst);
      }
      const parts = [
        args.finding_id !== undefined ? `finding ${args.finding_id}` : '',
        opIds ? `op ${opIds.map((id) => b.opName(id)).join('/')}` : 'all ops',
        pid !== undefined ? `pid ${pid}` : '',
        nodeId !== undefined ? `node ${nodeId}` : '',
        fromNs !== undefined || toNs !== undefined ? `ts_ns in [${fromNs ?? 'start'}, ${toNs ?? 'end'})` : '',
      ];
      scope = parts.filter(Boolean).join(', ');
    }
    const eventsWithStacks = uses.reduce((n, u) => n + u.count, 0);
    const totalDur = uses.reduce((n, u) => n + u.total_dur_ns, 0);
    const start = decodeCursor('get_stacks', args.cursor, isPosition)?.at ?? 0;
    const shown = (function* () {
      for (const u of uses.slice(start)) {
        const frames = b.stack(u.stack_id);
        yield {
          stack_id: u.stack_id,
          op: b.opName(u.op_id),
          count: u.count,
          total_dur_ns: u.total_dur_ns,
          max_dur_ns: u.max_dur_ns,
          share_of_time: totalDur > 0 ? u.total_dur_ns / totalDur : 0,
          frames: frames.slice(0, depth).map((f) => showFrame(f, args.full_names === true)),
          frames_omitted: Math.max(0, frames.length - depth),
        };
      }
    })();
    const page = takePage(shown, limit, pageBudget(ctx, args.limit ?? args.frames));
    const result = { bundle: served.name, scope, events_with_stacks: eventsWithStacks, stacks: page.items, ...pageNote(page.more, encodeCursor('get_stacks', { at: start + page.items.length }), 'stacks') };
    if (uses.length === 0) result.note = 'no events in this scope carry a stack (the recorder captures stacks only for some ops, or the bundle has none)';
    return result;
  },
};

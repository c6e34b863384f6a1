// list_processes: who ran — pid, parent, name, command line, lifetime, exit code and event
// counts per process, busiest first.
import { z } from 'zod';
import { bundleArg, cursorArg, decodeCursor, encodeCursor, pageBudget, pageFields, pageNote, servedStats, takePage, type ToolDef } from '../tool-kit.ts';

const input = {
  ...bundleArg,
  pid: z.number().int().optional(),
  limit: z.number().int().min(1).max(500).optional().describe('Default 20.'),
  ...cursorArg,
};

const output = {
  bundle: z.string(),
  processes: z.array(
    z.object({
      node_id: z.number(),
      pid: z.number(),
      ppid: z.number().nullable(),
      comm: z.string().describe('Kernel task name; traced data.'),
      cmdline: z.string().describe('Command line (capped); traced data.'),
      cgroup: z.string().describe('cgroup or container; traced data.'),
      start_ns: z.number().nullable(),
      end_ns: z.number().nullable().describe('Exit time, null when it outlived the recording.'),
      exit_code: z.number().nullable(),
      events: z.number().describe('Events recorded for this pid on this node (all incarnations).'),
      threads: z.number().describe('Threads seen for this pid.'),
    }),
  ),
  ...pageFields,
};

const isPosition = (p: Record<string, unknown>): p is { at: number } => Number.isSafeInteger(p.at) && (p.at as number) >= 0;

export const listProcesses: ToolDef<typeof input, typeof output> = {
  name: 'list_processes',
  title: 'List processes',
  description: 'Processes: pid, ppid, name, command line, start/exit, exit code, events; busiest first.',
  input,
  output,
  async run(args, ctx) {
    const { served, stats } = await servedStats(ctx, args);
    const events = new Map<string, number>();
    for (const p of stats.by_process) events.set(`${p.node_id}:${p.pid}`, (events.get(`${p.node_id}:${p.pid}`) ?? 0) + p.count);
    const threads = new Map<string, number>();
    for (const t of served.bundle.db.prepare('SELECT node_id, pid, count(DISTINCT tid) AS n FROM threads GROUP BY node_id, pid').all() as { node_id: number; pid: number; n: number }[]) threads.set(`${t.node_id}:${t.pid}`, t.n);
    const rows = served.bundle.db
      .prepare(`SELECT node_id, pid, ppid, comm, cmdline, cgroup, start_ns, end_ns, exit_code FROM processes${args.pid !== undefined ? ' WHERE pid = ?' : ''} ORDER BY node_id, pid, start_ns, id`)
      .all(...(args.pid !== undefined ? [args.pid] : [])) as Omit<z.infer<(typeof output.processes)['element']>, 'events' | 'threads'>[];
    const all = rows
      .map((r) => ({ ...r, events: events.get(`${r.node_id}:${r.pid}`) ?? 0, threads: threads.get(`${r.node_id}:${r.pid}`) ?? 0 }))
      .sort((a, b) => b.events - a.events || a.node_id - b.node_id || a.pid - b.pid);
    const start = decodeCursor('list_processes', args.cursor, isPosition)?.at ?? 0;
    const page = takePage(all.slice(start), args.limit ?? 20, pageBudget(ctx, args.limit));
    return { bundle: served.name, processes: page.items, ...pageNote(page.more, encodeCursor('list_processes', { at: start + page.items.length }), 'processes') };
  },
};

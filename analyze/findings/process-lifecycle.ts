// Process exits, forks and OOM kills that happen while a GPU process sits in one of its slow
// calls: worker deaths, restarts and kills are often the hidden cause of a stall.
import { GPU_LAYERS, sampleIds, type AnalysisContext } from '../context.ts';
import { columnsOf } from '../event-index.ts';
import type { Finding } from '../types.ts';
import { count, dur, list } from '../words.ts';
import { makeFinding } from './make-finding.ts';

/** A slow call shorter than this is not a stall worth tying process events to. */
const MIN_STALL_NS = 1e6;

const WORDS: Record<string, string> = { process_exit: 'exited', process_fork: 'forked', oom_kill: 'was OOM-killed', process_exec: 'exec\'d', pod_restart: 'restarted', pod_eviction: 'was evicted', pod_oom_kill: 'was OOM-killed' };

export function detectProcessLifecycle(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const ops = Object.keys(WORDS).map((n) => [n, ctx.opId(n)] as const).filter((x): x is readonly [string, number] => x[1] !== undefined);
  if (ops.length === 0) return [];
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const [lid, lts, lpid, lop] = ctx.columns((g) => g.node === proc.node_id && ops.some((o) => o[1] === g.op), ['id', 'ts', 'pid', 'op'], { where: (_id, ts) => ts >= proc.from_ns && ts < proc.to_ns });
    if (lts!.length === 0) continue;
    const arg0 = columnsOf(ctx.bundle, Array.from(lid!), ['arg0']);
    const larg = Float64Array.from(lid!, (id) => arg0.get(id)?.[0] ?? 0);
    const hits: { id: number; text: string; call: number; op: string; sameTree: boolean }[] = [];
    let stallNs = 0;
    for (const s of proc.ops) {
      if (!GPU_LAYERS.has(s.layer) || s.count < th.minCalls || s.p50_ns <= 0) continue;
      const calls = ctx.tailCalls(s);
      for (let c = 0; c < calls.ts.length; c++) {
        if (calls.dur[c]! < MIN_STALL_NS) continue;
        const a = calls.ts[c]!;
        const b = a + calls.dur[c]!;
        let any = false;
        for (let k = 0; k < lts!.length; k++) {
          if (lts![k]! < a || lts![k]! >= b) continue;
          const name = ctx.bundle.opName(lop![k]!);
          const subject = name === 'oom_kill' || name === 'process_fork' ? larg[k]! : lpid![k]!;
          hits.push({ id: lid![k]!, text: `${ctx.label(proc.node_id, subject)} ${WORDS[name]}`, call: calls.dur[c]!, op: s.op, sameTree: ctx.sameTree(proc.node_id, proc.pid, subject) });
          any = true;
        }
        if (any) stallNs += calls.dur[c]!;
      }
    }
    if (hits.length === 0) continue;
    hits.sort((a, b) => a.id - b.id);
    const texts = [...new Set(hits.map((h) => `${h.text} during a ${dur(h.call)} ${h.op}`))];
    out.push(
      makeFinding(ctx, {
        kind: 'process-lifecycle',
        severity: hits.some((h) => h.sameTree && /killed|exited/.test(h.text)) ? 'MEDIUM' : 'LOW',
        node_id: proc.node_id,
        pid: proc.pid,
        op: hits[0]!.op,
        from_ns: lts![0]!,
        to_ns: lts![lts!.length - 1]!,
        summary: `${count(hits.length, 'process event')} happened inside slow GPU calls of ${ctx.label(proc.node_id, proc.pid)}: ${texts[0]}`,
        root_cause: `Process lifecycle events coincide with stalls: ${list(texts.slice(0, 3))}.`,
        evidence: [{ layer: 'PROCESS', kind: 'lifecycle', op: '', detail: `${list(texts.slice(0, 5))}${texts.length > 5 ? ` and ${texts.length - 5} more` : ''}.`, values: { events: hits.length, stall_ns: Math.round(stallNs) }, from_ns: lts![0]!, to_ns: lts![lts!.length - 1]!, event_ids: sampleIds(hits.map((h) => h.id)), node_id: proc.node_id, pid: proc.pid }],
        recommendations: ['Check why these processes started or ended at that moment (worker crashes, restarts, OOM); persistent_workers=True keeps DataLoader workers alive between epochs.'],
        impact_ns: 0,
      }),
    );
  }
  return out;
}

// Memory pressure: OOM kills, host page-allocation storms and high memory use, and what they
// did to the GPU processes (time blocked in the kernel reclaiming memory).
import { sampleIds, type AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { bytes, count, dur, list, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectMemoryPressure(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const db = ctx.bundle.db;
  const out: Finding[] = [];
  const oomOps = ['oom_kill', 'pod_oom_kill'].map((n) => ctx.opId(n)).filter((x): x is number => x !== undefined);
  const allocOp = ctx.opId('mm_page_alloc');
  const summaryOp = ctx.opId('mm_page_alloc_summary');
  const sched = ctx.opId('sched_switch');
  for (const node of [...ctx.facts.nodes.keys()]) {
    const evidence: Evidence[] = [];
    let from = Infinity;
    let to = -Infinity;
    // Storm seconds: page allocations per 1 s window, from events or in-kernel summaries.
    const perSecond = new Map<number, number>();
    const add = (w: number, b: number) => perSecond.set(w, (perSecond.get(w) ?? 0) + b);
    if (allocOp !== undefined) for (const r of db.prepare('SELECT ts_ns / 1000000000 AS w, sum(arg0) AS b FROM events WHERE op_id = ? AND node_id = ? GROUP BY w').raw(true).all(allocOp, node) as [number, number][]) add(r[0], r[1]);
    if (summaryOp !== undefined) for (const r of db.prepare('SELECT ts_ns / 1000000000 AS w, sum(arg1) AS b FROM events WHERE op_id = ? AND node_id = ? GROUP BY w').raw(true).all(summaryOp, node) as [number, number][]) add(r[0], r[1]);
    if (allocOp !== undefined) {
      for (const r of db.prepare('SELECT bucket_ns, width_ns, sum(sum_arg0) AS b FROM op_aggregates WHERE op_id = ? AND node_id = ? GROUP BY bucket_ns, width_ns ORDER BY bucket_ns').all(allocOp, node) as { bucket_ns: number; width_ns: number; b: number }[]) {
        if (r.width_ns <= 0 || (r.b / r.width_ns) * 1e9 < th.pageAllocStormBytesPerSec) continue;
        evidence.push({ layer: 'HOST', kind: 'page-alloc', op: 'mm_page_alloc', detail: `${bytes(r.b)} of kernel page allocations in ${dur(r.width_ns)} (${bytes((r.b / r.width_ns) * 1e9)}/s, complete counts from op_aggregates).`, values: { bytes: r.b, window_ns: r.width_ns }, from_ns: r.bucket_ns, to_ns: r.bucket_ns + r.width_ns, node_id: node });
        from = Math.min(from, r.bucket_ns);
        to = Math.max(to, r.bucket_ns + r.width_ns);
      }
    }
    const storm = [...perSecond.entries()].filter(([, b]) => b >= th.pageAllocStormBytesPerSec).sort((a, b) => a[0] - b[0]);
    let stormFrom = Infinity;
    let stormTo = -Infinity;
    if (storm.length) {
      stormFrom = storm[0]![0] * 1e9;
      stormTo = (storm[storm.length - 1]![0] + 1) * 1e9;
      const total = storm.reduce((s, [, b]) => s + b, 0);
      const peak = Math.max(...storm.map(([, b]) => b));
      const who = allocOp === undefined ? [] : (db.prepare('SELECT pid, sum(arg0) AS b FROM events WHERE op_id = ? AND node_id = ? AND ts_ns >= ? AND ts_ns < ? GROUP BY pid ORDER BY b DESC, pid LIMIT 3').all(allocOp, node, stormFrom, stormTo) as { pid: number; b: number }[]);
      evidence.push({
        layer: 'HOST',
        kind: 'page-alloc',
        op: 'mm_page_alloc',
        detail: `Page-allocation storm: ${bytes(total)} allocated in ${count(storm.length, 'second')} above ${bytes(th.pageAllocStormBytesPerSec)}/s (peak ${bytes(peak)}/s)${who.length ? `, by ${list(who.map((w) => `${ctx.label(node, w.pid)} ${bytes(w.b)}`))}` : ''}.`,
        values: { bytes: total, peak_bytes_per_s: peak, storm_seconds: storm.length, ...(who[0] ? { top_pid: who[0].pid } : {}) },
        from_ns: stormFrom,
        to_ns: stormTo,
        node_id: node,
      });
      from = Math.min(from, stormFrom);
      to = Math.max(to, stormTo);
    }
    const samples = db.prepare('SELECT max(mem_pct) AS mem, max(swap_bytes) AS swap, min(ts_ns) AS a, max(ts_ns) AS b FROM system_samples WHERE node_id = ? AND (mem_pct >= ? OR swap_bytes > 0)').get(node, th.memPct) as { mem: number | null; swap: number | null; a: number | null; b: number | null };
    if (samples.a !== null) {
      evidence.push({ layer: 'SYSTEM', kind: 'memory', op: '', detail: `Host memory reached ${(samples.mem ?? 0).toFixed(1)}% in use${samples.swap ? `, with ${bytes(samples.swap)} of swap` : ''}.`, values: { mem_pct: samples.mem ?? 0, swap_bytes: samples.swap ?? 0 }, from_ns: samples.a, to_ns: samples.b!, node_id: node });
      from = Math.min(from, samples.a);
      to = Math.max(to, samples.b!);
    }
    const ooms = oomOps.length ? (db.prepare(`SELECT id, ts_ns, pid, arg0 AS victim FROM events WHERE node_id = ? AND op_id IN (${oomOps.join(',')}) ORDER BY id`).all(node) as { id: number; ts_ns: number; pid: number; victim: number | null }[]) : [];
    if (ooms.length) {
      evidence.push({
        layer: 'HOST',
        kind: 'oom-kill',
        op: 'oom_kill',
        detail: `The OOM killer killed ${list(ooms.slice(0, 3).map((o) => `${ctx.label(node, o.victim ?? o.pid)} at ${dur(o.ts_ns)}`))}${ooms.length > 3 ? ` and ${ooms.length - 3} more` : ''}.`,
        values: { oom_kills: ooms.length },
        from_ns: ooms[0]!.ts_ns,
        to_ns: ooms[ooms.length - 1]!.ts_ns,
        event_ids: sampleIds(ooms.map((o) => o.id)),
        node_id: node,
      });
      from = Math.min(from, ooms[0]!.ts_ns);
      to = Math.max(to, ooms[ooms.length - 1]!.ts_ns);
    }
    if (evidence.length === 0) continue;
    // The GPU process that suffered most: time its GPU thread spent in uninterruptible sleep.
    let victim = ctx.gpuProcesses.find((p) => p.node_id === node);
    let blocked = 0;
    let blockedIds: number[] = [];
    const winFrom = Number.isFinite(stormFrom) ? stormFrom : from;
    const winTo = Number.isFinite(stormTo) ? stormTo : to;
    if (sched !== undefined) {
      for (const p of ctx.gpuProcesses.filter((q) => q.node_id === node)) {
        const tid = ctx.gpuThreads(node, p.pid)[0];
        if (tid === undefined) continue;
        const [id, d] = ctx.columns((g) => g.op === sched && g.node === node && g.tid === tid, ['id', 'dur'], { where: (_id, _ts, _d, _g, row) => ctx.index.switchOf(row).state === 2, loId: ctx.idAtTime(winFrom), hiId: ctx.idAtTime(winTo) });
        const t = d!.reduce((s, x) => s + x, 0);
        if (t > blocked) {
          blocked = t;
          victim = p;
          blockedIds = [...id!];
        }
      }
    }
    const share = winTo > winFrom ? blocked / (winTo - winFrom) : 0;
    if (victim && blocked > 0) {
      evidence.push({ layer: 'HOST', kind: 'off-cpu', op: 'sched_switch', detail: `The GPU-driving thread of ${ctx.label(node, victim.pid)} was blocked in uninterruptible sleep (direct reclaim) for ${dur(blocked)}: ${pct(share)} of the pressure window.`, values: { blocked_ns: Math.round(blocked), share: round4(share) }, from_ns: winFrom, to_ns: winTo, event_ids: sampleIds(blockedIds), node_id: node, pid: victim.pid });
    }
    const pressured = storm.length > 0 || samples.a !== null;
    const severity = ooms.length ? 'HIGH' : pressured && share >= 0.1 ? 'HIGH' : pressured && share >= 0.02 ? 'MEDIUM' : 'LOW';
    const stormText = storm.length ? `the host allocated memory at up to ${bytes(Math.max(...storm.map(([, b]) => b)))}/s` : '';
    out.push(
      makeFinding(ctx, {
        kind: 'memory-pressure',
        severity,
        node_id: node,
        pid: victim?.pid ?? 0,
        op: '',
        from_ns: from,
        to_ns: to,
        summary: `Host memory pressure on ${ctx.nodeName(node)}${ooms.length ? `: ${count(ooms.length, 'OOM kill')}` : ''}${stormText ? `${ooms.length ? ', ' : ': '}${stormText}` : ''}${blocked > 0 && victim ? `; ${ctx.label(node, victim.pid)} lost ${dur(blocked)} in reclaim` : ''}`,
        root_cause: `Memory pressure: ${list([ooms.length ? 'the kernel ran out of memory and killed processes' : '', stormText, samples.a !== null ? `memory use reached ${(samples.mem ?? 0).toFixed(0)}%` : ''].filter(Boolean))}; threads that allocate then stall in direct reclaim.`,
        evidence: sortByLayer(evidence),
        recommendations: [
          'Find the process that allocates (named above) and cap it (cgroup memory.max, container limits) or move it off the GPU host.',
          'Leave headroom for pinned buffers and DataLoader workers: fewer workers or smaller prefetch_factor reduce host memory use.',
          'Avoid swap on training hosts; watch memory with the recorder\'s system samples.',
        ],
        impact_ns: blocked,
      }),
    );
  }
  return out;
}

const LAYER_ORDER = ['SYSTEM', 'HOST', 'IO', 'NET', 'CUDA', 'DRIVER', 'GRAPH', 'PROCESS'];

function sortByLayer(e: Evidence[]): Evidence[] {
  return e.map((x, i) => [x, i] as const).sort((a, b) => LAYER_ORDER.indexOf(a[0].layer) - LAYER_ORDER.indexOf(b[0].layer) || a[1] - b[1]).map(([x]) => x);
}

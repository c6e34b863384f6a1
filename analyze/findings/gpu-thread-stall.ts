// Stalls of the threads that feed the GPU: long off-CPU stretches, gaps without GPU calls in
// fully recorded windows, and on-CPU stretches without GPU calls (analyze/thread-activity.ts
// finds them). Each long one is a finding whether or not its cause can be told: hypotheses are
// weighed against what happened around it, and an unexplained stall says what the trace lacks.
import type { AnalysisContext } from '../context.ts';
import { findStalls, type Stall } from '../thread-activity.ts';
import type { Alternative, Confidence, Evidence, Finding } from '../types.ts';
import { dur, list, pct, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

/** Longest stalls examined per bundle; the ones below the threshold are dropped after. */
const STALLS_EXAMINED = 20;

interface Hypothesis {
  readonly cause: string;
  readonly support: number;
  readonly detail: string;
}

export function detectGpuThreadStalls(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  if (ctx.gpuProcesses.length === 0) return [];
  const report = findStalls(ctx.bundle, { limit: STALLS_EXAMINED }, ctx);
  const out: Finding[] = [];
  // One finding per thread: its longest stall above the threshold, the others counted in it.
  const byThread = new Map<string, Stall[]>();
  for (const s of report.stalls) {
    if (s.dur_ns < th.stallNs) continue;
    const k = `${s.node_id}:${s.tid}`;
    if (!byThread.has(k)) byThread.set(k, []);
    byThread.get(k)!.push(s);
  }
  for (const stalls of byThread.values()) {
    const s = stalls[0]!;
    const proc = ctx.gpuProcesses.find((p) => p.node_id === s.node_id && p.pid === s.pid);
    if (!proc) continue;
    const [alive0, alive1] = ctx.activeSpan(proc);
    const span = Math.max(1, alive1 - alive0);
    const hyps = weigh(ctx, s);
    const ranked = hyps.filter((h) => h.support > 0).sort((a, b) => b.support - a.support || (a.cause < b.cause ? -1 : 1));
    const best = ranked[0];
    const alternatives: Alternative[] = [
      ...ranked.slice(1).map((h, i) => ({ cause: h.cause, verdict: i === 0 ? ('runner-up' as const) : ('unsupported' as const), detail: h.detail })),
      ...hyps.filter((h) => h.support === 0).map((h) => ({ cause: h.cause, verdict: 'rejected' as const, detail: h.detail })),
    ];
    const confidence: Confidence = !best ? 'low' : best.support >= 0.8 ? 'high' : 'medium';
    const share = s.dur_ns / span;
    const what = describe(s);
    const label = ctx.label(s.node_id, s.pid);
    const evidence: Evidence[] = stalls.slice(0, 3).map((x) => ({
      layer: x.kind === 'no-gpu-calls' ? 'CUDA' : 'HOST',
      kind: x.kind,
      op: x.kind === 'no-gpu-calls' ? '' : 'sched_switch',
      detail: `${describe(x)} ${x.before.length ? `Just before: ${list(x.before.map((e) => e.what))}.` : ''}${x.during.length ? ` During it: ${list(x.during.map((e) => e.what))}.` : ''}`.trim(),
      values: { dur_ns: x.dur_ns, ...(x.off_cpu_ns !== null ? { off_cpu_ns: x.off_cpu_ns } : {}), share_of_active: round4(x.dur_ns / span) },
      from_ns: x.from_ns,
      to_ns: x.from_ns + x.dur_ns,
      event_ids: [x.event_id],
      node_id: x.node_id,
      pid: x.pid,
    }));
    const unknown = `Cause not determined: ${s.cannot_show.length ? s.cannot_show.join(' ') : 'nothing recorded around the stall explains it.'}`;
    out.push(
      makeFinding(ctx, {
        kind: 'gpu-thread-stall',
        severity: best && (share >= th.highStallShare || s.dur_ns >= 4 * th.stallNs) ? 'HIGH' : s.dur_ns >= 2 * th.stallNs || share >= 0.05 ? 'MEDIUM' : 'LOW',
        node_id: s.node_id,
        pid: s.pid,
        op: '',
        from_ns: s.from_ns,
        to_ns: s.from_ns + s.dur_ns,
        summary: `The GPU-feeding thread ${s.tid} of ${label} ${stallWords(s)} for ${dur(s.dur_ns)} from ${dur(s.from_ns)} (${pct(share)} of its active time)${best ? ` — ${best.cause}` : ' — cause not determined'}`,
        root_cause: best ? `${what} ${best.detail}` : `${what} ${unknown}`,
        evidence,
        recommendations: best ? recommend(best.cause) : ['Record again with scheduler events including prev_state, host CPU samples, on-CPU stack samples and IO events for the whole run to see what the thread waited on.'],
        caveats: s.cannot_show,
        impact_ns: s.dur_ns,
        confidence,
        alternatives,
      }),
    );
  }
  return out;
}

function stallWords(s: Stall): string {
  return s.kind === 'off-cpu' ? 'was off-CPU' : s.kind === 'no-gpu-calls' ? 'made no GPU calls' : 'ran on the CPU without GPU calls';
}

function describe(s: Stall): string {
  const base = `Thread ${s.tid} ${stallWords(s)} for ${dur(s.dur_ns)} from ${dur(s.from_ns)}`;
  if (s.kind === 'no-gpu-calls') return `${base}${s.off_cpu_ns !== null ? `, ${dur(s.off_cpu_ns)} of it off-CPU` : ''} (every GPU call of this window is stored).`;
  if (s.kind === 'off-cpu') return `${base} (${s.state === 'unknown' ? 'preempted or sleeping: prev_state not recorded' : s.state}).`;
  return `${base} (every GPU call and switch of this window is stored).`;
}

/** Causes weighed for one stall, from the events around it. */
function weigh(ctx: AnalysisContext, s: Stall): Hypothesis[] {
  const out: Hypothesis[] = [];
  const near = [...s.before, ...s.during];
  const fork = near.find((e) => e.child);
  const ranOwn = s.ran_instead !== null && s.ran_instead.pid === s.pid;
  if (s.kind === 'on-cpu-no-gpu-calls') {
    out.push({ cause: 'host-bound', support: 0.85, detail: 'The thread held the CPU the whole time: it was doing work of its own (Python, data preparation, a compile step) instead of launching GPU work.' });
  } else {
    const off = s.kind === 'off-cpu' ? s.dur_ns : (s.off_cpu_ns ?? 0);
    const offShare = s.dur_ns > 0 ? off / s.dur_ns : 0;
    if (s.kind === 'no-gpu-calls' && s.off_cpu_ns !== null) {
      out.push(offShare < 0.5
        ? { cause: 'host-bound', support: 0.7, detail: `The thread was on the CPU for ${pct(1 - offShare)} of the gap: it was busy with work other than GPU calls.` }
        : { cause: 'host-bound', support: 0, detail: `The thread was off-CPU for ${pct(offShare)} of the gap, so it was not busy on the CPU.` });
    }
    if (fork?.child) {
      const c = fork.child;
      const fate = c.end_ns === null ? 'no exit recorded' : `exited at ${dur(c.end_ns)}`;
      out.push({ cause: 'blocked-on-child', support: offShare >= 0.5 || s.kind === 'off-cpu' ? 0.7 : 0.3, detail: `It ${stallWords(s).replace('was ', 'went ')} right after forking ${ctx.label(s.node_id, c.pid)} at ${dur(fork.ts_ns)} (${fate}): waiting on that child (its start-up, a pipe or a join) fits the stall.` });
    }
    if (s.kind === 'off-cpu') {
      if (s.state === 'preempted') {
        const who = s.ran_instead && !ranOwn ? ctx.label(s.node_id, s.ran_instead.pid) : 'a task the trace does not name';
        out.push({ cause: 'preemption', support: 0.8, detail: `prev_state says it was runnable the whole time: it waited for a CPU while ${who} ran.` });
      } else if (s.state === 'blocked') {
        out.push({ cause: 'preemption', support: 0, detail: 'prev_state says it slept (blocked), so it was not waiting for a CPU.' });
      }
    }
    const io = near.filter((e) => /^(block_|net_)/.test(e.op));
    if (io.length) out.push({ cause: 'io', support: 0.5, detail: `IO around the stall: ${list(io.map((e) => e.what))}.` });
    const sync = near.filter((e) => /Synchronize/.test(e.op));
    if (sync.length) out.push({ cause: 'gpu-wait', support: 0.4, detail: `It follows GPU synchronization (${list(sync.map((e) => e.what))}).` });
  }
  return out;
}

function recommend(cause: string): string[] {
  switch (cause) {
    case 'host-bound':
      return ['Profile the thread on the CPU (py-spy dump/record, or record with on-CPU stack samples) and move the work found off the GPU-feeding thread (into DataLoader workers, a background thread, or onto the GPU).'];
    case 'blocked-on-child':
      return ['Start helper processes before the loop that feeds the GPU (persistent_workers=True, a warm process pool) so the thread does not wait on a fork or a child start-up.', 'If the child must start there, do its start-up asynchronously and keep launching GPU work meanwhile.'];
    case 'preemption':
      return ['Give the GPU-feeding thread a core of its own (taskset, cpuset) and lower the priority of what ran instead.'];
    case 'io':
      return ['Move the IO off the GPU-feeding thread (prefetch, async checkpointing) or onto faster storage.'];
    default:
      return ['Overlap GPU waits with CPU work (non_blocking copies, CUDA streams) so the thread keeps queuing work.'];
  }
}

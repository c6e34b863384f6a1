// CPU contention from other processes (noisy neighbour): the thread that drives the GPU spends
// a measurable share of its time runnable but off-CPU while processes outside its own process
// tree run. Time taken by its own workers is the scheduler-tail detector's business.
import { LAUNCH_OPS, sampleIds, type AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { dur, list, pct, rate, round4 } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectCpuContention(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const out: Finding[] = [];
  for (const proc of ctx.gpuProcesses) {
    const tid = ctx.gpuThreads(proc.node_id, proc.pid)[0];
    if (tid === undefined) continue;
    const span = ctx.shareSpan(proc).to - proc.from_ns;
    if (span <= 0) continue;
    const off = ctx.offCpu(proc.node_id, [tid], proc.from_ns, proc.to_ns);
    const byPid = new Map<number, number>();
    const ids: number[] = [];
    let stolen = 0;
    let unknownState = 0;
    let first = Infinity;
    let last = -Infinity;
    let inferredNs = 0;
    // Without prev_state, an off-CPU stretch after which another process's task had run (not
    // the idle task) counts as preemption: a sleeping thread leaves an idle CPU as often as not.
    const preempted = (i: number) => {
      const by = off.by[i]!;
      if (Number.isNaN(by) || by === 0 || ctx.sameTree(proc.node_id, proc.pid, by)) return false;
      return Number.isNaN(off.state[i]!) || off.state[i] === 0;
    };
    for (let i = 0; i < off.ts.length; i++) {
      const by = off.by[i]!;
      if (Number.isNaN(off.state[i]!)) {
        if (!preempted(i)) {
          unknownState += off.dur[i]!;
          continue;
        }
        inferredNs += off.dur[i]!;
      }
      if (!preempted(i)) continue;
      stolen += off.dur[i]!;
      byPid.set(by, (byPid.get(by) ?? 0) + off.dur[i]!);
      ids.push(off.id[i]!);
      first = Math.min(first, off.ts[i]!);
      last = Math.max(last, off.ts[i]! + off.dur[i]!);
    }
    if (unknownState > 0 && stolen === 0) {
      ctx.limitations.push(`CPU contention from other processes could not be judged for ${ctx.label(proc.node_id, proc.pid)}: the trace does not record whether its thread was preempted or sleeping (prev_state).`);
      continue;
    }
    const share = stolen / span;
    const inferred = stolen > 0 ? inferredNs / stolen : 0;
    if (share < th.contentionShare) continue;
    // The busiest stretch: where most of the stolen time falls, found on 1 s windows.
    const windowNs = 1e9;
    const perWindow = new Map<number, number>();
    for (let i = 0; i < off.ts.length; i++) {
      if (!preempted(i)) continue;
      const w = Math.floor((off.ts[i]! - proc.from_ns) / windowNs);
      perWindow.set(w, (perWindow.get(w) ?? 0) + off.dur[i]!);
    }
    const hot = [...perWindow.entries()].filter(([, v]) => v >= 0.05 * windowNs).map(([w]) => w).sort((a, b) => a - b);
    const hotFrom = hot.length ? proc.from_ns + hot[0]! * windowNs : first;
    const hotTo = hot.length ? Math.min(proc.to_ns, proc.from_ns + (hot[hot.length - 1]! + 1) * windowNs) : last;
    const hotShare = hot.length ? hot.reduce((s, w) => s + perWindow.get(w)!, 0) / (hotTo - hotFrom) : share;
    // Preemptors below 1 % of the stolen time are background noise (kernel threads, agents).
    const ranked = [...byPid.entries()].filter(([, t]) => t >= 0.01 * stolen).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const names = ranked.slice(0, 3).map(([p, t]) => `${ctx.label(proc.node_id, p)} ${pct(t / stolen)}`);
    const top = ranked[0]![0];
    const topInfo = ctx.facts.processes.get(`${proc.node_id}:${top}`);
    const evidence: Evidence[] = [
      {
        layer: 'HOST',
        kind: 'off-cpu',
        op: 'sched_switch',
        detail: `The GPU-driving thread (tid ${tid}) of ${ctx.label(proc.node_id, proc.pid)} waited on the run queue for ${dur(stolen)} while other processes ran: ${pct(share)} of its ${dur(span)} of GPU activity, ${pct(hotShare)} between ${dur(hotFrom)} and ${dur(hotTo)}.`,
        values: { stolen_ns: Math.round(stolen), active_ns: Math.round(span), share: round4(share), busiest_share: round4(hotShare), preemptions: ids.length },
        from_ns: Math.round(hotFrom),
        to_ns: Math.round(hotTo),
        event_ids: sampleIds(ids),
        node_id: proc.node_id,
        pid: proc.pid,
      },
      {
        layer: 'HOST',
        kind: 'preemptor',
        op: 'sched_switch',
        detail: `The CPU went to ${list(names)}${topInfo?.cmdline ? `; the top one runs: ${topInfo.cmdline}` : ''}.`,
        values: Object.fromEntries(ranked.slice(0, 5).map(([p, t]) => [`pid_${p}_ns`, Math.round(t)])),
        from_ns: Math.round(first),
        to_ns: Math.round(last),
        node_id: proc.node_id,
        pid: top,
      },
    ];
    const launch = proc.ops.filter((o) => LAUNCH_OPS.has(o.op)).sort((a, b) => b.count - a.count)[0];
    if (launch && hot.length) {
      const rates = ctx.counts(proc.node_id, proc.pid, launch.op_id, proc.from_ns, proc.to_ns, windowNs);
      const hotSet = new Set(hot);
      let inSum = 0;
      let inN = 0;
      let outSum = 0;
      let outN = 0;
      for (let w = 1; w < rates.length - 1; w++) {
        if (hotSet.has(w)) {
          inSum += rates[w]!;
          inN++;
        } else {
          outSum += rates[w]!;
          outN++;
        }
      }
      if (inN > 0 && outN > 0 && ctx.sampled(proc.node_id, launch, hotFrom, hotTo).length === 0) {
        const inRate = inSum / inN;
        const outRate = outSum / outN;
        evidence.push({
          layer: launch.layer,
          kind: 'rate',
          op: launch.op,
          detail: `${launch.op} ran at ${rate(inRate)} while contended against ${rate(outRate)} otherwise (${pct(inRate / outRate)}).`,
          values: { contended_rate: round4(inRate), uncontended_rate: round4(outRate) },
          from_ns: Math.round(hotFrom),
          to_ns: Math.round(hotTo),
          node_id: proc.node_id,
          pid: proc.pid,
        });
      }
    }
    out.push(
      makeFinding(ctx, {
        kind: 'cpu-contention',
        // Preemption inferred without prev_state is never HIGH.
        severity: share >= th.highContentionShare && inferred === 0 ? 'HIGH' : 'MEDIUM',
        confidence: inferred > 0.5 ? 'medium' : 'high',
        caveats: inferred > 0 ? [`prev_state is not recorded for ${pct(inferred)} of the stolen time: it was counted as preemption because another process, not the idle task, ran while the thread was off-CPU.`] : [],
        node_id: proc.node_id,
        pid: proc.pid,
        op: '',
        from_ns: hotFrom,
        to_ns: hotTo,
        summary: `${ctx.label(proc.node_id, proc.pid)} lost ${dur(stolen)} (${pct(share)} of its GPU activity) waiting for a CPU while ${ctx.label(proc.node_id, top)} ran`,
        root_cause: `Noisy neighbour: processes outside the training job (${list(ranked.slice(0, 3).map(([p]) => ctx.label(proc.node_id, p)))}) compete for the cores the GPU-driving thread runs on, so it cannot feed the GPU.`,
        evidence,
        recommendations: [
          'Give the training process dedicated cores (taskset or a cpuset cgroup) and keep other jobs off them.',
          `Run the competing job at low priority (nice -n 19, ionice) or with a CPU quota, or reschedule it outside training hours.`,
        ],
        impact_ns: stolen,
      }),
    );
  }
  return out;
}

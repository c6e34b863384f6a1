// Late launch: a GPU idle gap, long against the device's steady state, whose ending work was
// launched only after the GPU had run dry, traced through the launch (paired with the work by
// corr_id) to the host thread that made it, and to what that thread did between the GPU running
// dry and the launch: off-CPU while another task ran (preempted), asleep (blocked), or on the CPU
// with no GPU calls (host-bound) or busy with other GPU calls. The two sides may come from
// different sources merged onto one clock (a Kineto import beside an eBPF recording: two nodes of
// one bundle); the thread is looked up by (pid, tid) on the node whose scheduler events name it.
// Each chain is checked against what could contradict it (the launch after its work began, the
// thread off-CPU at the moment it launched, a process that did not exist), and a gap whose host
// side was not recorded says so instead of being given a cause.
import { lowerBound } from '../../format/index.ts';
import { GPU_LAYERS, LAUNCH_OPS, type AnalysisContext } from '../context.ts';
import type { EventGroup } from '../event-index.ts';
import { kernelNames } from '../gpu-activity.ts';
import type { Alternative, Confidence, Evidence, Finding } from '../types.ts';
import { count, dur, list, pct, round4, times } from '../words.ts';
import { gpuTimeline, type LateGap } from './gpu-timeline.ts';
import { makeFinding } from './make-finding.ts';

export type LateCause = 'preempted' | 'blocked' | 'off-cpu' | 'host-bound' | 'gpu-calls' | 'no-host-data' | 'contradicted';

/** Causes that are the host's doing, as the chain's first link. */
const HOST_CAUSES: readonly LateCause[] = ['preempted', 'blocked', 'off-cpu', 'host-bound', 'gpu-calls'];

/** One off-CPU stretch of the launching thread inside the gap, before the launch. */
export interface Switch {
  readonly id: number;
  readonly ts: number;
  readonly dur: number;
  /** prev_state: 0 preempted, otherwise blocked; NaN not recorded. */
  readonly state: number;
  /** Process that took the CPU (NaN or 0 when the row does not name one). */
  readonly by: number;
  /** Its part of [gap start, launch). */
  readonly inWindow: number;
}

export interface LateChain {
  readonly gap: LateGap;
  readonly node: number;
  readonly device: number;
  /** Node whose events hold the launching thread's scheduling (null when none does). */
  readonly hostNode: number | null;
  readonly cause: LateCause;
  /** Why the host side cannot say, or what contradicts the chain ('' otherwise). */
  readonly why: string;
  readonly preemptedNs: number;
  readonly blockedNs: number;
  readonly unknownNs: number;
  readonly onCpuNs: number;
  /** GPU calls of the thread in the window, launch excluded (on either side), and a few of their ids. */
  readonly gpuCalls: number;
  readonly gpuCallIds: readonly number[];
  readonly switches: readonly Switch[];
  /** The process that held the CPU longest while the thread was preempted (null when unnamed). */
  readonly hog: { readonly pid: number; readonly ns: number } | null;
  /** The call (GPU, IO or other) the thread was in when its longest blocked stretch began (null when none is recorded). */
  readonly blockedIn: { readonly id: number; readonly op: string } | null;
  /** The same launch as the host-side recording saw it (null when it has none near). */
  readonly hostLaunch: { readonly id: number; readonly ts: number } | null;
  /** Idle time of the gap this chain accounts for: the window's time in its cause. */
  readonly explainedNs: number;
}

export interface DeviceLateLaunches {
  readonly node: number;
  readonly device: number;
  readonly thresholdNs: number;
  readonly medianGapNs: number;
  readonly chains: readonly LateChain[];
  /** Long late gaps on the device, traced or not (more than chains when only the longest were kept), and their idle time. */
  readonly longGaps: number;
  readonly longGapNs: number;
}

/** Two sources on one clock agree to this: the thread may look off-CPU this close to its launch. */
const CLOCK_SLACK_NS = 50_000;
/** The host recording's own copy of the launch is looked for this close to the GPU side's. */
const LAUNCH_MATCH_NS = 1_000_000;
/** A call the thread was blocked in may have started this long before the gap. */
const CALL_LOOKBACK_NS = 1e9;
/** Chains cited as evidence per finding (the longest gaps). */
const CHAINS_CITED = 5;
const IDS_CITED = 10;

const cache = new WeakMap<AnalysisContext, DeviceLateLaunches[]>();

/** Every device's long late gaps with their chains (computed once per analysis). */
export function lateLaunches(ctx: AnalysisContext): DeviceLateLaunches[] {
  let out = cache.get(ctx);
  if (!out) cache.set(ctx, (out = build(ctx)));
  return out;
}

function build(ctx: AnalysisContext): DeviceLateLaunches[] {
  const sched = ctx.index.schedOp;
  // Without scheduler events anywhere there is no host side to chain to: nothing is claimed.
  if (sched === undefined || !ctx.index.groups.some((g) => g.op === sched)) return [];
  const host = new HostSide(ctx, sched);
  const out: DeviceLateLaunches[] = [];
  for (const d of gpuTimeline(ctx).devices) {
    const threshold = Math.max(ctx.th.lateLaunchMinGapNs, ctx.th.lateLaunchGapFactor * d.gapMedian);
    const gaps = d.lateGaps.filter((g) => g.to - g.from >= threshold && g.to > ctx.selection.from && g.from < ctx.selection.to);
    if (gaps.length === 0) continue;
    let longGaps = 0;
    let longGapNs = 0;
    // Gaps not kept can be counted only over the whole recording: lengths carry no times.
    if (Number.isFinite(ctx.selection.from) || Number.isFinite(ctx.selection.to)) (longGaps = gaps.length), (longGapNs = gaps.reduce((s, g) => s + g.to - g.from, 0));
    else for (const len of d.lateLengths) if (len >= threshold) (longGaps++, (longGapNs += len));
    out.push({ node: d.node, device: d.device, thresholdNs: threshold, medianGapNs: d.gapMedian, chains: gaps.map((g) => host.chain(d.node, d.device, g)), longGaps, longGapNs });
  }
  return out;
}

/** The host side of the bundle: which nodes record which threads' scheduling, and over when. */
class HostSide {
  /** Nodes with scheduler events → [first event start, last event end] of that node. */
  private readonly recorded = new Map<number, [number, number]>();
  private readonly threads = new Map<string, Set<number>>();
  private readonly gpuOps: ReadonlySet<number>;
  private readonly launchOps: ReadonlySet<number>;
  private readonly switchCache = new Map<string, { id: Float64Array; ts: Float64Array; dur: Float64Array; state: Float64Array; by: Float64Array }>();

  constructor(
    private readonly ctx: AnalysisContext,
    private readonly sched: number,
  ) {
    const ops = [...ctx.bundle.ops().values()];
    this.gpuOps = new Set(ops.filter((o) => GPU_LAYERS.has(o.layer)).map((o) => o.id));
    this.launchOps = new Set(ops.filter((o) => LAUNCH_OPS.has(o.name)).map((o) => o.id));
    const span = new Map<number, [number, number]>();
    for (const g of ctx.index.groups) {
      const s = span.get(g.node);
      if (!s) span.set(g.node, [g.minTs, g.maxEnd]);
      else (s[0] = Math.min(s[0], g.minTs)), (s[1] = Math.max(s[1], g.maxEnd));
      const k = `${g.pid}:${g.tid}`;
      if (!this.threads.has(k)) this.threads.set(k, new Set());
      this.threads.get(k)!.add(g.node);
    }
    for (const g of ctx.index.groups) if (g.op === sched) this.recorded.set(g.node, span.get(g.node)!);
  }

  chain(node: number, device: number, gap: LateGap): LateChain {
    const ctx = this.ctx;
    const none = (cause: LateCause, why: string, hostNode: number | null = null): LateChain => ({ gap, node, device, hostNode, cause, why, preemptedNs: 0, blockedNs: 0, unknownNs: 0, onCpuNs: 0, gpuCalls: 0, gpuCallIds: [], switches: [], hog: null, blockedIn: null, hostLaunch: null, explainedNs: 0 });
    const { pid, tid } = gap;
    const who = `thread ${tid} of ${ctx.label(node, pid)}`;
    if (gap.launchTs >= gap.to) return none('contradicted', `The launch is stamped ${dur(gap.launchTs - gap.to)} after its work began on the GPU: the GPU source's own clocks disagree, so no chain is drawn.`);
    const nodes = [...(this.threads.get(`${pid}:${tid}`) ?? [])].filter((n) => this.recorded.has(n));
    if (nodes.length === 0) {
      const sameProcess = [...this.recorded.keys()].some((n) => ctx.index.groups.some((g) => g.node === n && g.pid === pid && g.op === this.sched));
      return none('no-host-data', sameProcess ? `The host recording traces pid ${pid} but not its thread ${tid}, which made the launch: what it did in the gap is not recorded.` : `No host recording with scheduler events names pid ${pid} thread ${tid}, which made the launch: what it did in the gap is not recorded.`);
    }
    if (nodes.length > 1) return none('no-host-data', `Several nodes (${list(nodes.map((n) => ctx.nodeName(n)))}) record a thread ${tid} of pid ${pid}: which one launched cannot be told.`);
    const hostNode = nodes[0]!;
    const [recFrom, recTo] = this.recorded.get(hostNode)!;
    const from = gap.from;
    const to = gap.launchTs;
    if (recFrom > from || recTo < to) return none('no-host-data', `The host recording on ${ctx.nodeName(hostNode)} runs from ${dur(recFrom)} to ${dur(recTo)} and does not cover the gap's ${dur(from)} to the launch at ${dur(to)}.`, hostNode);
    if (ctx.sampled(hostNode, { op: 'sched_switch', source: 'host' }, from, to).length > 0) return none('no-host-data', `Scheduler events on ${ctx.nodeName(hostNode)} are only a sample during the gap: the thread's off-CPU time there is not complete.`, hostNode);
    if (ctx.existedIn(hostNode, pid, from, to) === 'no') return none('contradicted', `${ctx.label(hostNode, pid)} was not alive during the gap by its recorded fork and exit, yet the GPU source names it as launching: the pids of the two sources do not match.`, hostNode);
    // The thread's off-CPU stretches that overlap [gap start, launch).
    const sw = this.switchesOf(hostNode, tid);
    // On-CPU time is read from the absence of switches: a thread none of whose switches is stored
    // may simply not be traced by the scheduler probes.
    if (sw.ts.length === 0) return none('no-host-data', `The host recording on ${ctx.nodeName(hostNode)} has no scheduler events of ${who} at all: whether it ran during the gap cannot be told.`, hostNode);
    const switches: Switch[] = [];
    let clash: number | null = null;
    // A thread's stretches do not overlap, so only the one before the first starting at the gap can reach into it.
    for (let i = Math.max(0, lowerBound(sw.ts, from) - 1); i < sw.ts.length; i++) {
      const s = sw.ts[i]!;
      const e = s + sw.dur[i]!;
      if (s >= to) break;
      // Off the CPU across its own launch call: the sources' clocks disagree.
      if (s + CLOCK_SLACK_NS < to && e > to + CLOCK_SLACK_NS) clash = sw.id[i]!;
      if (e <= from) continue;
      switches.push({ id: sw.id[i]!, ts: s, dur: sw.dur[i]!, state: sw.state[i]!, by: sw.by[i]!, inWindow: Math.min(e, to) - Math.max(s, from) });
    }
    if (clash !== null) return none('contradicted', `The host recording has ${who} off-CPU (sched_switch #${clash}) at the moment the GPU source says it launched (${dur(to)}): the two clocks disagree, so no cause is drawn; give ingero merge the skew with --offset.`, hostNode);
    let preemptedNs = 0;
    let blockedNs = 0;
    let unknownNs = 0;
    const hogs = new Map<number, number>();
    for (const s of switches) {
      if (Number.isNaN(s.state)) unknownNs += s.inWindow;
      else if (s.state !== 0) blockedNs += s.inWindow;
      else {
        preemptedNs += s.inWindow;
        // Who ran is credited only where that process is known to have existed then.
        if (Number.isFinite(s.by) && s.by > 0 && s.by !== pid && ctx.existedIn(hostNode, s.by, s.ts, s.ts + s.dur) !== 'no') hogs.set(s.by, (hogs.get(s.by) ?? 0) + s.inWindow);
      }
    }
    const window = to - from;
    const onCpuNs = Math.max(0, window - preemptedNs - blockedNs - unknownNs);
    // GPU calls of the thread in the window, on either side, short of the launch itself and of
    // the host recording's own copy of it (the same call seen by the other source).
    const calls: { id: number; ts: number; hostCopy: boolean }[] = [];
    const mine = (g: EventGroup) => g.pid === pid && g.tid === tid && (g.node === hostNode || g.node === node) && this.gpuOps.has(g.op);
    ctx.rows(mine, (id, ts, _d, g) => {
      if (id !== gap.launchId && ts >= from) calls.push({ id, ts, hostCopy: g.node === hostNode && hostNode !== node && this.launchOps.has(g.op) && Math.abs(ts - to) <= LAUNCH_MATCH_NS });
    }, ctx.bundle.idAtTime(from), ctx.bundle.idAtTime(to + LAUNCH_MATCH_NS));
    const hostLaunch = calls.filter((c) => c.hostCopy).sort((a, b) => Math.abs(a.ts - to) - Math.abs(b.ts - to) || a.id - b.id)[0] ?? null;
    const others = calls.filter((c) => c !== hostLaunch && c.ts < to - CLOCK_SLACK_NS);
    const gpuCalls = others.length;
    const callIds = others.slice(0, IDS_CITED).map((c) => c.id);
    const blockedIn = this.callAround(hostNode, node, pid, tid, [...switches].filter((x) => x.state > 0).sort((a, b) => b.inWindow - a.inWindow)[0]);
    const hogTop = [...hogs].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
    const shares: [LateCause, number][] = [['preempted', preemptedNs], ['blocked', blockedNs], ['off-cpu', unknownNs], [gpuCalls > 0 ? 'gpu-calls' : 'host-bound', onCpuNs]];
    const [cause, explainedNs] = shares.sort((a, b) => b[1] - a[1])[0]!;
    return { gap, node, device, hostNode, cause, why: '', preemptedNs, blockedNs, unknownNs, onCpuNs, gpuCalls, gpuCallIds: callIds, switches, hog: hogTop ? { pid: hogTop[0], ns: hogTop[1] } : null, blockedIn, hostLaunch: hostLaunch && { id: hostLaunch.id, ts: hostLaunch.ts }, explainedNs };
  }

  /** The latest-starting call of the thread (any op but the switches) that was under way when a blocked stretch began. */
  private callAround(hostNode: number, node: number, pid: number, tid: number, s: Switch | undefined): { id: number; op: string } | null {
    if (!s) return null;
    let found: { id: number; op: number } | null = null;
    const ctx = this.ctx;
    ctx.rows((g) => g.pid === pid && g.tid === tid && (g.node === hostNode || g.node === node) && g.op !== this.sched, (id, ts, d, g) => {
      if (ts <= s.ts && ts + d > s.ts) found = { id, op: g.op };
    }, ctx.bundle.idAtTime(s.ts - CALL_LOOKBACK_NS), ctx.bundle.idAtTime(s.ts + 1));
    const f = found as { id: number; op: number } | null;
    return f ? { id: f.id, op: ctx.bundle.opName(f.op) } : null;
  }

  /** sched_switch rows of one thread over the node's recording (read once per thread). */
  private switchesOf(node: number, tid: number) {
    const k = `${node}:${tid}`;
    let s = this.switchCache.get(k);
    if (!s) {
      const [from, to] = this.recorded.get(node)!;
      const o = this.ctx.offCpu(node, [tid], from, to + 1);
      this.switchCache.set(k, (s = { id: o.id, ts: o.ts, dur: o.dur, state: o.state, by: o.by }));
    }
    return s;
  }
}


/** What the chain's first link says, in a few words. */
export function causeWords(ctx: AnalysisContext, c: LateChain): string {
  const hog = c.hog && c.hostNode !== null ? ctx.label(c.hostNode, c.hog.pid) : 'a task the trace does not name';
  switch (c.cause) {
    case 'preempted':
      return `preempted by ${hog} for ${dur(c.preemptedNs)}`;
    case 'blocked':
      return `blocked (asleep) for ${dur(c.blockedNs)}${c.blockedIn ? ` in ${c.blockedIn.op}` : ''}`;
    case 'off-cpu':
      return `off-CPU for ${dur(c.unknownNs)} (prev_state not recorded)`;
    case 'host-bound':
      return `on the CPU without GPU calls for ${dur(c.onCpuNs)}`;
    case 'gpu-calls':
      return `on the CPU making ${count(c.gpuCalls, 'other GPU call')} for ${dur(c.onCpuNs)}`;
    default:
      return 'not explained by host data';
  }
}

const RECOMMEND: Record<LateCause, string> = {
  preempted: 'Give the GPU-feeding thread a core of its own (taskset, cpuset, isolcpus) and move or lower the priority of what preempted it (nice, a cgroup cpu.weight).',
  blocked: 'Find what the thread slept on before the launch (a sync, IO, a lock, a queue) and take it off the launch path: prefetch data, async checkpointing, fewer synchronizations.',
  'off-cpu': 'Record again with prev_state in the scheduler events to tell preemption from sleeping.',
  'host-bound': 'Profile the thread on the CPU (py-spy, or record with on-CPU stack samples) and move that work off the launching thread; CUDA graphs or torch.compile cut per-launch host work.',
  'gpu-calls': 'The thread spent the gap issuing other GPU calls: batch or fuse them (CUDA graphs, torch.compile) so the next kernel is queued before the GPU runs dry.',
  'no-host-data': 'Record the host side (ingero record with scheduler events) over the same run and merge it with ingero merge, so the gaps can be traced to the launching thread.',
  contradicted: 'Check the clock alignment of the merged sources (ingero merge --offset) and record again if the skew is unknown.',
};

export function detectLateLaunch(ctx: AnalysisContext): Finding[] {
  const out: Finding[] = [];
  const names = lateLaunches(ctx).length ? kernelNames(ctx.bundle) : new Map<number, string>();
  for (const d of lateLaunches(ctx)) {
    const g = ctx.stats.gpus.find((x) => x.node_id === d.node && x.device === d.device);
    const idle = g?.idle_ns ?? 0;
    if (idle <= 0) continue;
    const byCause = new Map<LateCause, LateChain[]>();
    for (const c of d.chains) byCause.set(c.cause, [...(byCause.get(c.cause) ?? []), c]);
    const sum = (cs: readonly LateChain[], f: (c: LateChain) => number) => cs.reduce((s, c) => s + f(c), 0);
    const hostChains = d.chains.filter((c) => HOST_CAUSES.includes(c.cause));
    const explained = sum(hostChains, (c) => c.explainedNs);
    const main = HOST_CAUSES.map((c) => [c, byCause.get(c) ?? []] as const).filter(([, cs]) => cs.length).sort((a, b) => sum(b[1], (c) => c.explainedNs) - sum(a[1], (c) => c.explainedNs))[0];
    const gpu = `GPU ${d.device}${ctx.facts.nodes.size > 1 ? ` on ${ctx.nodeName(d.node)}` : ''}`;
    const gapNs = sum(d.chains, (c) => c.gap.to - c.gap.from);
    const share = explained / idle;
    const evidence: Evidence[] = [];
    const cited = [...d.chains].sort((a, b) => b.explainedNs - a.explainedNs || b.gap.to - b.gap.from - (a.gap.to - a.gap.from)).slice(0, CHAINS_CITED);
    for (const c of cited) evidence.push(...chainEvidence(ctx, d, c, names));
    const unexplained = d.chains.filter((c) => !HOST_CAUSES.includes(c.cause));
    if (unexplained.length > 0) {
      const hidden = unexplained.filter((c) => !cited.includes(c));
      evidence.push({ layer: 'GPU', kind: 'unexplained', op: '', detail: `${count(unexplained.length, 'long late gap')} (${dur(sum(unexplained, (c) => c.gap.to - c.gap.from))}) ${unexplained.length === 1 ? 'is' : 'are'} not explained by host data: ${[...new Set(unexplained.map((c) => c.why))].join(' ')}${hidden.length ? ` (${hidden.length} not itemised above)` : ''}`, values: { gaps: unexplained.length, idle_ns: sum(unexplained, (c) => c.gap.to - c.gap.from) }, from_ns: Math.min(...unexplained.map((c) => c.gap.from)), to_ns: Math.max(...unexplained.map((c) => c.gap.to)), node_id: d.node });
    }
    const first = main?.[1][0] ?? d.chains[0]!;
    const pid = first.gap.pid;
    const from = Math.min(...d.chains.map((c) => c.gap.from));
    const to = Math.max(...d.chains.map((c) => c.gap.to));
    const steady = `${count(d.chains.length, 'idle gap')} of at least ${dur(d.thresholdNs)} (${d.medianGapNs > 0 ? `${times(d.thresholdNs / d.medianGapNs)} the median gap of ${dur(d.medianGapNs)}` : 'the floor'}) ended by work launched after the GPU had run dry, ${dur(gapNs)} in all`;
    const untraced = d.longGaps - d.chains.length;
    const caveats = [
      ...(untraced > 0 ? [`Only the ${d.chains.length} longest of the ${d.longGaps} long late gaps (${dur(gapNs)} of ${dur(d.longGapNs)}) were traced to their launching thread: the share of idle time explained is a lower bound.`] : []),
      'Times of the GPU source and the host recording are compared on the merged bundle clock: their agreement rests on the clock offsets merge recorded (nodes.clock_offset_ns).',
    ];
    const hostLosses = new Set(hostChains.map((c) => c.hostNode!).filter((n) => n !== d.node));
    for (const n of hostLosses) {
      const lost = ctx.facts.dataQuality.losses.filter((l) => l.node_id === n && l.dropped > 0).reduce((s, l) => s + l.dropped, 0);
      if (lost > 0) caveats.push(`${count(lost, 'event')} ${lost === 1 ? 'was' : 'were'} dropped during capture on ${ctx.nodeName(n)}, the host side: an off-CPU stretch may be missing, so on-CPU time is an upper bound.`);
    }
    if (!main) {
      out.push(
        makeFinding(ctx, {
          kind: 'late-launch',
          severity: 'LOW',
          node_id: d.node,
          pid,
          op: `GPU ${d.device}`,
          from_ns: from,
          to_ns: to,
          summary: `${gpu} waited ${dur(gapNs)} in ${count(d.chains.length, 'long gap')} for work launched late, not explained by host data`,
          root_cause: `${cap(steady)}. What the launching thread did before those launches is not in the bundle: ${[...new Set(d.chains.map((c) => c.why))].join(' ')}`,
          evidence,
          recommendations: [RECOMMEND['no-host-data']],
          caveats,
          impact_ns: 0,
          confidence: 'low',
        }),
      );
      continue;
    }
    const [cause, chains] = main;
    const top = chains.sort((a, b) => b.explainedNs - a.explainedNs)[0]!;
    const alternatives: Alternative[] = [];
    for (const c of HOST_CAUSES) {
      if (c === cause || c === 'off-cpu') continue;
      const ns = c === 'preempted' ? sum(hostChains, (x) => x.preemptedNs) : c === 'blocked' ? sum(hostChains, (x) => x.blockedNs) : c === 'gpu-calls' ? sum(hostChains.filter((x) => x.gpuCalls > 0), (x) => x.onCpuNs) : sum(hostChains.filter((x) => x.gpuCalls === 0), (x) => x.onCpuNs);
      const window = sum(hostChains, (x) => x.gap.launchTs - x.gap.from);
      alternatives.push({ cause: c, verdict: ns === 0 ? 'rejected' : 'unsupported', detail: `The launching threads spent ${dur(ns)} of the ${dur(window)} before the late launches ${ALT_WORDS[c]}.` });
    }
    out.push(
      makeFinding(ctx, {
        kind: 'late-launch',
        severity: share >= 2 * ctx.th.lateLaunchShare ? 'HIGH' : share >= ctx.th.lateLaunchShare ? 'MEDIUM' : 'LOW',
        node_id: d.node,
        pid: top.gap.pid,
        op: `GPU ${d.device}`,
        from_ns: from,
        to_ns: to,
        summary: `${gpu} sat idle because thread ${top.gap.tid} of ${ctx.label(d.node, top.gap.pid)} launched late: ${causeWords(ctx, top)} before the launch${chains.length > 1 ? ` (the longest of ${chains.length} such gaps, ${dur(sum(chains, (c) => c.explainedNs))} in all)` : ''}; ${pct(share)} of the GPU's idle time`,
        root_cause: `${chainSentence(ctx, d, top, names)} ${cap(steady)}; the host side explains ${dur(explained)} of them (${pct(share)} of the ${dur(idle)} the GPU was idle).`,
        evidence,
        recommendations: [RECOMMEND[cause]],
        caveats,
        impact_ns: explained,
        confidence: (CONFIDENCE[cause] === 'high' && cause === 'preempted' && !top.hog ? 'medium' : CONFIDENCE[cause]) as Confidence,
        alternatives,
      }),
    );
  }
  return out;
}

const CONFIDENCE: Record<LateCause, Confidence> = { preempted: 'high', blocked: 'high', 'off-cpu': 'medium', 'host-bound': 'medium', 'gpu-calls': 'medium', 'no-host-data': 'low', contradicted: 'low' };

const ALT_WORDS: Partial<Record<LateCause, string>> = {
  preempted: 'runnable but off-CPU (preempted)',
  blocked: 'asleep (blocked)',
  'host-bound': 'on the CPU without GPU calls',
  'gpu-calls': 'on the CPU making other GPU calls',
};

/** The off-CPU stretches in the state the chain blames (none for on-CPU causes). */
function causeSwitches(c: LateChain): Switch[] {
  const keep = c.cause === 'preempted' ? (s: Switch) => s.state === 0 : c.cause === 'blocked' ? (s: Switch) => s.state > 0 : c.cause === 'off-cpu' ? (s: Switch) => Number.isNaN(s.state) : () => false;
  return c.switches.filter(keep);
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function launchName(ctx: AnalysisContext, c: LateChain): string {
  let op = '';
  ctx.rows((g) => g.node === c.node && g.pid === c.gap.pid && g.tid === c.gap.tid, (id, _ts, _d, g) => {
    if (id !== c.gap.launchId) return;
    op = ctx.bundle.opName(g.op);
    return true;
  }, c.gap.launchId, c.gap.launchId + 1);
  return op || 'launch call';
}

function workName(c: LateChain, names: ReadonlyMap<number, string>): string {
  return Number.isNaN(c.gap.kernel) ? 'the copy or set' : `kernel ${names.get(c.gap.kernel) ?? `#${c.gap.kernel}`}`;
}

/** The chain in one plain-English sentence: host cause → late launch → idle GPU. */
function chainSentence(ctx: AnalysisContext, d: DeviceLateLaunches, c: LateChain, names: ReadonlyMap<number, string>): string {
  const who = `Thread ${c.gap.tid} of ${ctx.label(c.hostNode ?? c.node, c.gap.pid)}`;
  const longest = causeSwitches(c).sort((a, b) => b.inWindow - a.inWindow)[0];
  const head =
    c.cause === 'preempted'
      ? `Host preemption → late launch → idle GPU: ${who} was runnable but off the CPU for ${dur(c.preemptedNs)} of the ${dur(c.gap.launchTs - c.gap.from)} between the GPU running dry and its launch${c.hog ? `, while ${ctx.label(c.hostNode!, c.hog.pid)} ran (${dur(c.hog.ns)})` : ''}${longest ? ` (sched_switch #${longest.id}, prev_state R, from ${dur(longest.ts)})` : ''}`
      : c.cause === 'blocked'
        ? `Host blocking → late launch → idle GPU: ${who} slept for ${dur(c.blockedNs)} of the ${dur(c.gap.launchTs - c.gap.from)} between the GPU running dry and its launch${longest ? ` (sched_switch #${longest.id}, prev_state ${longest.state === 2 ? 'D' : 'S'}, from ${dur(longest.ts)}${c.blockedIn ? `, inside ${c.blockedIn.op} #${c.blockedIn.id}` : ''})` : ''}`
        : c.cause === 'off-cpu'
          ? `Host off-CPU time → late launch → idle GPU: ${who} was off the CPU for ${dur(c.unknownNs)} before its launch (prev_state not recorded, so preemption and sleep cannot be told apart)`
          : c.cause === 'host-bound'
            ? `Host-bound thread → late launch → idle GPU: ${who} held the CPU for ${dur(c.onCpuNs)} of the ${dur(c.gap.launchTs - c.gap.from)} before its launch without making a GPU call`
            : `Host busy in other GPU calls → late launch → idle GPU: ${who} was on the CPU for ${dur(c.onCpuNs)} before its launch, making ${count(c.gpuCalls, 'other GPU call')}`;
  return `${head}, so it called ${launchName(ctx, c)} (#${c.gap.launchId}) only at ${dur(c.gap.launchTs)}, ${dur(c.gap.launchTs - c.gap.from)} after ${`GPU ${d.device}`} had finished its previous work at ${dur(c.gap.from)}; ${workName(c, names)} (#${c.gap.workId}) started at ${dur(c.gap.to)}, after an idle gap of ${dur(c.gap.to - c.gap.from)}${d.medianGapNs > 0 ? ` (${times((c.gap.to - c.gap.from) / d.medianGapNs)} the median gap)` : ''}.`;
}

function chainEvidence(ctx: AnalysisContext, d: DeviceLateLaunches, c: LateChain, names: ReadonlyMap<number, string>): Evidence[] {
  const gapNs = c.gap.to - c.gap.from;
  const window = c.gap.launchTs - c.gap.from;
  const out: Evidence[] = [
    {
      layer: 'GPU',
      kind: 'idle-gap',
      op: '',
      detail: `GPU ${d.device} idle ${dur(gapNs)} from ${dur(c.gap.from)}; ${workName(c, names)} (#${c.gap.workId}) ended the gap.`,
      values: { from_ns: c.gap.from, to_ns: c.gap.to, gap_ns: gapNs, median_gap_ns: d.medianGapNs },
      from_ns: c.gap.from,
      to_ns: c.gap.to,
      event_ids: [c.gap.workId],
      node_id: c.node,
    },
    {
      layer: 'CUDA',
      kind: 'late-launch',
      op: launchName(ctx, c),
      detail: `Launched (#${c.gap.launchId}) by thread ${c.gap.tid} at ${dur(c.gap.launchTs)}, ${dur(window)} after the GPU ran dry and ${dur(c.gap.to - c.gap.launchTs)} before the work started${c.hostLaunch ? `; the host recording saw the same call (#${c.hostLaunch.id}) ${dur(Math.abs(c.hostLaunch.ts - c.gap.launchTs))} ${c.hostLaunch.ts < c.gap.launchTs ? 'earlier' : 'later'}` : ''}.`,
      values: { launch_ns: c.gap.launchTs, after_idle_ns: window, before_start_ns: c.gap.to - c.gap.launchTs, ...(c.hostLaunch ? { host_launch_skew_ns: c.hostLaunch.ts - c.gap.launchTs } : {}) },
      from_ns: c.gap.launchTs,
      to_ns: c.gap.launchTs + c.gap.launchDur,
      event_ids: [c.gap.launchId, ...(c.hostLaunch ? [c.hostLaunch.id] : [])].sort((a, b) => a - b),
      node_id: c.node,
      pid: c.gap.pid,
    },
  ];
  if (!HOST_CAUSES.includes(c.cause)) {
    out.push({ layer: 'HOST', kind: c.cause, op: '', detail: c.why, values: { window_ns: window }, from_ns: c.gap.from, to_ns: c.gap.launchTs, ...(c.hostNode !== null ? { node_id: c.hostNode } : {}), pid: c.gap.pid });
    return out;
  }
  const ids = c.cause === 'gpu-calls' ? c.gpuCallIds : [...causeSwitches(c).map((s) => s.id), ...(c.cause === 'blocked' && c.blockedIn ? [c.blockedIn.id] : [])];
  out.push({
    layer: 'HOST',
    kind: c.cause,
    op: c.cause === 'gpu-calls' || c.cause === 'host-bound' ? '' : 'sched_switch',
    detail: `Before the launch, thread ${c.gap.tid} was ${causeWords(ctx, c)}: of the ${dur(window)} from the GPU running dry to the launch, ${dur(c.preemptedNs)} preempted, ${dur(c.blockedNs)} blocked, ${c.unknownNs > 0 ? `${dur(c.unknownNs)} off-CPU in an unrecorded state, ` : ''}${dur(c.onCpuNs)} on the CPU, with ${count(c.gpuCalls, 'other GPU call')}.`,
    values: { window_ns: window, preempted_ns: c.preemptedNs, blocked_ns: c.blockedNs, unknown_state_ns: c.unknownNs, on_cpu_ns: c.onCpuNs, gpu_calls: c.gpuCalls, explained_ns: c.explainedNs, share_of_gap: round4(gapNs > 0 ? c.explainedNs / gapNs : 0), ...(c.hog ? { preempted_by_pid: c.hog.pid, preempted_by_ns: c.hog.ns } : {}) },
    from_ns: c.gap.from,
    to_ns: c.gap.launchTs,
    event_ids: [...ids].sort((a, b) => a - b).slice(0, IDS_CITED),
    node_id: c.hostNode!,
    pid: c.gap.pid,
  });
  return out;
}

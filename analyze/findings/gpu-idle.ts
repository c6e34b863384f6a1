// GPU idle: a GPU executed nothing for a large share of the span between its first and last
// activity, and where that idle time went: between profiler steps, after host synchronizations,
// waiting for the host to launch the next work, or (work queued in time) other.
import type { AnalysisContext } from '../context.ts';
import type { Evidence, Finding } from '../types.ts';
import { count, dur, pct, round4 } from '../words.ts';
import { GAP_CAUSES, gpuTimeline, type GapCause } from './gpu-timeline.ts';
import { causeWords, lateLaunches } from './late-launch.ts';
import { makeFinding } from './make-finding.ts';

/** Busy under half the span is MEDIUM (issue 14); under this share it is still worth a LOW. */
const MEDIUM_BELOW_BUSY = 0.5;
const LOW_BELOW_BUSY = 0.8;

const CAUSE_WORDS: Record<GapCause, string> = {
  between_steps: 'between profiler steps (outside ProfilerStep ranges or across a step boundary)',
  sync: 'around host synchronizations (the host waited for the GPU to drain, so nothing was queued behind)',
  host: 'waiting on the host: the next work was launched only after the GPU had run dry',
  other: 'with work already queued that started late (stream or event dependencies, or work without a linked launch)',
};

const SHORT: Record<GapCause, string> = { between_steps: 'between steps', sync: 'around synchronizations', host: 'waiting on the host', other: 'with work queued but not started' };

const ADVICE: Record<GapCause, string> = {
  between_steps: 'Look at what runs between steps (data loading, logging, checkpointing, the optimizer on the CPU): DataLoader(num_workers>0, pin_memory=True, prefetch_factor), and move per-step host work off the critical path.',
  sync: 'Remove synchronizations from the step: .item(), .cpu(), printing tensors, torch.cuda.synchronize(); keep values on the GPU and read them every N steps.',
  host: 'The host cannot queue work fast enough: fuse small kernels (torch.compile), use CUDA graphs for launch-bound steps, or reduce Python overhead per step.',
  other: 'Check stream dependencies (wait_stream, events) and whether other processes share the GPU; a stream waiting on another serialises work.',
};

export function detectGpuIdle(ctx: AnalysisContext): Finding[] {
  const timeline = gpuTimeline(ctx);
  const late = lateLaunches(ctx);
  const out: Finding[] = [];
  for (const g of ctx.stats.gpus) {
    if (g.span_ns <= 0 || g.busy_share >= LOW_BELOW_BUSY) continue;
    const d = timeline.devices.find((x) => x.node === g.node_id && x.device === g.device);
    if (!d) continue;
    const idle = g.idle_ns;
    const ranked = [...GAP_CAUSES].sort((a, b) => d.gaps.ns[b] - d.gaps.ns[a]);
    const top = ranked[0]!;
    const gpu = `GPU ${g.device}${ctx.facts.nodes.size > 1 ? ` on ${g.node}` : ''}`;
    // A gap the late-launch finding traced to its launching thread is named by that chain, not
    // given a second cause here.
    const chains = late.find((x) => x.node === g.node_id && x.device === g.device)?.chains ?? [];
    const traced = (from: number, to: number) => chains.find((c) => c.gap.from === from && c.gap.to === to && c.explainedNs > 0);
    const evidence: Evidence[] = [
      {
        layer: 'GPU',
        kind: 'share',
        op: '',
        detail: `${gpu} was busy ${dur(g.busy_ns)} of the ${dur(g.span_ns)} from its first to its last activity (${pct(g.busy_share)}; kernels, copies and sets on ${count(g.streams.length, 'stream')}, overlaps counted once): idle ${dur(idle)}.`,
        values: { busy_ns: g.busy_ns, span_ns: g.span_ns, idle_ns: idle, busy_share: round4(g.busy_share) },
        from_ns: g.from_ns,
        to_ns: g.to_ns,
        node_id: g.node_id,
      },
      ...ranked
        .filter((c) => d.gaps.count[c] > 0)
        .map((c): Evidence => ({
          layer: c === 'host' || c === 'between_steps' ? 'FRAMEWORK' : c === 'sync' ? 'CUDA' : 'GPU',
          kind: `idle-${c.replace('_', '-')}`,
          op: '',
          detail: `${dur(d.gaps.ns[c])} (${pct(idle > 0 ? d.gaps.ns[c] / idle : 0)} of the idle time) in ${count(d.gaps.count[c], 'gap')} ${CAUSE_WORDS[c]}.`,
          values: { idle_ns: d.gaps.ns[c], gaps: d.gaps.count[c], share_of_idle: round4(idle > 0 ? d.gaps.ns[c] / idle : 0) },
          from_ns: g.from_ns,
          to_ns: g.to_ns,
          node_id: g.node_id,
        })),
      ...d.gaps.longest.map(([from, to, c]): Evidence => ({
        layer: 'GPU',
        kind: 'idle-gap',
        op: '',
        detail: `Idle gap of ${dur(to - from)} from ${dur(from)} (${SHORT[c]}${traced(from, to) ? `; late-launch: ${causeWords(ctx, traced(from, to)!)} before the launch` : ''}).`,
        values: { from_ns: from, to_ns: to, gap_ns: to - from },
        from_ns: from,
        to_ns: to,
        node_id: g.node_id,
      })),
    ];
    out.push(
      makeFinding(ctx, {
        kind: 'gpu-idle',
        severity: g.busy_share < MEDIUM_BELOW_BUSY ? 'MEDIUM' : 'LOW',
        node_id: g.node_id,
        pid: d.launchPid,
        op: `GPU ${g.device}`,
        from_ns: g.from_ns,
        to_ns: g.to_ns,
        summary: `${gpu} sat idle ${pct(1 - g.busy_share)} of its active span (${dur(idle)} of ${dur(g.span_ns)}), mostly ${SHORT[top]}`,
        root_cause: `The GPU had no work ${pct(1 - g.busy_share)} of the time; ${pct(idle > 0 ? d.gaps.ns[top] / idle : 0)} of that idle time was ${CAUSE_WORDS[top]}.`,
        evidence,
        recommendations: ranked.filter((c) => d.gaps.ns[c] > 0).slice(0, 2).map((c) => ADVICE[c]),
        caveats: ['Busy time is from the profiler\'s activity records: time a kernel ran at low occupancy counts as busy.', ...(timeline.steps.has(g.node_id) ? [] : ['The trace has no ProfilerStep ranges, so no idle time is attributed to step boundaries.'])],
        impact_ns: idle,
      }),
    );
  }
  return out;
}

// Kernel-time regressions between steps: a kernel whose mean duration in one ProfilerStep is far
// above its median over the steps (thermal throttling, a shape change, contention for the GPU,
// a different algorithm picked by cuDNN autotuning).
import type { AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { count, dur, round4, times } from '../words.ts';
import { gpuTimeline } from './gpu-timeline.ts';
import { makeFinding } from './make-finding.ts';

/** A step is a regression for a kernel when its mean is this many times the median step mean... */
const SLOWER_RATIO = 1.5;
/** ...and the extra time in that step is at least this long. */
const MIN_EXTRA_NS = 1_000_000;
/** Steps that ran the kernel, needed for a median worth comparing with. */
const MIN_STEPS = 3;
/** Kernels reported per GPU, worst first. */
const REPORTED = 3;

export function detectKernelRegression(ctx: AnalysisContext): Finding[] {
  const timeline = gpuTimeline(ctx);
  const out: Finding[] = [];
  for (const d of timeline.devices) {
    const steps = timeline.steps.get(d.node) ?? [];
    const found: { name: string; step: number; mean: number; median: number; extra: number; n: number; steps: number }[] = [];
    for (const [name, t] of d.stepKernels) {
      const means: [number, number][] = [];
      for (let i = 0; i < steps.length; i++) if (t.count[i]! > 0) means.push([t.total[i]! / t.count[i]!, i]);
      if (means.length < MIN_STEPS) continue;
      const sorted = means.map((m) => m[0]).sort((a, b) => a - b);
      const median = sorted[Math.ceil(0.5 * sorted.length) - 1]!;
      const [mean, step] = means.reduce((a, b) => (b[0] > a[0] ? b : a));
      const extra = (mean - median) * t.count[step]!;
      if (median > 0 && mean >= SLOWER_RATIO * median && extra >= MIN_EXTRA_NS) found.push({ name, step, mean, median, extra, n: t.count[step]!, steps: means.length });
    }
    found.sort((a, b) => b.extra - a.extra || (a.name < b.name ? -1 : 1));
    for (const f of found.slice(0, REPORTED)) {
      const [from, to, number] = steps[f.step]!;
      const stepNs = to - from;
      out.push(
        makeFinding(ctx, {
          kind: 'kernel-regression',
          severity: f.extra >= 0.1 * stepNs ? 'MEDIUM' : 'LOW',
          node_id: d.node,
          pid: d.launchPid,
          op: f.name,
          from_ns: from,
          to_ns: to,
          summary: `Kernel ${f.name.length > 60 ? `${f.name.slice(0, 59)}…` : f.name} ran ${times(f.mean / f.median)} slower in ProfilerStep#${number} than its median step (${dur(f.mean)} vs ${dur(f.median)} per launch, ${dur(f.extra)} extra)`,
          root_cause: `The same kernel took longer per launch in one step than in the other ${f.steps - 1} steps that ran it on GPU ${d.device}: the work per launch changed (input shapes), the GPU ran slower (clocks, thermal or power limits), or something else shared the GPU then.`,
          evidence: [
            {
              layer: 'GPU',
              kind: 'step-regression',
              op: f.name,
              detail: `${count(f.n, 'launch', 'launches')} in ProfilerStep#${number} averaged ${dur(f.mean)}; the median over ${count(f.steps, 'step')} is ${dur(f.median)} per launch.`,
              values: { step: number, launches: f.n, mean_ns: Math.round(f.mean), median_ns: Math.round(f.median), extra_ns: Math.round(f.extra), ratio: round4(f.mean / f.median), step_ns: stepNs },
              from_ns: from,
              to_ns: to,
              node_id: d.node,
            },
          ],
          recommendations: [
            'Compare input shapes of the step (record_shapes=True in torch.profiler): varying sequence lengths change kernel time; pad or bucket them.',
            'Check GPU clocks and throttling during the run (nvidia-smi -q -d PERFORMANCE,CLOCK) and whether another process used the GPU.',
            'With cudnn.benchmark=True the first steps autotune; profile after warm-up (schedule(wait=1, warmup=1, active=3)).',
          ],
          impact_ns: f.extra,
        }),
      );
    }
  }
  return out;
}

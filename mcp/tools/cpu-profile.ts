// cpu_profile: where the traced threads spent their CPU time, from the on-CPU samples of the
// recording (cpu_samples, schema 2; analyze/cpu-profile.ts): per thread its sample count, the CPU
// time they stand for, and its top frames by own (self) and inclusive (total) samples.
import { basename } from 'node:path';
import { z } from 'zod';
import { cpuProfile } from '../../analyze/cpu-profile.ts';
import { readFacts, procKey } from '../../analyze/bundle-facts.ts';
import { shortSymbol } from '../../analyze/symbol-name.ts';
import { bundleArg, leftOutNote, nodeArg, onePageFields, pageBudget, servedBundle, takePage, type ToolDef } from '../tool-kit.ts';

const input = {
  ...bundleArg,
  ...nodeArg,
  // Linux ids are 32-bit: tighter bounds than the default ±2^53 keep tools/list small.
  pid: z.number().int().min(0).max(4294967295).optional(),
  tid: z.number().int().min(0).max(4294967295).optional(),
  from_ns: z.number().int().min(0).optional(),
  to_ns: z.number().int().min(0).optional(),
  top: z.number().int().min(1).max(50).optional().describe('Frames per thread; default 5.'),
  limit: z.number().int().min(1).max(100).optional().describe('Threads; default 5.'),
  full_names: z.boolean().optional().describe('Unshortened names.'),
};

const output = {
  bundle: z.string(),
  available: z.boolean().describe('The bundle can hold on-CPU samples (schema 2); samples says whether it does.'),
  hz: z.number().nullable().describe('Sampling frequency (recorder.cpu_sample_hz).'),
  samples: z.number().describe('Samples in the selection, all threads.'),
  threads: z.array(
    z.object({
      node_id: z.number(),
      pid: z.number(),
      tid: z.number(),
      process: z.string().describe('Traced data.'),
      thread: z.string().describe('Traced data.'),
      samples: z.number(),
      cpu_ns: z.number().describe('Estimate: samples / hz (0 when hz is unknown).'),
      without_stack: z.number().describe('Samples with no user stack (in the kernel, or no frame pointers).'),
      top: z.array(z.object({ function: z.string().describe('Traced data.'), module: z.string().nullable(), self: z.number(), self_share: z.number(), total: z.number(), total_share: z.number() })),
    }),
  ),
  ...onePageFields,
};

export const cpuProfileTool: ToolDef<typeof input, typeof output> = {
  name: 'cpu_profile',
  title: 'On-CPU profile',
  description: 'Per traced thread, from on-CPU samples: estimated CPU time and top frames (self/total samples).',
  input,
  output,
  run(args, ctx) {
    const served = servedBundle(ctx, args);
    const opts = { node: args.node_id, pid: args.pid, tid: args.tid, fromNs: args.from_ns, toNs: args.to_ns, top: args.top ?? 5 };
    const whole = opts.node === undefined && opts.pid === undefined && opts.tid === undefined && opts.fromNs === undefined && opts.toNs === undefined;
    const profile = whole ? served.memo(`cpu_profile:${opts.top}`, () => cpuProfile(served.bundle, opts)) : cpuProfile(served.bundle, opts);
    const facts = served.memo('facts', () => readFacts(served.bundle));
    const name = (f: string) => (args.full_names ? f : shortSymbol(f));
    const threads = profile.threads.map((t) => ({
      node_id: t.node_id,
      pid: t.pid,
      tid: t.tid,
      process: facts.processes.get(procKey(t.node_id, t.pid))?.comm ?? '',
      thread: facts.threads.get(procKey(t.node_id, t.tid)) ?? '',
      samples: t.samples,
      cpu_ns: Math.round(t.cpu_ns),
      without_stack: t.withoutStack,
      top: t.top.map((f) => ({ function: name(f.function), module: f.module === null ? null : basename(f.module), self: f.self, self_share: f.selfShare, total: f.total, total_share: f.totalShare })),
    }));
    const page = takePage(threads, args.limit ?? 5, pageBudget(ctx, args.limit));
    const notes: string[] = [];
    if (profile.samples === 0 && (whole || !profile.available)) notes.push('No on-CPU samples in this bundle (schema 1, an import, or a recording made with sampling off). thread_activity still gives on/off-CPU time from the scheduler.');
    else if (profile.samples === 0) notes.push('No on-CPU samples in this selection; omit the filters to see the threads sampled.');
    else notes.push(`Counts are samples${profile.hz ? ` at ${profile.hz} Hz` : ' (frequency not recorded)'}: cpu_ns is an estimate, and a thread sampled a few times has noisy shares. self: the frame was the leaf; total: anywhere on the stack.`);
    const leftOut = leftOutNote(page, threads.length, 'threads', 'pass pid/tid or a larger limit');
    if (leftOut) notes.push(leftOut);
    return { bundle: served.name, available: profile.available, hz: profile.hz, samples: profile.samples, threads: page.items, truncated: page.more, notes };
  },
};

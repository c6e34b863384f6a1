// ingero record / check / recover: the eBPF recorder's commands. The recorder (koffi, libbpf) is
// loaded only when one of them runs, so analysis commands start fast on machines without libbpf.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { parseDurationMs } from '../duration.ts';
import { formatBytes, formatDuration } from '../../analyze/format-units.ts';
import { toJson } from '../json.ts';
import { action, EXIT_OK, EXIT_PROBLEMS, intOption, repeatable, UsageError, UserError } from '../run-action.ts';


export function register(program: Command): void {
  program
    .command('record')
    .description('Record CUDA Runtime/Driver calls and kernel events with eBPF into a sealed bundle (needs root)')
    .requiredOption('-o, --output <file>', 'bundle to write (.ingero)')
    .option('--force', 'overwrite the output bundle if it exists')
    .option('-p, --pid <pid>', 'trace this process (repeatable)', repeatable)
    .option('-d, --duration <time>', 'stop after this long (e.g. 60s, 5m); default: Ctrl-C, SIGTERM or the command\'s exit')
    .option('--stacks', 'capture and symbolize user stacks of CUDA calls, and where traced threads blocked (off-CPU)')
    .option('--cpu-sample-hz <n>', 'on-CPU samples of the traced threads per second, with symbolized user stacks (0: none)', '99')
    .option('--no-kernel', 'do not record kernel events (scheduler, process lifecycle, memory, block IO)')
    .option('--kernel-events <list>', 'comma-separated kernel events to record (default: all)')
    .option('--cuda-lib <path>', 'also probe this libcudart/libcuda file (repeatable)', repeatable)
    .option('--ring-mb <n>', 'ring buffer size per BPF object in MiB, a power of two', '64')
    .argument('[command...]', 'command to launch and trace with its children (after --)')
    .action(
      action(async (command: string[], opts: { output: string; force?: boolean; pid?: string[]; duration?: string; stacks?: boolean; cpuSampleHz: string; kernel: boolean; kernelEvents?: string; cudaLib?: string[]; ringMb: string }) => {
        // Before anything is loaded or traced: an earlier recording is not overwritten by accident.
        if (existsSync(opts.output) && statSync(opts.output).isDirectory()) throw new UserError(`${opts.output} is a directory — give a file name, e.g. ${opts.output.replace(/\/?$/, '/trace.ingero')}`);
        if (existsSync(opts.output) && !opts.force) throw new UserError(`${opts.output} exists — pass --force to overwrite it, or choose another -o`);
        const { record, formatStatusLine, ALL_KERNEL_EVENTS } = await import('../../recorder/index.ts');
        const pids = (opts.pid ?? []).map((p) => intOption('--pid', p, 0));
        const ringMb = intOption('--ring-mb', opts.ringMb, 64);
        if (ringMb === 0 || (ringMb & (ringMb - 1)) !== 0) throw new UsageError(`--ring-mb must be a power of two, got ${opts.ringMb}`);
        const kernelEvents = opts.kernelEvents?.split(',').map((s) => s.trim()).filter(Boolean);
        for (const k of kernelEvents ?? []) {
          if (!(ALL_KERNEL_EVENTS as readonly string[]).includes(k)) throw new UsageError(`unknown kernel event ${JSON.stringify(k)}; choose from ${ALL_KERNEL_EVENTS.join(', ')}`);
        }
        const live = process.stderr.isTTY;
        const result = await record({
          output: opts.output,
          pids,
          command: command.length ? command : undefined,
          durationMs: opts.duration ? parseDurationMs('--duration', opts.duration) : undefined,
          stacks: !!opts.stacks,
          cpuSampleHz: intOption('--cpu-sample-hz', opts.cpuSampleHz, 99),
          kernel: opts.kernel,
          kernelEvents: kernelEvents as typeof ALL_KERNEL_EVENTS[number][] | undefined,
          cudaLibs: opts.cudaLib,
          ringBytes: ringMb << 20,
          onReady: (r) => process.stderr.write(`ingero: recording ${r.pids.length ? `pid ${r.pids.join(', ')}` : 'all processes'} with ${r.probes} probes — Ctrl-C to stop and seal\n`),
          onStatus: live ? (s) => process.stderr.write(`\r\x1b[2K${formatStatusLine(s)}`) : undefined,
          // said as soon as the file is there; detaching the probes may take a while longer
          onSealed: (r) => {
            if (live) process.stderr.write('\r\x1b[2K');
            const dropped = r.dropped ? `, ${r.dropped.toLocaleString('en-US')} DROPPED (see capture_loss)` : ', no drops';
            process.stderr.write(`ingero: wrote ${r.path}: ${r.events.toLocaleString('en-US')} events over ${formatDuration(r.durationMs * 1e6)}${dropped}, ${formatBytes(r.bytes)} (stopped by ${r.stopReason})\n`);
          },
        });
        return typeof result.commandExitCode === 'number' ? result.commandExitCode : EXIT_OK;
      }),
    );

  program
    .command('check')
    .description('Check this machine for recording: kernel, BTF, privileges, libbpf, tracefs, CUDA libraries')
    .option('-p, --pid <pid>', 'also look for the CUDA libraries this process maps (repeatable)', repeatable)
    .option('--json', 'print the report as JSON')
    .action(
      action(async (opts: { pid?: string[]; json?: boolean }) => {
        const { runCheck, formatCheckReport } = await import('../../recorder/index.ts');
        const report = await runCheck({ pids: (opts.pid ?? []).map((p) => intOption('--pid', p, 0)) });
        process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatCheckReport(report).replace(/\n?$/, '\n'));
        return report.ok ? EXIT_OK : EXIT_PROBLEMS;
      }),
    );

  program
    .command('recover')
    .description('Seal the staging data an interrupted recording left behind (after SIGKILL, power loss or a full disk)')
    .argument('<staging>', 'the .staging file next to the intended bundle')
    .option('-o, --output <file>', 'bundle to write (default: the staging path without .staging)')
    .option('--json', 'print the summary as JSON on stdout')
    .action(
      action(async (staging: string, opts: { output?: string; json?: boolean }) => {
        const { recover } = await import('../../recorder/index.ts');
        const r = await recover(staging, opts.output);
        if (opts.json) process.stdout.write(toJson({ path: r.path, events: r.events, bytes: r.bytes, database_bytes: r.databaseBytes, sha256: r.manifest.database.sha256 }) + '\n');
        else process.stderr.write(`ingero: recovered ${r.path}: ${r.events.toLocaleString('en-US')} events, ${formatBytes(r.bytes)}\n`);
      }),
    );
}

// `ingero record`: load and attach the probes, follow the target processes, drain the rings
// into a staging bundle, and seal it when the duration ends, the command exits, or on
// Ctrl-C / SIGTERM. After SIGKILL the staging database survives for `ingero recover`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import koffi from 'koffi';
import { BundleWriter, stagingPathFor, type SealResult } from '../format/index.ts';
import { opId } from '../format/catalog.ts';
import { BpfObjects, CPU_SAMPLE_SLOT, EXIT_MAPPINGS_SLOT } from './bpf-objects.ts';
import {
  librariesInLoaderCache,
  librariesInProcess,
  librariesOfCommand,
  libraryFromOption,
  resolveExecutable,
  type FoundLibrary,
} from './cuda-libraries.ts';
import { RecorderError } from './errors.ts';
import { EventSink } from './event-sink.ts';
import { ALL_KERNEL_EVENTS, HOST_PROBES, TASK_NAME_SLOT, type KernelEvent } from './host-probes.ts';
import { hostInfo, libraryVersion, nvidiaDriverVersion } from './host-info.ts';
import { libbpfVersion } from './libbpf.ts';
import { bootToRealtimeOffsetNs, realtimeNs, waitForRunningProbes } from './libc.ts';
import { assertWritableOutputDir } from './output-dir.ts';
import { PRIVILEGE_FIX, privileges } from './privileges.ts';
import { listPids, readStat } from './proc.ts';
import { ProbePlanner, type PlannedProbe } from './probe-plan.ts';
import { ProcessTable } from './process-table.ts';
import { bootOrigin } from './ring-records.ts';
import { Symbolizer } from './symbolizer.ts';

const VERSION = '0.1.0';

export interface RecordOptions {
  /** Bundle to write (`-o`). */
  output: string;
  /** Processes to trace (`--pid`, repeatable). */
  pids?: readonly number[];
  /** A command to launch and trace with its children (`-- CMD ARGS`). */
  command?: readonly string[];
  /** Stop after this long (`--duration`); otherwise at Ctrl-C, SIGTERM or the command's exit. */
  durationMs?: number;
  /** Capture and symbolize user stacks of CUDA calls and of traced threads leaving the CPU (`--stacks`). */
  stacks?: boolean;
  /**
   * On-CPU samples of the traced threads per second (`--cpu-sample-hz`), with their user stacks
   * symbolized; 0 disables. Default 99 (off the beat of 100 Hz timers).
   */
  cpuSampleHz?: number;
  /** Record kernel events (`--no-kernel` sets false). */
  kernel?: boolean;
  /** Which kernel events, when kernel is on (`--kernel-events a,b`); all by default. */
  kernelEvents?: readonly KernelEvent[];
  /** Extra libcudart/libcuda files to probe (`--cuda-lib`, repeatable). */
  cudaLibs?: readonly string[];
  /** Ring buffer bytes per BPF object (`--ring-mb` × 2^20); a power of two. */
  ringBytes?: number;
  /**
   * 'per-function': one uprobe and one uretprobe link per function, as on kernels before 6.6,
   * instead of one uprobe_multi link per library and direction (the default where available).
   */
  uprobeLinks?: 'auto' | 'per-function';
  /** Live status, about once a second; `record` prints nothing itself. */
  onStatus?: (s: RecordStatus) => void;
  /**
   * Called once the bundle is sealed, before the probes are fully detached: detaching takes
   * ~0.1 s per probed function on kernels without uprobe_multi (before 6.6).
   */
  onSealed?: (result: RecordResult) => void;
  /** Called once probes are attached and targets are traced. */
  onReady?: (info: { pids: number[]; probes: number }) => void;
  /** Stops the recording when aborted (tests and embedding callers). */
  signal?: AbortSignal;
  /** Stop on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
}

export interface RecordStatus {
  elapsedMs: number;
  events: number;
  eventsPerSecond: number;
  dropped: number;
  /** Bytes of the staging database so far. */
  stagingBytes: number;
  probes: number;
  pids: number;
}

export interface RecordResult extends SealResult {
  dropped: number;
  durationMs: number;
  probes: number;
  pids: number[];
  /** Exit status of the launched command, when there was one and it exited. */
  commandExitCode?: number | null;
  /** targets-exited: every process traced by --pid (and the children followed) is gone. */
  stopReason: 'duration' | 'signal' | 'command-exit' | 'targets-exited' | 'aborted';
}

const DRAIN_INTERVAL_MS = 20;
const RESCAN_INTERVAL_MS = 500;
/** How often --pid recordings check whether any target is still alive. */
const TARGETS_CHECK_INTERVAL_MS = 100;
const SYSTEM_RESCAN_INTERVAL_MS = 2000;
const STATUS_INTERVAL_MS = 1000;
const DEFAULT_RING_BYTES = 64 << 20;
const WAKEUP_BYTES = 256 << 10;
const DEFAULT_CPU_SAMPLE_HZ = 99;

function preflight(o: RecordOptions): void {
  if (!privileges().sufficient) throw new RecorderError(PRIVILEGE_FIX);
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new RecorderError('this kernel exposes no BTF (/sys/kernel/btf/vmlinux): use a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)');
  }
  if (o.pids?.length && o.command?.length) throw new RecorderError('give either --pid or a command after --, not both');
  for (const pid of o.pids ?? []) {
    if (!readStat(pid)) throw new RecorderError(`no process ${pid}: check the pid (ps -p ${pid})`);
  }
  if (o.command?.length && !resolveExecutable(o.command[0])) throw new RecorderError(`command not found: ${o.command[0]}`);
  assertWritableOutputDir(o.output);
}

/** Launches the command stopped, so that it is traced before its first instruction. */
async function launchStopped(command: readonly string[]): Promise<ChildProcess> {
  // The shell stops itself; once traced it is continued and execs the command in place (same pid).
  const child = spawn('/bin/sh', ['-c', 'kill -STOP $$ && exec "$0" "$@"', ...command], { stdio: 'inherit' });
  const pid = child.pid;
  if (pid === undefined) throw new RecorderError(`cannot start ${command[0]}`);
  for (let i = 0; i < 5000; i++) {
    const st = readStat(pid);
    if (!st) break;
    if (st.state === 'T') return child;
    await new Promise((r) => setTimeout(r, 1));
  }
  child.kill('SIGKILL');
  throw new RecorderError(`${command[0]} did not start`);
}

function isDiskFull(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'SQLITE_FULL' || e?.code === 'ENOSPC' || /disk full|SQLITE_FULL|database or disk is full/i.test(e?.message ?? '');
}

function stagingSize(path: string): number {
  let n = 0;
  for (const s of ['', '-wal']) {
    try {
      n += statSync(path + s).size;
    } catch {
      // not there yet
    }
  }
  return n;
}

export async function record(o: RecordOptions): Promise<RecordResult> {
  preflight(o);
  const output = resolve(o.output);
  const kernelEvents = o.kernel === false ? [] : (o.kernelEvents ?? ALL_KERNEL_EVENTS);
  const systemWide = !o.pids?.length && !o.command?.length;
  const ringBytes = o.ringBytes ?? DEFAULT_RING_BYTES;
  const cpuSampleHz = o.cpuSampleHz ?? DEFAULT_CPU_SAMPLE_HZ;
  if (!Number.isInteger(cpuSampleHz) || cpuSampleHz < 0 || cpuSampleHz > 10_000) throw new RecorderError(`--cpu-sample-hz must be an integer from 0 to 10000, got ${cpuSampleHz}`);

  const bootOffset = bootToRealtimeOffsetNs();
  const originUnixNs = realtimeNs();
  const originBootNs = originUnixNs - bootOffset;
  const toBundleNs = (bootNs: bigint) => Number(bootNs - originBootNs);
  const host = hostInfo();
  // on-CPU samples are worth their stacks: symbolized whether or not CUDA calls carry stacks
  const symbolizing = (o.stacks ?? false) || cpuSampleHz > 0;

  const writer = BundleWriter.create(output, {
    originUnixNs,
    producer: { name: 'ingero', version: VERSION, command: 'record' },
    nodeName: host.hostname,
    host: { ...host },
  });
  let bpf: BpfObjects;
  try {
    bpf = BpfObjects.load({
      ringBytes,
      wakeupBytes: WAKEUP_BYTES,
      traceAll: systemWide,
      followChildren: true,
      kernelEvents,
      multiLinks: o.uprobeLinks !== 'per-function',
      offCpuStacks: o.stacks ?? false,
      cpuSampleHz,
      exitMappings: symbolizing,
    });
  } catch (e) {
    writer.abort();
    throw e;
  }

  const processes = new ProcessTable(toBundleNs, writer);
  const symbolizer = symbolizing ? new Symbolizer(writer, bpf.exitMappingsProblem === null) : undefined;
  const planner = new ProbePlanner(o.stacks ?? false);
  const attached: PlannedProbe[] = [];
  const attachFailures: string[] = [];
  const tracedPids = new Set<number>();

  const attachLibrary = (lib: FoundLibrary) => {
    let planned: PlannedProbe[];
    try {
      planned = planner.plan(lib);
    } catch (e) {
      attachFailures.push(`${lib.displayPath}: ${(e as Error).message}`);
      return;
    }
    const r = bpf.attachFunctions(
      lib.path,
      planned.map((p) => ({ symbol: p.probe.symbol, offset: p.offset, fileOffset: p.fileOffset, cookie: p.cookie })),
    );
    const ok = new Set(r.attached.map((f) => f.symbol));
    attached.push(...planned.filter((p) => ok.has(p.probe.symbol)));
    attachFailures.push(...r.failures);
  };
  const rescan = (pid: number) => librariesInProcess(pid).forEach(attachLibrary);

  const sink = new EventSink(writer, bootOrigin(originBootNs), processes, symbolizer, {
    onNewProcess: (pid) => {
      tracedPids.add(pid);
      rescan(pid);
    },
    onExec: rescan,
  });

  let child: ChildProcess | undefined;
  let commandExitCode: number | null | undefined;
  const timers: NodeJS.Timeout[] = [];
  const polls: { close(): void }[] = [];
  let stopReason: RecordResult['stopReason'] | undefined;
  let fatal: unknown;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((r) => (wake = r));
  const stop = (why: RecordResult['stopReason']) => {
    stopReason ??= why;
    wake();
  };
  const onSignal = () => stop('signal');
  let detaching: Promise<void> | undefined;
  /** What the staging database holds for certain: events received up to its last commit. */
  let committed = { events: 0, atMs: Date.now() };

  const drainAll = () => {
    if (fatal) return;
    try {
      bpf.cudaRing.drain(sink.accept);
      bpf.hostRing?.drain(sink.accept);
    } catch (e) {
      fatal = e;
      stop('aborted');
    }
  };

  try {
    for (const path of o.cudaLibs ?? []) attachLibrary(libraryFromOption(path));
    librariesInLoaderCache().forEach(attachLibrary);
    if (o.command?.length) librariesOfCommand(o.command[0]).forEach(attachLibrary);
    for (const pid of o.pids ?? []) {
      bpf.addTracedPid(pid);
      tracedPids.add(pid);
      processes.see(pid);
      symbolizer?.noteProcess(pid);
      rescan(pid);
    }
    if (systemWide) for (const pid of listPids()) rescan(pid);

    for (const ring of [bpf.cudaRing, bpf.hostRing]) {
      if (ring) polls.push(koffi.node.poll(ring.fd, { readable: true, writable: false, disconnect: false }, drainAll));
    }
    timers.push(setInterval(drainAll, DRAIN_INTERVAL_MS));
    timers.push(
      setInterval(() => {
        for (const pid of tracedPids) {
          rescan(pid);
          // the mappings as they are now, in case the process exits before its stacks are
          // drained (a short program on a loaded machine): symbolized against the last read
          symbolizer?.noteProcess(pid);
        }
      }, RESCAN_INTERVAL_MS),
    );
    if (systemWide) timers.push(setInterval(() => listPids().forEach(rescan), SYSTEM_RESCAN_INTERVAL_MS));
    if (o.pids?.length) {
      timers.push(
        setInterval(() => {
          if (![...tracedPids].some((pid) => processes.isRunning(pid))) stop('targets-exited');
        }, TARGETS_CHECK_INTERVAL_MS),
      );
    }

    if (o.command?.length) {
      child = await launchStopped(o.command);
      const pid = child.pid!;
      child.on('exit', (code, sig) => {
        commandExitCode = code ?? (sig ? 128 : null);
        stop('command-exit');
      });
      bpf.addTracedPid(pid);
      tracedPids.add(pid);
      processes.see(pid);
      process.kill(pid, 'SIGCONT');
    }

    if (o.handleSignals !== false) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    if (o.durationMs !== undefined) timers.push(setTimeout(() => stop('duration'), o.durationMs));
    if (o.signal) {
      if (o.signal.aborted) stop('aborted');
      o.signal.addEventListener('abort', () => stop('aborted'), { once: true });
    }

    const started = Date.now();
    let lastEvents = 0;
    let lastAt = started;
    const dropped = () => droppedSoFar(bpf, attached, kernelEvents);
    timers.push(
      setInterval(() => {
        try {
          writer.flush(); // bounds what a crash or a full disk can lose to about one second
          committed = { events: sink.events, atMs: Date.now() };
        } catch (e) {
          fatal = e;
          stop('aborted');
          return;
        }
        const now = Date.now();
        o.onStatus?.({
          elapsedMs: now - started,
          events: sink.events,
          eventsPerSecond: ((sink.events - lastEvents) * 1000) / Math.max(1, now - lastAt),
          dropped: dropped(),
          stagingBytes: stagingSize(writer.stagingPath),
          probes: attached.length,
          pids: tracedPids.size,
        });
        lastEvents = sink.events;
        lastAt = now;
      }, STATUS_INTERVAL_MS),
    );
    o.onReady?.({ pids: [...tracedPids], probes: attached.length });

    await stopped;
    const durationMs = Date.now() - started;

    // Probes stop writing at once; the links are destroyed while the bundle is sealed.
    bpf.stopProbes();
    for (const t of timers) clearInterval(t);
    for (const p of polls) p.close();
    await waitForRunningProbes();
    drainAll(); // everything the probes wrote before they stopped
    if (fatal) throw fatal;
    sink.finish();
    detaching = bpf.detach();

    writeCaptureLoss(writer, bpf, attached, kernelEvents, sink);
    if (cpuSampleHz > 0) {
      const c = bpf.counts('host', CPU_SAMPLE_SLOT);
      writer.addCaptureLoss({ probe: 'perf_event:cpu-clock', source_id: null, emitted: Number(c.emitted), dropped: Number(c.dropped), note: `on-CPU samples of traced threads at ${cpuSampleHz} Hz per CPU (table cpu_samples)${c.dropped > 0n ? '; ring buffer full: the reader fell behind' : ''}` });
    }
    writer.setMetadata('recorder.cpu_sample_hz', cpuSampleHz);
    if (symbolizing) {
      const c = bpf.counts('host', EXIT_MAPPINGS_SLOT);
      // what stacks of processes gone before their drain were symbolized against (or why nothing)
      writer.setMetadata('recorder.exit_mappings', bpf.exitMappingsProblem === null ? { records: Number(c.emitted - c.dropped), dropped: Number(c.dropped) } : { unavailable: bpf.exitMappingsProblem });
    }
    writeMetadata(writer, {
      o,
      kernelEvents,
      attached,
      attachFailures,
      bootOffset,
      systemWide,
      ringBytes,
      uprobeLinks: bpf.linkKind,
    });
    const totalDropped = dropped();
    const result: RecordResult = {
      ...(await writer.seal()),
      dropped: totalDropped,
      durationMs,
      probes: attached.length,
      pids: processes.pids(),
      commandExitCode,
      stopReason: stopReason ?? 'aborted',
    };
    o.onSealed?.(result);
    await detaching;
    bpf.close();
    return result;
  } catch (e) {
    for (const t of timers) clearInterval(t);
    for (const p of polls) p.close();
    await detaching?.catch(() => {});
    try {
      bpf.close();
    } catch {
      // already closed
    }
    if (isDiskFull(e)) {
      try {
        writer.flush();
        committed = { events: sink.events, atMs: Date.now() };
      } catch {
        // the disk is still full: what the last commit holds is what is kept
      }
      writer.close();
      const staging = stagingPathFor(output);
      const lost = sink.events - committed.events;
      throw new RecorderError(
        `disk full while recording: ${committed.events.toLocaleString('en-US')} events, as committed ${((Date.now() - committed.atMs) / 1000).toFixed(1)} s before the disk filled, are kept in ${staging}; ` +
          `the ${lost.toLocaleString('en-US')} received after that commit and any still in the kernel's ring buffers are lost; ` +
          `seal them onto a file system with space: ingero recover ${staging} -o DIR/${basename(output)}`,
      );
    }
    writer.abort();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (child && commandExitCode === undefined && stopReason !== 'duration') child.kill('SIGTERM');
  }
}

function droppedSoFar(bpf: BpfObjects, attached: readonly PlannedProbe[], kernelEvents: readonly KernelEvent[]): number {
  let n = 0n;
  for (const slot of new Set(attached.map((p) => p.slot))) n += bpf.counts('cuda', slot).dropped;
  n += bpf.counts('cuda', TASK_NAME_SLOT).dropped;
  for (const p of HOST_PROBES) if (kernelEvents.includes(p.event)) n += bpf.counts('host', p.slot).dropped;
  n += bpf.counts('host', CPU_SAMPLE_SLOT).dropped;
  n += bpf.counts('host', EXIT_MAPPINGS_SLOT).dropped;
  if (bpf.host) n += bpf.counts('host', TASK_NAME_SLOT).dropped;
  return Number(n);
}

/** Per-probe emitted/dropped counters, checked against what reached the bundle. */
function writeCaptureLoss(
  writer: BundleWriter,
  bpf: BpfObjects,
  attached: readonly PlannedProbe[],
  kernelEvents: readonly KernelEvent[],
  sink: EventSink,
): void {
  const bySlot = new Map<number, PlannedProbe[]>();
  for (const p of attached) bySlot.set(p.slot, [...(bySlot.get(p.slot) ?? []), p]);
  for (const [slot, probes] of bySlot) {
    const c = bpf.counts('cuda', slot);
    const op = probes[0].probe.op;
    const received = sink.eventsByOp.get(opId(op)) ?? 0;
    writer.addCaptureLoss({
      probe: `uprobe:${op}`,
      source_id: Math.floor(opId(op) / 256),
      emitted: Number(c.emitted),
      dropped: Number(c.dropped),
      note: lossNote(c.emitted, c.dropped, received, `${probes.length} file(s): ${[...new Set(probes.map((p) => p.library.displayPath))].join(', ')}`),
    });
  }
  for (const p of HOST_PROBES) {
    if (!kernelEvents.includes(p.event)) continue;
    const c = bpf.counts('host', p.slot);
    writer.addCaptureLoss({
      probe: `tp_btf:${p.tracepoints.join('+')}`,
      source_id: p.sourceId,
      emitted: Number(c.emitted),
      dropped: Number(c.dropped),
      note: c.dropped > 0n ? 'ring buffer full: the reader fell behind' : '',
    });
  }
}

function lossNote(emitted: bigint, dropped: bigint, received: number, where: string): string {
  const parts = [where];
  if (dropped > 0n) parts.push('ring buffer full: the reader fell behind');
  const missing = Number(emitted - dropped) - received;
  if (missing !== 0) parts.push(`${missing} written by the probe but not received (shared op counted across files or a reader fault)`);
  return parts.join('; ');
}

function writeMetadata(
  writer: BundleWriter,
  m: {
    o: RecordOptions;
    kernelEvents: readonly KernelEvent[];
    attached: readonly PlannedProbe[];
    attachFailures: readonly string[];
    bootOffset: bigint;
    systemWide: boolean;
    ringBytes: number;
    uprobeLinks: string;
  },
): void {
  const host = hostInfo();
  for (const [k, v] of Object.entries(host)) writer.setMetadata(`host.${k}`, v);
  const driver = nvidiaDriverVersion();
  if (driver) writer.setMetadata('gpu.driver_version', driver);
  const runtimes = [...new Set(m.attached.filter((p) => p.probe.library === 'runtime').map((p) => p.library.path))];
  const versions = runtimes.map(libraryVersion).filter((v): v is string => v !== undefined);
  if (versions.length) writer.setMetadata('cuda.runtime_version', versions.length === 1 ? versions[0] : versions);
  writer.setMetadata('clock.boot_to_realtime_offset_ns', m.bootOffset.toString());
  writer.setMetadata('clock.source', 'CLOCK_BOOTTIME (bpf_ktime_get_boot_ns)');
  writer.setMetadata('recorder.libbpf_version', libbpfVersion());
  writer.setMetadata('recorder.uprobe_links', m.uprobeLinks);
  writer.setMetadata('recorder.options', {
    pids: m.o.pids ?? [],
    command: m.o.command ?? [],
    duration_ms: m.o.durationMs ?? null,
    stacks: m.o.stacks ?? false,
    cpu_sample_hz: m.o.cpuSampleHz ?? DEFAULT_CPU_SAMPLE_HZ,
    kernel_events: m.kernelEvents,
    cuda_libs: m.o.cudaLibs ?? [],
    system_wide: m.systemWide,
    ring_bytes: m.ringBytes,
  });
  writer.setMetadata(
    'recorder.probes',
    [
      ...m.attached.map((p) => ({
        kind: 'uprobe+uretprobe',
        library: p.library.displayPath,
        build_id: p.buildId ?? null,
        found_via: p.library.via,
        symbol: p.probe.symbol,
        op: p.probe.op,
        offset: p.offset,
        prologue: p.prologue,
      })),
      ...HOST_PROBES.filter((p) => m.kernelEvents.includes(p.event)).map((p) => ({ kind: 'tp_btf', tracepoints: p.tracepoints, event: p.event })),
    ],
  );
  if (m.attachFailures.length) writer.setMetadata('recorder.attach_failures', m.attachFailures);
}

// `ingero check`: can this machine record, and what would be traced? Each problem comes with
// its fix. Loads the BPF objects for real (when privileged) so that the verifier has its say.
import { existsSync } from 'node:fs';
import os from 'node:os';
import { BpfObjects, CUDA_OBJECT, HOST_OBJECT } from './bpf-objects.ts';
import { librariesInLoaderCache, librariesInProcess, type FoundLibrary } from './cuda-libraries.ts';
import { ALL_KERNEL_EVENTS } from './host-probes.ts';
import { nvidiaDriverVersion } from './host-info.ts';
import { libbpfVersion } from './libbpf.ts';
import { PRIVILEGE_FIX, privileges } from './privileges.ts';
import { listPids, readMaps } from './proc.ts';
import { ElfFile } from './elf.ts';
import { ProbePlanner, type Prologue } from './probe-plan.ts';

export type CheckStatus = 'ok' | 'warning' | 'error' | 'info';

export interface CheckItem {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it, for warnings and errors. */
  fix?: string;
}

export interface TracedLibrary {
  path: string;
  library: 'runtime' | 'driver';
  via: string;
  /** Processes mapping it now. */
  pids: number[];
  probes: { symbol: string; op: string; offset: number; prologue: Prologue }[];
}

export interface CheckReport {
  /** No item is an error: `ingero record` can run. */
  ok: boolean;
  items: CheckItem[];
  libraries: TracedLibrary[];
  kernelEvents: readonly string[];
}

export interface CheckOptions {
  /** Only look for CUDA libraries in these processes (default: every process). */
  pids?: readonly number[];
}

function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export async function runCheck(o: CheckOptions = {}): Promise<CheckReport> {
  const items: CheckItem[] = [];
  const add = (name: string, status: CheckStatus, detail: string, fix?: string) => items.push({ name, status, detail, fix });

  const [major, minor] = kernelVersion();
  const kv = major * 1000 + minor;
  if (kv >= 5015) add('kernel', 'ok', `Linux ${os.release()}`);
  else add('kernel', 'error', `Linux ${os.release()} is too old: uprobe cookies need 5.15`, 'upgrade to a 5.15 or later kernel');

  const btf = existsSync('/sys/kernel/btf/vmlinux');
  add('btf', btf ? 'ok' : 'error', btf ? '/sys/kernel/btf/vmlinux present' : 'no kernel BTF', btf ? undefined : 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y');

  const priv = privileges();
  add('privileges', priv.sufficient ? 'ok' : 'error', priv.root ? 'running as root' : `capabilities: ${JSON.stringify(priv.capabilities)}`, priv.sufficient ? undefined : PRIVILEGE_FIX);

  let libbpfOk = false;
  try {
    add('libbpf', 'ok', `libbpf.so.1 ${libbpfVersion()}`);
    libbpfOk = true;
  } catch (e) {
    add('libbpf', 'error', (e as Error).message, 'install libbpf 1.x (Debian/Ubuntu: apt-get install libbpf1)');
  }

  const objects = existsSync(CUDA_OBJECT) && existsSync(HOST_OBJECT);
  add('bpf objects', objects ? 'ok' : 'error', objects ? 'bpf/cuda.bpf.o and bpf/host.bpf.o shipped' : 'compiled BPF objects missing', objects ? undefined : 'reinstall the package, or run npm run build:bpf (needs clang, bpftool)');

  const tracefs = existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
  add('tracefs', 'info', tracefs ? 'mounted' : 'not mounted: not needed, kernel events use BTF tracepoints');

  if (btf && priv.sufficient && libbpfOk && objects) {
    try {
      const bpf = BpfObjects.load({ ringBytes: 1 << 16, wakeupBytes: 1 << 12, traceAll: false, followChildren: true, kernelEvents: ALL_KERNEL_EVENTS, multiLinks: true, offCpuStacks: true, cpuSampleHz: 1, exitMappings: true });
      try {
        add('load', 'ok', 'BPF programs pass the verifier; kernel tracepoints and the on-CPU sampling perf events attach');
        if (bpf.exitMappingsProblem) add('exit mappings', 'info', bpf.exitMappingsProblem);
        const links = probeUprobeLinks(bpf);
        if (links === 'uprobe_multi') add('uprobe links', 'ok', 'uprobe_multi: one link per library, so stopping takes ~0.1 s');
        else add('uprobe links', 'info', `${links}: one link per probed function (no uprobe_multi before kernel 6.6), so stopping takes ~0.1 s per probed function`);
        await bpf.detach();
      } finally {
        bpf.close();
      }
    } catch (e) {
      add('load', 'error', (e as Error).message.split('\n')[0], 'report this with `ingero check` output and your kernel version');
    }
  }

  const driver = nvidiaDriverVersion();
  add('nvidia driver', driver ? 'ok' : 'info', driver ? `kernel module ${driver}` : 'no NVIDIA driver loaded (/proc/driver/nvidia/version): only CUDA API calls of a stand-in library could be traced');

  const libraries = findLibraries(o);
  if (libraries.length === 0) {
    add('cuda libraries', 'warning', 'no libcudart or libcuda found in the loader cache or in running processes', 'start the CUDA program first and check again, or pass --cuda-lib PATH to ingero record');
  } else {
    add('cuda libraries', 'ok', `${libraries.length} file(s): ${libraries.map((l) => l.path).join(', ')}`);
    const slow = libraries.flatMap((l) => l.probes.filter((p) => p.prologue === 'single-stepped').map((p) => p.symbol));
    if (slow.length) {
      add('probe cost', 'warning', `${slow.length} function(s) start with an instruction the kernel single-steps (~15 µs per call instead of ~1 µs): ${[...new Set(slow)].join(', ')}`, 'expected for some builds; calls to these functions cost more while recording');
    }
  }
  return { ok: items.every((i) => i.status !== 'error'), items, libraries, kernelEvents: ALL_KERNEL_EVENTS };
}

function findLibraries(o: CheckOptions): TracedLibrary[] {
  const found = new Map<string, { lib: FoundLibrary; pids: Set<number> }>();
  const note = (lib: FoundLibrary, pid?: number) => {
    const key = lib.displayPath;
    const entry = found.get(key) ?? { lib, pids: new Set<number>() };
    if (pid !== undefined) entry.pids.add(pid);
    found.set(key, entry);
  };
  librariesInLoaderCache().forEach((l) => note(l));
  for (const pid of o.pids ?? listPids()) librariesInProcess(pid).forEach((l) => note(l, pid));
  const planner = new ProbePlanner(false);
  const out: TracedLibrary[] = [];
  for (const { lib, pids } of found.values()) {
    let probes: TracedLibrary['probes'] = [];
    try {
      probes = planner.plan(lib).map((p) => ({ symbol: p.probe.symbol, op: p.probe.op, offset: p.offset, prologue: p.prologue }));
    } catch {
      continue; // unreadable, or gone
    }
    if (probes.length) out.push({ path: lib.displayPath, library: lib.library, via: lib.via, pids: [...pids], probes });
  }
  return out;
}

/** The report as lines for a terminal. */
export function formatCheckReport(r: CheckReport): string {
  const mark: Record<CheckStatus, string> = { ok: 'ok  ', warning: 'WARN', error: 'FAIL', info: '--  ' };
  const lines = r.items.map((i) => `${mark[i.status]} ${i.name}: ${i.detail}${i.fix ? `\n     fix: ${i.fix}` : ''}`);
  for (const l of r.libraries) {
    const counts = new Map<string, number>();
    for (const p of l.probes) counts.set(p.prologue, (counts.get(p.prologue) ?? 0) + 1);
    lines.push(`would trace ${l.path} (${l.library}, found via ${l.via}${l.pids.length ? `, mapped by pid ${l.pids.join(',')}` : ''}): ${l.probes.length} functions [${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}]`);
  }
  lines.push(`would trace kernel events: ${r.kernelEvents.join(', ')}`);
  lines.push(r.ok ? 'ready to record' : 'cannot record until the FAIL items are fixed');
  return lines.join('\n');
}

/**
 * Which kind of uprobe link the kernel accepts, tried on one libc function of this process (no
 * process is traced, so the probe records nothing while it is attached).
 */
function probeUprobeLinks(bpf: BpfObjects): string {
  const libc = readMaps(process.pid)?.find((m) => /\/libc\.so\.6$/.test(m.path));
  if (!libc) return 'unknown (no libc.so.6 mapped)';
  const elf = ElfFile.open(libc.path);
  const sym = elf.symbol('getpid');
  const fileOffset = sym && elf.offsetOfVaddr(sym.addr);
  if (fileOffset === undefined) return 'unknown (no getpid in libc)';
  const r = bpf.attachFunctions(libc.path, [{ symbol: 'getpid', offset: 0, fileOffset, cookie: 0n }]);
  return r.attached.length ? bpf.linkKind : `unknown (${r.failures[0]})`;
}

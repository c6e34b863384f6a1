// What the recording learns about each traced process: identity from /proc on first sight,
// lifecycle from the fork/exec/exit events. Each row is written to the staging database when
// the process is first seen and rewritten when it changes, so that a recording killed before
// it could seal (SIGKILL, full disk) still names its processes. Untraced processes that took a
// traced thread's CPU are kept too, as seen-not-traced rows (traced = 0), named from /proc
// while they live, so that a preemptor is still named once its pid is gone.
import type { ProcessInput } from '../format/index.ts';
import { CLOCK_TICKS_PER_SECOND, readCmdline, readComm, readStat } from './proc.ts';

/** Where rows go as they are learned (the BundleWriter). */
export interface ProcessRowSink {
  addProcess(p: ProcessInput): number;
  updateProcess(id: number, p: ProcessInput): void;
}

interface ProcessRecord {
  /** Row id in the staging database, once written. */
  rowId: number | null;
  pid: number;
  /** Start time in /proc/PID/stat ticks, to tell the process from a later one reusing its pid. */
  startTicks: number | null;
  ppid: number | null;
  start_ns: number | null;
  end_ns: number | null;
  exit_code: number | null;
  comm: string;
  cmdline: string;
  /** 1: traced; 0: seen only as the process that took a traced thread's CPU. */
  traced: 0 | 1;
}

export class ProcessTable {
  private readonly procs = new Map<number, ProcessRecord>();
  /** Earlier incarnations of reused pids: each exited before a later process took its pid. */
  private readonly retired: ProcessRecord[] = [];
  /** Seen-not-traced processes by pid; one becomes traced if it is seen as traced later. */
  private readonly neighbours = new Map<number, ProcessRecord>();

  /**
   * @param bootNsToBundleNs converts a CLOCK_BOOTTIME instant to the bundle clock.
   */
  constructor(
    private readonly bootNsToBundleNs: (bootNs: bigint) => number,
    private readonly sink?: ProcessRowSink,
  ) {}

  has(pid: number): boolean {
    return this.procs.has(pid);
  }

  pids(): number[] {
    return [...this.procs.keys()];
  }

  /** Records a process seen for the first time, reading what /proc still knows of it. */
  see(pid: number, fallback: Partial<ProcessRecord> = {}): void {
    const known = this.procs.get(pid);
    if (known) {
      // Only an exited process whose pid /proc now shows with another start time was replaced
      // (pid reuse); anything else is the process already recorded.
      if (known.end_ns === null || known.startTicks === null) return;
      const now = readStat(pid)?.startTicks;
      if (now === undefined || now === known.startTicks) return;
      this.retire(pid);
    }
    const neighbour = this.neighbours.get(pid);
    if (neighbour && neighbour.startTicks !== null && neighbour.startTicks === readStat(pid)?.startTicks) {
      this.neighbours.delete(pid);
      neighbour.traced = 1;
      Object.assign(neighbour, fallback);
      this.procs.set(pid, neighbour);
      this.persist(neighbour);
      return;
    }
    this.procs.set(pid, this.fromProc(pid, 1, fallback));
  }

  /**
   * An untraced process took a traced thread's CPU: kept with what /proc says of it now (read
   * once: it may be gone soon), or the name of its thread that ran when /proc no longer knows it.
   */
  seeNeighbour(pid: number, threadComm: string | undefined): void {
    if (pid === 0 || this.procs.has(pid) || this.neighbours.has(pid)) return;
    this.neighbours.set(pid, this.fromProc(pid, 0, readStat(pid) ? {} : { comm: threadComm ?? '' }));
  }

  private fromProc(pid: number, traced: 0 | 1, fallback: Partial<ProcessRecord>): ProcessRecord {
    const stat = readStat(pid);
    const startBootNs = stat ? (BigInt(stat.startTicks) * 1_000_000_000n) / BigInt(CLOCK_TICKS_PER_SECOND) : undefined;
    const record: ProcessRecord = {
      rowId: null,
      pid,
      startTicks: stat?.startTicks ?? null,
      ppid: stat?.ppid ?? null,
      start_ns: startBootNs !== undefined ? this.bootNsToBundleNs(startBootNs) : null,
      end_ns: null,
      exit_code: null,
      comm: readComm(pid) ?? '',
      cmdline: readCmdline(pid) ?? '',
      traced,
      ...fallback,
    };
    this.persist(record);
    return record;
  }

  forked(parent: number, child: number, tsNs: number): void {
    // A pid is forked only once it is free: a record that exited before this fork is an earlier
    // process. One that has not exited is this child, seen first through its own events (the
    // ring buffers of two CPUs can deliver them before the parent's fork).
    const known = this.procs.get(child);
    if (known && known.end_ns !== null && known.end_ns <= tsNs) this.retire(child);
    this.see(child, { ppid: parent, start_ns: tsNs });
    const c = this.procs.get(child)!;
    c.ppid = parent;
    c.start_ns = tsNs;
    this.persist(c);
  }

  execed(pid: number): void {
    const p = this.procs.get(pid);
    if (!p) return this.see(pid);
    p.comm = readComm(pid) ?? p.comm;
    p.cmdline = readCmdline(pid) ?? p.cmdline;
    this.persist(p);
  }

  named(pid: number, comm: string): void {
    const p = this.procs.get(pid);
    if (p && !p.comm) {
      p.comm = comm;
      this.persist(p);
    }
  }

  exited(pid: number, tsNs: number, exitCode: number): void {
    const p = this.procs.get(pid);
    if (!p) return;
    p.end_ns = tsNs;
    p.exit_code = exitCode;
    this.persist(p);
  }

  /** Whether the process is still running: not exited, not a zombie, its pid not reused. */
  isRunning(pid: number): boolean {
    const p = this.procs.get(pid);
    if (!p || p.end_ns !== null) return false;
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && stat.startTicks === p.startTicks;
  }

  rows(): ProcessInput[] {
    return [...this.retired, ...this.procs.values(), ...this.neighbours.values()].map(rowOf);
  }

  private persist(p: ProcessRecord): void {
    if (!this.sink) return;
    if (p.rowId === null) p.rowId = this.sink.addProcess(rowOf(p));
    else this.sink.updateProcess(p.rowId, rowOf(p));
  }

  private retire(pid: number): void {
    this.retired.push(this.procs.get(pid)!);
    this.procs.delete(pid);
  }
}

function rowOf({ startTicks: _, rowId: __, ...row }: ProcessRecord): ProcessInput {
  return row;
}

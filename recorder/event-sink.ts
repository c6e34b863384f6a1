// Turns decoded ring records into bundle rows: events (with symbolized stacks), thread names,
// and the process lifecycle the fork/exec/exit events describe.
import { opId, type BundleWriter } from '../format/index.ts';
import { decodeEvent, exitMappingOf, OP_CPU_SAMPLE, OP_MAPPING, OP_TASK_NAME, taskNameOf, type BootOrigin } from './ring-records.ts';
import type { ProcessTable } from './process-table.ts';
import type { Symbolizer } from './symbolizer.ts';

const OP_FORK = opId('process_fork');
const OP_EXEC = opId('process_exec');
const OP_EXIT = opId('process_exit');
const OP_SCHED_SWITCH = opId('sched_switch');
/** Ops whose row is another process acting on a traced one (the waker, the OOM killer's context). */
const ROW_IS_OTHER_PROCESS = new Set([opId('sched_wakeup'), opId('oom_kill')]);

export interface SinkHooks {
  /** A traced process appeared (fork child, or first event of a process in system-wide mode). */
  onNewProcess(pid: number): void;
  onExec(pid: number): void;
}

export class EventSink {
  events = 0;
  cpuSamples = 0;
  readonly eventsByOp = new Map<number, number>();
  private readonly namedThreads = new Set<string>();
  /** The last name each thread was given, for processes known only by a thread that ran. */
  private readonly threadComm = new Map<number, string>();
  /** Rows whose stacks wait for their exited process's mappings (Symbolizer.stackIdIfReady), by pid. */
  private readonly waiting = new Map<number, { frames: readonly bigint[]; write: (stackId: number) => void }[]>();

  constructor(
    private readonly writer: BundleWriter,
    private readonly origin: BootOrigin,
    private readonly processes: ProcessTable,
    private readonly symbolizer: Symbolizer | undefined,
    private readonly hooks: SinkHooks,
  ) {}

  /** A RecordSink for RingBufferReader.drain. */
  readonly accept = (view: DataView, at: number, length: number): void => {
    const e = decodeEvent(view, at, length, this.origin);
    if (e.op === OP_TASK_NAME) {
      this.nameThread(e.pid, e.tid, e.tsNs, taskNameOf(view, at));
      return;
    }
    if (e.op === OP_MAPPING) {
      if (this.symbolizer?.addExitMapping(e.pid, exitMappingOf(e, view, at, length))) this.release(e.pid);
      return;
    }
    if (e.op === OP_CPU_SAMPLE) {
      this.withStack(e.pid, e.frames, (stackId) => this.writer.addCpuSample({ ts_ns: e.tsNs, pid: e.pid, tid: e.tid, cpu: Number(e.args[0]), stack_id: stackId }));
      this.cpuSamples++;
      return;
    }
    if (!this.processes.has(e.pid) && !ROW_IS_OTHER_PROCESS.has(e.op)) {
      this.processes.see(e.pid);
      this.symbolizer?.noteProcess(e.pid);
      this.hooks.onNewProcess(e.pid);
    }
    if (e.op === OP_FORK) {
      const child = Number(e.args[0]);
      this.processes.forked(e.pid, child, e.tsNs);
      this.symbolizer?.noteProcess(child);
      this.hooks.onNewProcess(child);
    } else if (e.op === OP_EXEC) {
      this.processes.execed(e.pid);
      this.symbolizer?.execed(e.pid);
      this.hooks.onExec(e.pid);
    } else if (e.op === OP_EXIT && e.tid === e.pid) {
      this.processes.exited(e.pid, e.tsNs, Number(e.args[0]));
    } else if (e.op === OP_SCHED_SWITCH) {
      // who took the CPU: named now, while /proc still knows it (its own name record came first)
      const nextTid = Number(e.args[0]);
      this.processes.seeNeighbour(Number(e.args[1]), this.threadComm.get(nextTid));
    }
    this.withStack(e.pid, e.frames, (stackId) =>
      this.writer.appendEvent({
        ts_ns: e.tsNs,
        dur_ns: e.durNs,
        pid: e.pid,
        tid: e.tid,
        op_id: e.op,
        arg0: e.args[0],
        arg1: e.args[1],
        arg2: e.args[2],
        arg3: e.args[3],
        ret: e.ret,
        stack_id: stackId,
      }),
    );
    this.events++;
    this.eventsByOp.set(e.op, (this.eventsByOp.get(e.op) ?? 0) + 1);
  };

  /** Writes a row with its stack symbolized now, or once the process's exit-time mappings arrive. */
  private withStack(pid: number, frames: readonly bigint[], write: (stackId: number | null) => void): void {
    const s = this.symbolizer;
    if (!frames.length || !s) return write(null);
    const id = s.stackIdIfReady(pid, frames);
    if (id !== undefined) return write(id);
    const list = this.waiting.get(pid) ?? [];
    this.waiting.set(pid, list);
    list.push({ frames, write });
  }

  /** Writes the rows that waited on a process's mappings, symbolized with what is known now. */
  private release(pid: number): void {
    for (const { frames, write } of this.waiting.get(pid) ?? []) write(this.symbolizer!.stackId(pid, frames));
    this.waiting.delete(pid);
  }

  /** After the last drain: rows still waiting (their process's mappings were lost) are written as they resolve. */
  finish(): void {
    for (const pid of [...this.waiting.keys()]) this.release(pid);
  }

  private nameThread(pid: number, tid: number, tsNs: number, comm: string): void {
    const key = `${tid}\0${comm}`;
    if (this.namedThreads.has(key)) return;
    this.namedThreads.add(key);
    this.threadComm.set(tid, comm);
    this.writer.addThread({ tid, pid, first_ns: tsNs, comm });
    if (tid === pid) this.processes.named(pid, comm);
  }
}

// Runs the analyzer, and the views' slow queries over the whole bundle (an op's timeline),
// without freezing the UI. Small bundles are computed in this process, one step per turn of the
// event loop (the first frame and key presses get through in between); big ones in a child
// process, so that keys are answered at once even while a pass over millions of events is under
// way, and quitting kills the child. The child runs at a lower priority: with both on the same
// cores, a key press must not wait behind it.
import { setPriority } from 'node:os';
import { resolve } from 'node:path';
import { forkTs } from '../format/fork-ts.ts';
import { computeStats, explain, type ExplainReport, type StatsReport, type Timeline } from '../analyze/index.ts';
import type { WorkReply, WorkRequest } from './analysis-worker.ts';
import type { TraceContext } from './trace-context.ts';

export interface Analysis {
  readonly stats: StatsReport;
  readonly report: ExplainReport;
}

/** Work under way; cancel() stops it (a cancelled job's promise never settles). */
export interface Job<T> {
  readonly done: Promise<T>;
  cancel(): void;
}

/** Bundles with at least this many events are computed on in a child process (about 1 s of work). */
export const CHILD_PROCESS_MIN_EVENTS = 300_000;

function inChildProcess(trace: TraceContext, childProcessMinEvents: number): boolean {
  return trace.statedEventCount() >= childProcessMinEvents;
}

export function startAnalysis(trace: TraceContext, childProcessMinEvents = CHILD_PROCESS_MIN_EVENTS): Job<Analysis> {
  if (inChildProcess(trace, childProcessMinEvents)) return inChild({ kind: 'analysis', path: resolve(trace.bundle.path) });
  return inProcess(function* () {
    const stats = computeStats(trace.bundle);
    yield;
    return { stats, report: explain(trace.bundle, { stats }) };
  });
}

/** One op's timeline in `windows` windows over the whole bundle (TraceContext.timelineOf). */
export function startTimeline(trace: TraceContext, opId: number, windows: number, childProcessMinEvents = CHILD_PROCESS_MIN_EVENTS): Job<Timeline> {
  if (inChildProcess(trace, childProcessMinEvents)) return inChild({ kind: 'timeline', path: resolve(trace.bundle.path), opId, windows });
  return inProcess(function* () {
    return trace.timelineOf(opId, windows);
  });
}

/** Runs `steps` here, from the next turn of the event loop on; each `yield` gives the loop a turn. */
function inProcess<T>(steps: () => Generator<void, T>): Job<T> {
  let timer: NodeJS.Immediate | undefined;
  const done = new Promise<T>((resolvePromise, reject) => {
    const run = steps();
    const step = () => {
      try {
        const next = run.next();
        if (next.done) resolvePromise(next.value);
        else timer = setImmediate(step);
      } catch (err) {
        reject(err);
      }
    };
    timer = setImmediate(step);
  });
  return { done, cancel: () => timer && clearImmediate(timer) };
}

/** The child's nice value: on a busy machine the keys of the UI come first. */
const CHILD_NICENESS = 10;

function inChild<T>(req: WorkRequest): Job<T> {
  const child = forkTs(new URL('./analysis-worker.ts', import.meta.url), { stderr: 'ignore', args: [req.kind] });
  try {
    if (child.pid !== undefined) setPriority(child.pid, CHILD_NICENESS);
  } catch {
    // A system that refuses leaves the child at the UI's priority: slower keys, same results.
  }
  const done = new Promise<T>((resolvePromise, reject) => {
    child.once('message', (reply: WorkReply) => (reply.ok ? resolvePromise(reply.value as T) : reject(new Error(reply.error))));
    child.once('exit', (code, signal) => reject(new Error(`the ${req.kind} process ended early (${signal ?? `exit code ${code}`})`)));
    child.once('error', reject);
  });
  child.send(req);
  return { done, cancel: () => child.exitCode === null && child.kill('SIGKILL') };
}

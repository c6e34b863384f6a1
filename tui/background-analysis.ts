// Runs the analyzer without freezing the UI. Small bundles are analysed in this process, one
// step per turn of the event loop (the first frame and key presses get through in between);
// big ones in a child process, so that q works at once even while a pass over millions of
// events is under way, and quitting kills the child. The child runs at a lower priority: with
// both on the same cores, a key press must not wait behind the analysis.
import { setPriority } from 'node:os';
import { resolve } from 'node:path';
import { forkTs } from '../format/fork-ts.ts';
import { computeStats, explain, type ExplainReport, type StatsReport } from '../analyze/index.ts';
import type { AnalysisRequest } from './analysis-worker.ts';
import type { TraceContext } from './trace-context.ts';

export interface Analysis {
  readonly stats: StatsReport;
  readonly report: ExplainReport;
}

export interface AnalysisJob {
  readonly done: Promise<Analysis>;
  cancel(): void;
}

/** Bundles with at least this many events are analysed in a child process (about 1 s of work). */
export const CHILD_PROCESS_MIN_EVENTS = 300_000;

export function startAnalysis(trace: TraceContext, childProcessMinEvents = CHILD_PROCESS_MIN_EVENTS): AnalysisJob {
  return trace.statedEventCount() >= childProcessMinEvents ? inChild(trace) : inProcess(trace);
}

function inProcess(trace: TraceContext): AnalysisJob {
  let timer: NodeJS.Immediate | undefined;
  const done = new Promise<Analysis>((resolvePromise, reject) => {
    timer = setImmediate(() => {
      try {
        const stats = computeStats(trace.bundle);
        timer = setImmediate(() => {
          try {
            resolvePromise({ stats, report: explain(trace.bundle, { stats }) });
          } catch (err) {
            reject(err);
          }
        });
      } catch (err) {
        reject(err);
      }
    });
  });
  return { done, cancel: () => timer && clearImmediate(timer) };
}

/** The analysis child's nice value: on a busy machine the keys of the UI come first. */
const CHILD_NICENESS = 10;

function inChild(trace: TraceContext): AnalysisJob {
  const child = forkTs(new URL('./analysis-worker.ts', import.meta.url), { stderr: 'ignore' });
  try {
    if (child.pid !== undefined) setPriority(child.pid, CHILD_NICENESS);
  } catch {
    // A system that refuses leaves the analysis at the UI's priority: slower keys, same results.
  }
  const done = new Promise<Analysis>((resolvePromise, reject) => {
    child.once('message', (reply: ({ ok: true } & Analysis) | { ok: false; error: string }) => (reply.ok ? resolvePromise({ stats: reply.stats, report: reply.report }) : reject(new Error(reply.error))));
    child.once('exit', (code, signal) => reject(new Error(`the analysis process ended early (${signal ?? `exit code ${code}`})`)));
    child.once('error', reject);
  });
  const req: AnalysisRequest = { path: resolve(trace.bundle.path) };
  child.send(req);
  return { done, cancel: () => child.exitCode === null && child.kill('SIGKILL') };
}

// Child process: opens the bundle the parent already verified and cached, computes what it is
// asked (the analyzer's stats and findings, or one op's timeline), sends the result over IPC and
// exits. Started by background-analysis.ts, with the request's kind as its argument so that ps
// says what each child computes.
import { computeStats, explain } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';
import { TraceContext } from './trace-context.ts';

export type WorkRequest =
  | { readonly kind: 'analysis'; readonly path: string }
  | { readonly kind: 'timeline'; readonly path: string; readonly opId: number; readonly windows: number };

export type WorkReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

function compute(req: WorkRequest): unknown {
  const bundle = openBundle(req.path);
  if (req.kind === 'timeline') return new TraceContext(bundle).timelineOf(req.opId, req.windows);
  const stats = computeStats(bundle);
  return { stats, report: explain(bundle, { stats }) };
}

if (process.send) {
  process.once('message', (req: WorkRequest) => {
    let reply: WorkReply;
    try {
      reply = { ok: true, value: compute(req) };
    } catch (err) {
      reply = { ok: false, error: String((err as Error)?.message ?? err) };
    }
    process.send!(reply, () => process.exit(reply.ok ? 0 : 1));
  });
  process.on('disconnect', () => process.exit(0));
}

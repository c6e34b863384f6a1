// Child process: opens the bundle the parent already verified and cached, runs the analyzer
// (stats, then findings), sends both over IPC and exits. Started by background-analysis.ts.
import { computeStats, explain } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';

export interface AnalysisRequest {
  readonly path: string;
}

if (process.send) {
  process.once('message', (req: AnalysisRequest) => {
    try {
      const bundle = openBundle(req.path);
      const stats = computeStats(bundle);
      process.send!({ ok: true, stats, report: explain(bundle, { stats }) }, () => process.exit(0));
    } catch (err) {
      process.send!({ ok: false, error: String((err as Error)?.message ?? err) }, () => process.exit(1));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

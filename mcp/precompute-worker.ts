// Child process: opens one bundle (already verified and cached by the parent), computes its
// Summary (precompute.ts) and sends it over IPC in two messages, the statistics part as soon as
// it is ready (the statistics tools answer from it) and then the whole summary, and exits.
import { EventIndex } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';
import { precomputeFindings, precomputeStats } from './precompute.ts';

export interface PrecomputeRequest {
  readonly path: string;
  readonly cacheDir?: string;
}

if (process.send) {
  const fail = (err: unknown) => process.send!({ ok: false, error: String((err as Error)?.message ?? err) }, () => process.exit(1));
  process.once('message', (req: PrecomputeRequest) => {
    try {
      const bundle = openBundle(req.path, { cacheDir: req.cacheDir });
      const index = new EventIndex(bundle, { stackUses: true });
      const part = precomputeStats(bundle, index);
      // The findings start once the part is written out: computed first, they would hold it in
      // this process's write queue (a part is larger than a pipe's buffer) until they are done.
      process.send!({ ok: true, part }, () => {
        try {
          process.send!({ ok: true, summary: precomputeFindings(bundle, part, index) }, () => process.exit(0));
        } catch (err) {
          fail(err);
        }
      });
    } catch (err) {
      fail(err);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

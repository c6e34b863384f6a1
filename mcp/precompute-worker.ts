// Child process: opens one bundle (already verified and cached by the parent), computes its
// Summary (precompute.ts), sends it over IPC and exits.
import { openBundle } from '../format/index.ts';
import { precompute } from './precompute.ts';

export interface PrecomputeRequest {
  readonly path: string;
  readonly cacheDir?: string;
}

if (process.send) {
  process.once('message', (req: PrecomputeRequest) => {
    try {
      const bundle = openBundle(req.path, { cacheDir: req.cacheDir });
      process.send!({ ok: true, summary: precompute(bundle) }, () => process.exit(0));
    } catch (err) {
      process.send!({ ok: false, error: String((err as Error)?.message ?? err) }, () => process.exit(1));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

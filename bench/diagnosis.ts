// bench/diagnosis: how often explain names the right root cause, on the labelled demo corpus
// (bench/diagnosis-corpus.ts): every scenario × seeds × time scales, with intensity, onset and
// noise varied per seed, clean and degraded like an import, two-cause scenarios included.
// Prints runs, top-1 clean and degraded, false HIGH on healthy runs, how often a two-cause run
// shows its second cause, event ids cited twice and the confusion matrix; exits 1 below the
// floor (≥ 200 runs, clean ≥ 95 %, degraded ≥ 85 %, no false HIGH, no event cited twice).
//
//   npx tsx bench/diagnosis.ts [--seeds N] [--scales 1,0.8] [--scenario NAME ...] [--verbose]
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { confusionText, runCorpus } from './diagnosis-corpus.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const seeds = Array.from({ length: Number(arg('--seeds') ?? 8) }, (_, i) => i + 1);
const scales = (arg('--scales') ?? '1,0.8').split(',').map(Number);
const scenarios = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--scenario' ? [a] : []));
const verbose = process.argv.includes('--verbose');
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(join(outDir, 'diagnosis-'));
process.env.INGERO_CACHE_DIR ??= join(dir, 'cache');

const t0 = performance.now();
try {
  const r = await runCorpus({
    seeds,
    scales,
    scenarios: scenarios.length ? scenarios : undefined,
    dir,
    onRun: (run) => {
      if (verbose || !run.correct || run.otherShown === false) process.stderr.write(`${run.correct ? (run.otherShown === false ? 'ONE ' : 'ok  ') : 'MISS'} ${run.scenario} seed ${run.seed} scale ${run.scale} ${run.degraded ? 'degraded' : 'clean'}: ${run.got}\n`);
    },
  });
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`runs: ${r.runs.length}`);
  console.log(`top-1 clean: ${pct(r.cleanTop1)}`);
  console.log(`top-1 degraded: ${pct(r.degradedTop1)}`);
  console.log(`false HIGH on healthy: ${r.falseHighOnHealthy}`);
  console.log(`two causes: the other one shown in ${pct(r.otherCauseShown)} of the runs that named one`);
  console.log(`event ids cited by two findings: ${r.sharedEvents}`);
  console.log(`confusion (expected: diagnosed as):\n${confusionText(r.confusion)}`);
  console.log(`wall: ${((performance.now() - t0) / 1000).toFixed(0)} s (seeds 1..${seeds.length}, scales ${scales.join(', ')})`);
  const floor = r.runs.length >= 200 && r.cleanTop1 >= 0.95 && r.degradedTop1 >= 0.85 && r.falseHighOnHealthy === 0 && r.sharedEvents === 0;
  console.log(floor ? 'floor: met' : 'floor: NOT met (≥ 200 runs, clean ≥ 95 %, degraded ≥ 85 %, zero false HIGH, no event cited twice)');
  process.exitCode = floor ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

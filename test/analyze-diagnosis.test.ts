// A small version of bench/diagnosis.ts's floor: every demo scenario once (its seed's intensity,
// onset and noise), clean and degraded like an Ingero import, must get its known root cause
// (one of the two, in a two-cause scenario) as explain's top finding often enough, a healthy
// run must never get a HIGH finding, and no event may be cited by two findings. The bench
// runs the full corpus (≥ 200 runs).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { confusionText, runCorpus } from '../bench/diagnosis-corpus.ts';
import { SCENARIOS } from '../analyze/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-diagnosis-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

test('diagnosis corpus (one seed): clean top-1 ≥ 90 %, degraded top-1 ≥ 75 %, no false HIGH on healthy runs', async () => {
  const r = await runCorpus({ seeds: [1], scales: [1], dir: work });
  const why = `\n${confusionText(r.confusion)}`;
  assert.equal(r.runs.length, SCENARIOS.length * 2);
  assert.ok(r.cleanTop1 >= 0.9, `clean top-1 ${r.cleanTop1}${why}`);
  assert.ok(r.degradedTop1 >= 0.75, `degraded top-1 ${r.degradedTop1}${why}`);
  assert.equal(r.falseHighOnHealthy, 0, why);
  assert.equal(r.sharedEvents, 0, 'an event cited by two findings');
  assert.ok(r.runs.some((run) => run.otherShown !== null), 'two-cause scenarios are in the corpus');
});

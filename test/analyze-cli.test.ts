// ingero demo / explain / stats driven as a user would: deterministic JSON with the documented
// fields, plain text when piped, one clear line and a non-zero exit for bad input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from './cli-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-analyze-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'incident.ingero');

const ingero = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: work, cacheDir: join(work, 'cache'), env });

before(() => {
  const r = ingero(['demo', 'cpu-contention', '-o', bundle, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /root cause: cpu-contention/);
});

test('explain --json is byte-identical across runs and with a fresh cache, with the documented fields', () => {
  const a = ingero(['explain', bundle, '--json']);
  const b = ingero(['explain', bundle, '--json'], { INGERO_CACHE_DIR: join(work, 'other-cache') });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const report = JSON.parse(a.stdout);
  assert.ok(report.findings.length >= 1);
  const top = report.findings[0];
  assert.equal(top.kind, 'cpu-contention');
  for (const f of report.findings) {
    for (const k of ['severity', 'kind', 'op', 'summary', 'root_cause', 'evidence', 'recommendations', 'count', 'p50_ns', 'p99_ns', 'confidence', 'alternatives']) assert.ok(k in f, `finding has ${k}`);
    for (const e of f.evidence) assert.ok(typeof e.op === 'string' && typeof e.kind === 'string' && typeof e.values === 'object');
  }
  assert.ok(!/analy[sz]ed_at|generated_at/.test(a.stdout), 'no timestamp of the analysis run');
});

test('explain prints a plain report when piped and colours only on request of a terminal', () => {
  const r = ingero(['explain', bundle]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^INCIDENT REPORT/);
  assert.match(r.stdout, /\[HIGH\] cpu-contention/);
  assert.match(r.stdout, /Root cause \((high|medium|low) confidence\): /);
  assert.match(r.stdout, /Fix:/);
  assert.ok(!r.stdout.includes('\u001b['), 'no ANSI codes when piped');
});

test('explain --threshold overrides a threshold; bad ones are usage errors', () => {
  const quiet = JSON.parse(ingero(['explain', bundle, '--json', '--threshold', 'contentionShare=0.99', '--threshold', 'highContentionShare=0.99']).stdout);
  assert.ok(!quiet.findings.some((f: { kind: string }) => f.kind === 'cpu-contention'));
  assert.equal(quiet.thresholds.contentionShare, 0.99);
  const bad = ingero(['explain', bundle, '--threshold', 'nope=1']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^ingero: unknown threshold "nope"/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});

test('stats --json lists ops with the documented fields', () => {
  const r = ingero(['stats', bundle, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  const launch = s.ops.find((o: { op: string }) => o.op === 'cudaLaunchKernel');
  for (const k of ['op', 'source', 'count', 'total_ns', 'p50_ns', 'p95_ns', 'p99_ns', 'max_ns']) assert.ok(k in launch, `op has ${k}`);
  assert.equal(launch.source, 'cuda');
  assert.equal(r.stdout, ingero(['stats', bundle, '--json']).stdout);
  const text = ingero(['stats', bundle, '--by-process']);
  assert.match(text.stdout, /pigz|python3/);
});

test('bad input: one line naming the problem, non-zero exit, nothing written', () => {
  const missing = ingero(['explain', join(work, 'nope.ingero')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const junk = join(work, 'junk.ingero');
  writeFileSync(junk, 'not a bundle at all, just text');
  for (const cmd of ['explain', 'stats']) {
    const r = ingero([cmd, junk]);
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /^ingero: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const unknown = ingero(['demo', 'no-such-scenario', '-o', join(work, 'x.ingero')]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown scenario/);
  assert.equal(existsSync(join(work, 'x.ingero')), false);
  const clash = ingero(['demo', 'healthy', '-o', bundle]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, /already exists/);
  assert.equal(ingero(['demo', '--list']).code, 0);
});

test('explain and stats take --from/--to/--pid on the bundle clock: findings and numbers stay inside the selection', () => {
  // The demo's contention runs from a third of the 30 s run to 73 % of it.
  const whole = JSON.parse(ingero(['explain', bundle, '--json']).stdout);
  const before = JSON.parse(ingero(['explain', bundle, '--json', '--to', '8s']).stdout);
  assert.ok(whole.findings.some((f: { kind: string }) => f.kind === 'cpu-contention'));
  assert.ok(!before.findings.some((f: { kind: string }) => f.kind === 'cpu-contention'), 'no contention before it starts');
  for (const f of before.findings) assert.ok(f.from_ns < 8e9, `${f.kind} starts inside the window`);
  assert.ok(before.limitations.some((l: string) => /Only events from the start to 8\.00 s \(bundle clock\)/.test(l)), before.limitations.join('\n'));
  const other = JSON.parse(ingero(['explain', bundle, '--json', '--pid', '31337']).stdout);
  assert.ok(other.findings.every((f: { pid: number }) => f.pid === 31337));
  const stats = JSON.parse(ingero(['stats', bundle, '--json', '--from', '10s', '--to', '12s']).stdout);
  assert.ok(stats.from_ns >= 10e9 - 1e8 && stats.to_ns <= 12e9 + 1e9, `${stats.from_ns} → ${stats.to_ns}`);
  const all = JSON.parse(ingero(['stats', bundle, '--json']).stdout);
  assert.ok(stats.events > 0 && stats.events < all.events / 5);
  const bad = ingero(['explain', bundle, '--from', '10s', '--to', '5s']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--to must be later than --from/);
});

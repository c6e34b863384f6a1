// ingero tui in a real terminal: the CLI runs inside a detached tmux session (its own server
// socket), started in a temporary directory outside the checkout, keys go in with send-keys, the
// screen comes back with capture-pane. Also the command's refusals outside a terminal and its
// one-line errors on bad bundles.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { explain, scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { formatDuration } from '../analyze/format-units.ts';
import { openBundle } from '../format/index.ts';
import { CHILD_PROCESS_MIN_EVENTS } from '../tui/background-analysis.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { CLI, OUTSIDE_CHECKOUT } from './cli-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-term-'));
const cache = join(work, 'cache');
const socket = `ingero-tui-test-${process.pid}`;
const bundle = join(work, 'sync-stall.ingero');

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const NO_TMUX = 'tmux is not installed (scripts/setup.sh installs it in CI): the real-terminal test of ingero tui did not run';
if (!hasTmux) process.stderr.write(`SKIPPED: ${NO_TMUX}\n`);

before(async () => {
  await writeDemoBundle(bundle, scenarioByName('sync-stall')!, { seed: 1 });
});

after(() => {
  if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(work, { recursive: true, force: true });
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function sessionAlive(name: string): boolean {
  return spawnSync('tmux', ['-L', socket, 'has-session', '-t', name]).status === 0;
}

async function screenUntil(name: string, ok: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let screen = '';
  while (Date.now() < end) {
    screen = sessionAlive(name) ? tmux('capture-pane', '-p', '-t', name) : '(the session has ended)';
    if (ok(screen)) return screen;
    await delay(100);
  }
  assert.fail(`timed out waiting for ${what}; the terminal shows:\n${screen}`);
}

async function keys(name: string, ...k: string[]): Promise<void> {
  tmux('send-keys', '-t', name, ...k);
  await delay(150);
}

/** Runs the CLI with a pipe for stdout (not a terminal). */
function runPiped(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: OUTSIDE_CHECKOUT, env: { ...process.env, INGERO_CACHE_DIR: cache } });
}

test('in a 120×40 terminal: findings, navigation, resize, and q quits with status 0', { skip: hasTmux ? false : NO_TMUX }, async () => {
  const name = 'tui';
  const status = join(work, 'status');
  const command = `INGERO_CACHE_DIR='${cache}' '${process.execPath}' '${CLI}' tui '${bundle}'; echo $? > '${status}'`;
  // Started outside the checkout, as an installed ingero is: the .tsx files must still compile
  // with the repository's JSX settings.
  tmux('new-session', '-d', '-s', name, '-c', OUTSIDE_CHECKOUT, '-x', '120', '-y', '40', command);
  const first = await screenUntil(name, (s) => s.includes('findings:'), 'the findings list');
  assert.match(first, / 1\. HIGH\s+sync-stall/, 'the top finding of the sync-stall demo');
  const lines = first.split('\n');
  assert.ok(lines[0]!.includes('1 Findings') && lines.some((l) => l.includes('q quit')), 'tab bar on top, key help at the bottom');

  await keys(name, 'Enter');
  await screenUntil(name, (s) => s.includes('Root cause') && s.includes('Evidence'), 'the finding detail');
  await keys(name, '2');
  await screenUntil(name, (s) => s.includes('Per op, sorted by total'), 'the Ops view');
  await keys(name, 's');
  await screenUntil(name, (s) => s.includes('sorted by count'), 'Ops sorted by count');
  await keys(name, 'Tab');
  await screenUntil(name, (s) => /: calls per second per/.test(s), 'the Timeline after Tab');
  await keys(name, '4');
  const events = await screenUntil(name, (s) => /Events of .*: ids \d+/.test(s), 'the Events view');
  const firstId = /: ids (\d+)/.exec(events)![1];
  await keys(name, 'PageDown');
  await screenUntil(name, (s) => /: ids (\d+)/.exec(s)?.[1] !== firstId, 'the next page of events');
  await keys(name, '?');
  await screenUntil(name, (s) => s.includes('Keys everywhere'), 'the help screen');
  await keys(name, 'Escape');
  await screenUntil(name, (s) => !s.includes('Keys everywhere'), 'help closed');

  tmux('resize-window', '-t', name, '-x', '80', '-y', '20');
  await keys(name, '2');
  const small = await screenUntil(name, (s) => s.includes('sorted by count') && s.split('\n')[0]!.length <= 80, 'the Ops view laid out for 80×20');
  for (const l of small.split('\n')) assert.ok(l.length <= 80, `a line fits 80 columns: ${JSON.stringify(l)}`);
  assert.ok(small.split('\n').filter((l) => l.trim()).length <= 20);

  await keys(name, 'q');
  const end = Date.now() + 10_000;
  while (sessionAlive(name) && Date.now() < end) await delay(100);
  assert.equal(sessionAlive(name), false, 'q ended the program (and with it the tmux session)');
  assert.equal(readFileSync(status, 'utf8').trim(), '0', 'exit status 0');
});

/** Starts ingero tui (on the bundle unless args say otherwise) in a fresh tmux session of the given size, from the temp directory. */
function startTui(name: string, columns: number, rows: number, env = '', args = `'${bundle}'`): string {
  const status = join(work, `${name}.status`);
  const command = `${env} INGERO_CACHE_DIR='${cache}' '${process.execPath}' '${CLI}' tui ${args}; echo $? > '${status}'`;
  // When the previous test's session ended, its server may still be exiting: start again then.
  for (let attempt = 0; ; attempt++) {
    try {
      tmux('new-session', '-d', '-s', name, '-c', OUTSIDE_CHECKOUT, '-x', String(columns), '-y', String(rows), command);
      return status;
    } catch (err) {
      if (attempt >= 5) throw err;
      spawnSync('sleep', ['0.3']);
    }
  }
}

async function quits(name: string, status: string): Promise<void> {
  await keys(name, 'q');
  const end = Date.now() + 10_000;
  while (sessionAlive(name) && Date.now() < end) await delay(100);
  assert.equal(sessionAlive(name), false, 'q ended the program');
  assert.equal(readFileSync(status, 'utf8').trim(), '0', 'exit status 0');
}

/** The id of the event in the detail pane (the selected one). */
function selectedEvent(screen: string): number | null {
  const m = /^Event (\d+): /m.exec(screen);
  return m ? Number(m[1]) : null;
}

test('in an 80×24 terminal: fast repeated keys, a filter, a jump to an evidence event, a query, q', { skip: hasTmux ? false : NO_TMUX }, async () => {
  const b = openBundle(bundle);
  const report = explain(b);
  const ids = [...b.events({ limit: 40 })].map((e) => e.id);
  const evidenceId = report.findings.flatMap((f) => f.evidence.flatMap((e) => e.event_ids ?? []))[0]!;
  const evidenceOp = b.opName([...b.events({ afterId: evidenceId - 1, limit: 1 })][0]!.op_id);
  const sql = 'SELECT count(*) AS n FROM events';
  const count = b.eventCount();
  b.close();
  assert.ok(evidenceId, 'a finding of the sync-stall demo names evidence events');
  const name = 'small';
  const status = startTui(name, 80, 24);
  const first = await screenUntil(name, (s) => s.includes('findings:'), 'the findings list');
  for (const l of first.split('\n')) assert.ok(l.length <= 80, `fits 80 columns: ${l}`);

  // Several keys in one send-keys: tmux writes them to the terminal at once.
  await keys(name, '4');
  await screenUntil(name, (s) => selectedEvent(s) === ids[0], 'Events on the first event');
  tmux('send-keys', '-t', name, 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j', 'j');
  await screenUntil(name, (s) => selectedEvent(s) === ids[20], '20 j in one send-keys moved 20 events (across a page)');
  tmux('send-keys', '-t', name, 'Down', 'Down', 'Down', 'Down', 'Down', 'Up');
  await screenUntil(name, (s) => selectedEvent(s) === ids[24], '5 ↓ and 1 ↑ in one send-keys');

  await keys(name, '/', `op:${evidenceOp}`, 'Enter');
  const filtered = await screenUntil(name, (s) => s.includes(`Events of ${evidenceOp} · /op:${evidenceOp}`), 'the filtered Events list');
  const rows = filtered.split('\n').filter((l) => /^\s+\d+\s+\d+\.\d{6} s/.test(l));
  assert.ok(rows.length > 0 && rows.every((l) => l.includes(evidenceOp.slice(0, 6))), `only ${evidenceOp} rows:\n${filtered}`);
  await keys(name, '/', 'C-u', 'Enter');

  await keys(name, 'g', `#${evidenceId}`, 'Enter');
  await screenUntil(name, (s) => selectedEvent(s) === evidenceId, `the jump to evidence event ${evidenceId}`);

  await keys(name, '1', 'Home');
  await screenUntil(name, (s) => s.includes('findings:'), 'back to Findings');

  await keys(name, '7');
  await screenUntil(name, (s) => s.includes('SQL>'), 'the SQL console');
  await keys(name, '-l', sql);
  await keys(name, 'Enter');
  const result = await screenUntil(name, (s) => /1 row in \d+ ms/.test(s), 'the query result');
  assert.ok(result.split('\n').some((l) => l.trim() === String(count)), `the count SQLite returns:\n${result}`);
  await keys(name, 'Escape');
  await quits(name, status);
});

/** Processes started under the tmux session's pane whose command line contains `text`. */
function processesUnder(name: string, text: string): number[] {
  const root = Number(tmux('display-message', '-p', '-t', name, '#{pane_pid}').trim());
  const rows = execFileSync('ps', ['-ww', '-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) if (under.has(r.ppid) && !under.has(r.pid)) under.add(r.pid), (grew = true);
  }
  return rows.filter((r) => under.has(r.pid) && r.args.includes(text)).map((r) => r.pid);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the Timeline of a bundle over the child-process threshold is computed in a child: keys are answered meanwhile', { skip: hasTmux ? false : NO_TMUX }, async () => {
  // About 475,000 events: over CHILD_PROCESS_MIN_EVENTS, so the analysis and then the Timeline
  // are computed in child processes, as for a user's big recording.
  const big = join(work, 'cpu-contention-big.ingero');
  const written = await writeDemoBundle(big, scenarioByName('cpu-contention')!, { seed: 1, scale: 5 });
  assert.ok(written.events >= CHILD_PROCESS_MIN_EVENTS, `${written.events} events, over the threshold`);
  const name = 'timeline';
  const status = startTui(name, 120, 40, '', `'${big}' --view timeline`);
  // Once the analysis is done the view charts the top finding's op: a job of its own.
  const computing = await screenUntil(name, (s) => s.includes('Computing the timeline of'), "the Timeline computing the top finding's op", 180_000);
  const op = /Computing the timeline of (\S+)…/.exec(computing)![1]!;
  // The view starts the job just after the frame that says so is drawn (in a React effect).
  let children = processesUnder(name, 'analysis-worker.ts timeline');
  for (const end = Date.now() + 10_000; children.length === 0 && Date.now() < end; await delay(50)) children = processesUnder(name, 'analysis-worker.ts timeline');
  assert.equal(children.length, 1, 'one child process computes the timeline');
  await keys(name, '6');
  await screenUntil(name, (s) => /sha256/.test(s) && s.split('\n')[0]!.includes('6 Info'), 'the Info view');
  assert.ok(alive(children[0]!), 'Info answered while the timeline was still being computed');
  await keys(name, '4');
  await screenUntil(name, (s) => /Events of .*: ids \d+/.test(s), 'the Events view');
  await keys(name, 'End');
  await screenUntil(name, (s) => s.includes('(last page)'), 'the last page of Events');
  await keys(name, '3');
  const chart = await screenUntil(name, (s) => s.includes(`${op}: calls per second per`), 'the chart', 120_000);
  const b = openBundle(big);
  const points = new TraceContext(b).timelineOf(b.opIdsByName(op)[0]!, 120 - 11).series[0]!.points;
  b.close();
  const peak = points.reduce((best, p) => (p.count > best.count ? p : best));
  const numbers = chart.split('\n').find((l) => l.includes(' calls (')) ?? '';
  assert.ok(numbers.includes(`: ${peak.count.toLocaleString('en-US')} calls (`) && numbers.includes(`p99 ${formatDuration(peak.p99_ns)}`), `the busiest window as computed here (${peak.count} calls, p99 ${peak.p99_ns} ns):\n${chart}`);
  await quits(name, status);
  assert.ok(!alive(children[0]!), 'no timeline child is left');
});

test('NO_COLOR: a monochrome UI, selection in reverse video; without it, colour', { skip: hasTmux ? false : NO_TMUX }, async () => {
  for (const [name, env] of [
    ['mono', 'NO_COLOR=1'],
    ['colour', ''],
  ] as const) {
    const status = startTui(name, 120, 40, env);
    await screenUntil(name, (s) => s.includes('findings:'), `the findings list (${name})`);
    const styled = tmux('capture-pane', '-p', '-e', '-t', name);
    // SGR parameters: 30–37/90–97 and 38;… are foreground colours, 7 reverse video.
    const params = [...styled.matchAll(/\u001b\[([\d;]*)m/g)].flatMap((m) => m[1]!.split(';'));
    const colours = params.filter((p) => /^(3[0-8]|9[0-7])$/.test(p));
    if (name === 'mono') {
      assert.deepEqual(colours, [], 'no colour at all under NO_COLOR');
      assert.ok(params.includes('7'), 'the selected row in reverse video');
      assert.match(styled.replace(/\u001b\[[\d;]*m/g, ''), /HIGH\s+sync-stall/, 'severity written out');
    } else {
      assert.ok(colours.length > 0, 'colours without NO_COLOR (the check above can see them)');
    }
    await quits(name, status);
  }
});

test('outside a terminal: refuses with one line pointing at ingero explain (exit 2)', () => {
  const r = runPiped('tui', bundle);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '', 'nothing drawn');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^ingero: ingero tui needs a terminal .*ingero explain /);
});

test('bad bundles get the same one-line error as other commands (exit 1)', () => {
  const truncated = join(work, 'truncated.ingero');
  writeFileSync(truncated, readFileSync(bundle).subarray(0, 4096));
  for (const path of [join(work, 'missing.ingero'), truncated]) {
    const tui = runPiped('tui', path);
    const explain = runPiped('explain', path);
    assert.equal(tui.status, 1, tui.stderr);
    assert.equal(tui.stderr.trim().split('\n').length, 1, tui.stderr);
    assert.equal(tui.stderr, explain.stderr, 'the same message as ingero explain');
    assert.doesNotMatch(tui.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.ok(!existsSync(join(work, 'missing.ingero')));
});

test('an unknown --view is a usage error (exit 2)', () => {
  const r = runPiped('tui', bundle, '--view', 'flamegraph');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^ingero: unknown view "flamegraph"; choose one of findings, ops, timeline, events, stacks, info, sql, gpu\n$/);
});

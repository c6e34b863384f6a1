// ingero tui in a real terminal: the CLI runs inside a detached tmux session (its own server
// socket), keys go in with send-keys, the screen comes back with capture-pane. Also the
// command's refusals outside a terminal and its one-line errors on bad bundles.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { scenarioByName, writeDemoBundle } from '../analyze/index.ts';
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
  await screenUntil(name, (s) => /page 1, ids \d+/.test(s), 'the Events view');
  await keys(name, 'PageDown');
  await screenUntil(name, (s) => /page 2, ids \d+/.test(s), 'the next page of events');
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
  assert.match(r.stderr, /^ingero: unknown view "flamegraph"; choose one of findings, ops, timeline, events, stacks, info\n$/);
});

// ingero tui on GPU activity: the GPU view's busy tracks and kernels in Events, on a bundle
// imported here from a real PyTorch profiler trace (test/fixtures/kineto), first as an Ink app
// (ink-testing-library), then the real CLI in tmux from a directory outside the checkout.
// Expected values come from the bundle's rows read here with SQL, and from `computeStats`.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { computeStats } from '../analyze/index.ts';
import { formatDuration } from '../analyze/format-units.ts';
import { printable } from '../analyze/text-layout.ts';
import { opId, openBundle, type Bundle } from '../format/index.ts';
import { App } from '../tui/app.tsx';
import { KEY_BYTES } from '../tui/keys.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { trackLine, trackWindows } from '../tui/views/gpu-view.tsx';
import { CLI, OUTSIDE_CHECKOUT, runCli } from './cli-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-gpu-'));
const cache = join(work, 'cache');
process.env.INGERO_CACHE_DIR = cache;
const FIXTURES = new URL('./fixtures/kineto/', import.meta.url).pathname;
const INVESTIGATION = new URL('../investigations/pytorch-dataloader-starvation.ingero', import.meta.url).pathname;
const alexnetPath = join(work, 'alexnet.ingero');
const ranksPath = join(work, 'ranks.ingero');
const KERNEL = opId('kernel');
const GPU_WORK = [opId('kernel'), opId('memcpy'), opId('memset')];
const open: Bundle[] = [];

before(() => {
  for (const [out, inputs] of [
    [alexnetPath, ['alexnet-a100.json.gz']],
    [ranksPath, ['sampled-128rank-rank0.json.gz', 'sampled-128rank-rank1.json.gz']],
  ] as const) {
    const r = runCli(['import', ...inputs.map((f) => join(FIXTURES, f)), '-o', out], { cacheDir: cache });
    assert.equal(r.code, 0, r.stderr);
  }
});

after(() => {
  for (const b of open) b.close();
  rmSync(work, { recursive: true, force: true });
});

function bundleAt(path: string): Bundle {
  const b = openBundle(path);
  open.push(b);
  return b;
}

type Screen = ReturnType<typeof render>;

function start(bundle: Bundle, initialView: string, columns: number, rows: number): Screen {
  const screen = render(createElement(App, { trace: new TraceContext(bundle), initialView }));
  const stdout = screen.stdout as unknown as NodeJS.EventEmitter;
  Object.defineProperty(stdout, 'columns', { value: columns, configurable: true });
  Object.defineProperty(stdout, 'rows', { value: rows, configurable: true });
  stdout.emit('resize');
  return screen;
}

async function until(screen: Screen, ok: (frame: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 1500; i++) {
    const frame = screen.lastFrame() ?? '';
    if (ok(frame)) return frame;
    await delay(10);
  }
  assert.fail(`timed out waiting for ${what}; the screen shows:\n${screen.lastFrame()}`);
}

async function press(screen: Screen, data: string): Promise<void> {
  screen.stdin.write(data);
  await delay(60);
}

/** Longest stretch with no GPU work on a device, from its rows sorted here (not through the union code). */
function longestIdle(b: Bundle, node: number, device: number): number {
  const rows = b.db.prepare(`SELECT ts_ns AS ts, ts_ns + dur_ns AS end FROM events WHERE op_id IN (${GPU_WORK.join(',')}) AND node_id = ? AND arg2 = ? ORDER BY ts_ns`).all(node, device) as { ts: number; end: number }[];
  let reach = rows[0]!.end;
  let longest = 0;
  for (const r of rows.slice(1)) {
    if (r.ts > reach) longest = Math.max(longest, r.ts - reach);
    reach = Math.max(reach, r.end);
  }
  return longest;
}

test('GPU view: a track per device whose windows add up to the busy time of ingero stats, idle gaps dotted', async () => {
  for (const path of [alexnetPath, ranksPath]) {
    const b = bundleAt(path);
    const { gpus } = computeStats(b);
    assert.ok(gpus.length > 0, `${path} has GPU activity`);
    const screen = start(b, 'gpu', 120, 40);
    try {
      const frame = await until(screen, (f) => f.includes('GPU busy share per'), 'the GPU tracks');
      for (const l of frame.split('\n')) assert.ok(l.length <= 120, `fits: ${l}`);
      const several = new Set(gpus.map((g) => g.node_id)).size > 1;
      const labels = gpus.map((g) => (several ? `${g.node} GPU ${g.device}` : `GPU ${g.device}`));
      const windows = trackWindows(120, labels);
      const tracks = new TraceContext(b).gpuTracksOf(windows);
      assert.equal(tracks.tracks.length, gpus.length, 'one track per device that ran work');
      for (const [i, g] of gpus.entries()) {
        const t = tracks.tracks[i]!;
        assert.deepEqual([t.node_id, t.device], [g.node_id, g.device]);
        assert.equal(t.busy_ns, g.busy_ns, `${labels[i]}: the windows add up to the busy time of the stats`);
        const line = frame.split('\n').find((l) => l.startsWith(`${labels[i]} `)) ?? '';
        const cells = line.slice(120 - windows);
        assert.equal(cells.trimEnd(), trackLine(t, tracks).trimEnd(), `${labels[i]}: the track drawn is the one computed`);
        const idle = [...t.busy].filter((v, w) => v === 0 && tracks.from_ns + (w + 1) * tracks.window_ns > t.from_ns && tracks.from_ns + w * tracks.window_ns < t.to_ns).length;
        assert.equal([...cells].filter((c) => c === '·').length, idle, 'every window without GPU work inside the active span is dotted');
        if (g.idle_ns > 0) assert.ok([...cells].some((c) => c !== ' '), 'the track shows work');
      }
      // The first device is selected: its line gives the stats' busy time and the longest gap.
      const g = gpus[0]!;
      assert.ok(frame.includes(`${labels[0]}: busy ${formatDuration(g.busy_ns)} of ${formatDuration(g.span_ns)} active`), `the device line:\n${frame}`);
      assert.ok(frame.includes(`longest idle gap ${formatDuration(longestIdle(b, g.node_id, g.device))} at`), `the longest idle gap, computed from the rows:\n${frame}`);
      assert.ok(frame.includes(`${g.kernel.count.toLocaleString('en-US')} kernel`), 'its kernel count');
      if (gpus.length > 1) {
        await press(screen, KEY_BYTES.down);
        await until(screen, (f) => f.includes(`${labels[1]}: busy ${formatDuration(gpus[1]!.busy_ns)}`), '↓ selects the next device');
      }
    } finally {
      screen.unmount();
    }
  }
});

test('Enter opens Events on the kernels from the cursor window: name, device, stream, and the launching call by correlation id', async () => {
  const b = bundleAt(alexnetPath);
  const screen = start(b, 'gpu', 120, 40);
  try {
    await until(screen, (f) => f.includes('GPU busy share per'), 'the GPU tracks');
    await press(screen, KEY_BYTES.home);
    await press(screen, KEY_BYTES.enter);
    let frame = await until(screen, (f) => /Events of kernel: ids \d+/.test(f), 'Events on kernels');
    const kernels = b.db.prepare('SELECT e.id, e.arg2 AS device, e.arg3 AS stream, e.corr_id AS corr, e.node_id AS node, k.name FROM events e JOIN gpu_kernels k ON k.id = e.arg0 WHERE e.op_id = ? ORDER BY e.id').all(KERNEL) as { id: number; device: number; stream: number; corr: number; node: number; name: string }[];
    const rows = frame.split('\n').filter((l) => /^\s+\d+ +\d+\.\d{6} s/.test(l));
    assert.deepEqual(rows.map((l) => Number(l.trim().split(/\s+/)[0])), kernels.slice(0, rows.length).map((k) => k.id), 'from the first window on: every kernel, in order');
    for (const l of rows) assert.match(l, / kernel +device=\d+ stream=\d+ kernel=/, 'device and stream before the (long) name');
    const launches = b.db.prepare("SELECT e.id, o.name AS op FROM events e JOIN ops o ON o.id = e.op_id JOIN sources s ON s.id = o.source_id WHERE e.corr_id = ? AND e.node_id = ? AND s.name != 'gpu'");
    for (const k of kernels.slice(0, 4)) {
      frame = await until(screen, (f) => f.includes(`Event ${k.id}: kernel`), `the detail of kernel event ${k.id}`);
      assert.ok(frame.includes(`device=${k.device} stream=${k.stream} kernel=${printable(k.name).slice(0, 40)}`), `its device, stream and name:\n${frame}`);
      const launch = launches.all(k.corr, k.node) as { id: number; op: string }[];
      assert.equal(launch.length, 1, 'the fixture has one host call per kernel correlation id');
      assert.ok(frame.includes(`launched by event ${launch[0]!.id} (correlation id ${k.corr}): ${launch[0]!.op}`), `the launching call:\n${frame}`);
      await press(screen, KEY_BYTES.down);
    }
    // From the call's side: all ops, jump to the launch, and the detail names the kernel it launched.
    const k = kernels[0]!;
    const launch = (launches.all(k.corr, k.node) as { id: number }[])[0]!;
    await press(screen, 'a');
    await press(screen, `g#${launch.id}\r`);
    frame = await until(screen, (f) => f.includes(`Event ${launch.id}: `), 'the launching call selected');
    assert.ok(frame.includes(`launched on the GPU (correlation id ${k.corr}): event ${k.id}, kernel ${printable(k.name).slice(0, 20)}`), `the kernel it launched:\n${frame}`);
  } finally {
    screen.unmount();
  }
});

test('a bundle without GPU-side records: the GPU view says so and where they come from; ? lists the GPU keys', async () => {
  const b = bundleAt(INVESTIGATION);
  assert.equal(computeStats(b).gpus.length, 0);
  const screen = start(b, 'gpu', 80, 24);
  try {
    await until(screen, (f) => f.includes('No GPU activity in this bundle'), 'the no-GPU note');
    await press(screen, '?');
    const help = await until(screen, (f) => f.includes('Keys in GPU'), 'the help screen');
    assert.ok(help.includes('8 GPU'), 'the view is in the list of number keys');
    assert.match(help, /←\/→ h\/l +move the cursor one window/);
  } finally {
    screen.unmount();
  }
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const NO_TMUX = 'tmux is not installed (scripts/setup.sh installs it in CI): the real-terminal test of the GPU view did not run';
if (!hasTmux) process.stderr.write(`SKIPPED: ${NO_TMUX}\n`);
const socket = `ingero-tui-gpu-test-${process.pid}`;
after(() => {
  if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

const alive = (name: string) => spawnSync('tmux', ['-L', socket, 'has-session', '-t', name]).status === 0;

async function screenUntil(name: string, ok: (screen: string) => boolean, what: string): Promise<string> {
  const end = Date.now() + 60_000;
  let screen = '';
  while (Date.now() < end) {
    screen = alive(name) ? tmux('capture-pane', '-p', '-t', name) : '(the session has ended)';
    if (ok(screen)) return screen;
    await delay(100);
  }
  assert.fail(`timed out waiting for ${what}; the terminal shows:\n${screen}`);
}

for (const [columns, rows] of [
  [80, 24],
  [120, 40],
] as const) {
  test(`in a ${columns}×${rows} terminal, outside the checkout: ingero tui --view gpu on an imported Kineto trace, Enter to the kernels, q`, { skip: hasTmux ? false : NO_TMUX }, async () => {
    const name = `gpu${columns}`;
    const status = join(work, `${name}.status`);
    tmux('new-session', '-d', '-s', name, '-c', OUTSIDE_CHECKOUT, '-x', String(columns), '-y', String(rows), `INGERO_CACHE_DIR='${cache}' '${process.execPath}' '${CLI}' tui --view gpu '${ranksPath}'; echo $? > '${status}'`);
    const first = await screenUntil(name, (s) => s.includes('GPU busy share per') && s.includes('active ('), 'the GPU view');
    const lines = first.split('\n');
    for (const l of lines) assert.ok(l.length <= columns, `fits ${columns} columns: ${l}`);
    assert.ok(lines.filter((l) => l.trim()).length <= rows);
    assert.match(lines[0]!, /8 GPU/, 'the tab bar');
    const tracks = lines.filter((l) => /^rank\d GPU \d /.test(l));
    assert.equal(tracks.length, 2, `a track per rank's GPU:\n${first}`);
    for (const t of tracks) assert.match(t, /[▁▂▃▄▅▆▇█]/, 'with busy windows');
    tmux('send-keys', '-t', name, 'Home', 'Enter');
    const events = await screenUntil(name, (s) => /Events of kernel: ids \d+/.test(s) && /launched by event \d+ \(correlation id \d+\)/.test(s), 'the kernels with their launching call');
    for (const l of events.split('\n')) assert.ok(l.length <= columns, `fits ${columns} columns: ${l}`);
    assert.match(events, /^Event \d+: kernel on node \d, started/m);
    tmux('send-keys', '-t', name, 'q');
    const end = Date.now() + 10_000;
    while (alive(name) && Date.now() < end) await delay(100);
    assert.equal(alive(name), false, 'q ended the program');
    assert.equal(readFileSync(status, 'utf8').trim(), '0', 'exit status 0');
  });
}

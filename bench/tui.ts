// bench/tui: how soon `ingero tui` shows its first screen and how fast it answers keys, on a
// 10M-event bundle (the demo's cpu-contention scenario stretched; bench/demo-bundle.ts).
//
//   npx tsx bench/tui.ts [--events N | --bundle FILE] [--runs N] [--keys-only]
//
// First screen: the real CLI in a real terminal (tmux, 120×40), timed from starting it until the
// first frame is on screen (the plain one drawn before Ink loads: tui/first-frame.ts), and until
// the Ink UI is up (tab bar and first view: keys are handled from then on; keys typed before are
// kept). capture-pane is polled every 10 ms. Cold: an empty cache folder, so the bundle is
// decompressed and verified first; cached: the same folder again. Baseline in the same run:
// `ingero --help` in the same terminal (Node, tsx and the CLI loading).
//
// Cold, the first frame now comes before decompression (tui/first-frame.ts: it reads only the
// container's header), so cold is also timed until the UI is up.
//
// Key latency: the Ink app in this process (ink-testing-library: every frame is written at once,
// so Ink's 30 fps output throttle of a real terminal, at most 33 ms, is not in these numbers),
// timed from the key's bytes written to stdin until the new frame is out. 100 keys in the Events
// view (↓ across pages, ↑, PgDn, PgUp, End, Home and jumps by time and event id), with the
// analysis running in its child process meanwhile as it does for a user; then the same 100 keys
// again ("cached": pages read before come from the memo and SQLite's page cache). React's
// production build, as `ingero tui` loads it. Then, once the analysis is done, 20 keys on the
// list of a rare op (cudaMalloc: 41 events, all in the first second), whose reads the stats bound
// (tui/event-list.ts); baseline in the same run: the same moves read without the bound. Last,
// the same 100 keys in Events while the Timeline computes in its child process; baseline: the
// same timeline computed on the main thread, as it was, answering no key meanwhile.
//
// The first screen is also timed in CPU: what the processes under the tmux pane had used when it
// showed (/proc/<pid>/stat, all threads), which a loaded machine does not inflate as it does the
// wall time.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { openBundle } from '../format/index.ts';
import { AT_START, eventListQuery, eventPage, moveEvents, type EventMove } from '../tui/event-list.ts';
import { NO_FILTER } from '../tui/list-filter.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { ensureDemoBundle } from './demo-bundle.ts';

// As `ingero tui` does (cli/commands/tui.ts), before React loads: every module that imports
// React (tui/keys.ts does) is loaded after this line, or React and Ink's reconciler disagree.
process.env.NODE_ENV ??= 'production';
const { KEY_BYTES } = await import('../tui/keys.ts');
const { render } = await import('ink-testing-library');
const { createElement } = await import('react');
const { App } = await import('../tui/app.tsx');

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'ingero.mjs');
const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(name) + 1] ?? 0) || fallback;
const eventsWanted = arg('--events', 10_000_000);
const runs = arg('--runs', 3);
const outDir = join(ROOT, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const given = process.argv.indexOf('--bundle');
const bundlePath = given > 0 ? resolve(process.argv[given + 1]!) : join(outDir, `tui-${eventsWanted}.ingero`);
// Beside the bundle: a given one may live outside the checkout, and so should its 0.5 GB cache.
const cacheDir = join(dirname(bundlePath), 'cache-tui');
const socket = `ingero-bench-tui-${process.pid}`;

if (given < 0) await ensureDemoBundle(bundlePath, 'cpu-contention', eventsWanted);

const CLOCK_TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU ms (user + system, every thread) the processes under the tmux pane have used so far,
 *  those that have ended included (a process's reaped children are in its cutime and cstime). */
function cpuUnderPane(): number {
  const root = Number(spawnSync('tmux', ['-L', socket, 'display-message', '-p', '-t', 'b', '#{pane_pid}'], { encoding: 'utf8' }).stdout.trim());
  const stats = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      // Fields after the command name in parentheses: state, ppid, ... utime, stime, cutime, cstime (14th to 17th).
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return [{ pid: Number(pid), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) }];
    } catch {
      return []; // ended meanwhile
    }
  });
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of stats) if (under.has(p.ppid) && !under.has(p.pid)) under.add(p.pid), (grew = true);
  }
  return (stats.filter((p) => under.has(p.pid)).reduce((n, p) => n + p.ticks, 0) * 1000) / CLOCK_TICKS_PER_S;
}

/** From starting `command` in a fresh 120×40 tmux window until `ready` holds for its screen: wall ms, and the CPU ms its processes used by then. */
async function timeToScreen(command: string, ready: (screen: string) => boolean): Promise<{ ms: number; cpuMs: number }> {
  const t0 = performance.now();
  // The previous window's server may still be exiting: start again then.
  for (let attempt = 0; spawnSync('tmux', ['-L', socket, 'new-session', '-d', '-s', 'b', '-c', '/tmp', '-x', '120', '-y', '40', `${command}; sleep 60`]).status !== 0; attempt++) {
    if (attempt > 10) throw new Error('tmux could not start a session');
    await delay(100);
  }
  try {
    for (;;) {
      // A capture can fail while tmux is still creating the window: try again.
      const capture = spawnSync('tmux', ['-L', socket, 'capture-pane', '-p', '-t', 'b'], { encoding: 'utf8' });
      const screen = capture.status === 0 ? capture.stdout : '';
      if (ready(screen)) return { ms: performance.now() - t0, cpuMs: cpuUnderPane() };
      if (performance.now() - t0 > 300_000) throw new Error(`no screen after 300 s:\n${screen}`);
      await delay(10);
    }
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    await delay(300);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

const tuiCommand = `INGERO_CACHE_DIR='${cacheDir}' '${process.execPath}' '${CLI}' tui '${bundlePath}'`;
/** The plain frame drawn before Ink loads (tui/first-frame.ts), or the UI itself. */
const firstFrame = (s: string) => /^ingero .*\n(Opening the bundle|Starting the interface)/.test(s) || interactive(s);
/** The Ink UI: tab bar and the first view; keys are handled from here on. */
const interactive = (s: string) => {
  const lines = s.split('\n');
  return lines[0]!.includes('1 Findings') && /Analysing|findings:/.test(lines[1] ?? '');
};

const keysOnly = process.argv.includes('--keys-only');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
if (!keysOnly) {
// Baseline: `ingero --help` still loads every command's module (cli/command-modules.ts), as every
// command did before they were loaded one at a time.
const baseline: { ms: number; cpuMs: number }[] = [];
for (let i = 0; i < runs; i++) baseline.push(await timeToScreen(`'${process.execPath}' '${CLI}' --help`, (s) => s.includes('display help for command')));
rmSync(cacheDir, { recursive: true, force: true });
const cold = await timeToScreen(tuiCommand, firstFrame);
rmSync(cacheDir, { recursive: true, force: true });
const coldInteractive = await timeToScreen(tuiCommand, interactive);
const cachedFirst: { ms: number; cpuMs: number }[] = [];
const cachedInteractive: { ms: number; cpuMs: number }[] = [];
for (let i = 0; i < runs; i++) cachedFirst.push(await timeToScreen(tuiCommand, firstFrame));
for (let i = 0; i < runs; i++) cachedInteractive.push(await timeToScreen(tuiCommand, interactive));
const s = (xs: { ms: number; cpuMs: number }[]) => {
  const wall = xs.map((x) => x.ms);
  const cpu = xs.map((x) => x.cpuMs);
  return `median ${(median(wall) / 1000).toFixed(2)} s (${wall.map((t) => (t / 1000).toFixed(2)).join(', ')}), CPU median ${(median(cpu) / 1000).toFixed(2)} s (${cpu.map((t) => (t / 1000).toFixed(2)).join(', ')})`;
};
console.log(`first frame: cold ${s([cold])} (drawn before decompressing); cached ${s(cachedFirst)}`);
console.log(`interactive (Ink UI up): cold ${s([coldInteractive])} (decompress and verify included); cached ${s(cachedInteractive)}`);
console.log(`baseline ingero --help: ${s(baseline)}`);
}

// Key latency, in this process.
process.env.INGERO_CACHE_DIR = cacheDir;
const bundle = openBundle(bundlePath);
const events = bundle.manifest.counts.events;
const span = bundle.manifest.time;
const screen = render(createElement(App, { trace: new TraceContext(bundle), initialView: 'events' }));
const stdout = screen.stdout as unknown as NodeJS.EventEmitter;
Object.defineProperty(stdout, 'columns', { value: 120, configurable: true });
Object.defineProperty(stdout, 'rows', { value: 40, configurable: true });
stdout.emit('resize');
for (const t0 = performance.now(); !(screen.lastFrame() ?? '').includes('Events of'); await delay(10)) if (performance.now() - t0 > 60_000) throw new Error(`no Events view after 60 s:\n${screen.lastFrame()}`);

const { down: DOWN, up: UP, pageDown: PGDN, pageUp: PGUP, end: END, home: HOME } = KEY_BYTES;
/** 100 keys; a jump's typed characters are written together and timed as one key (its Enter). */
const keys: { label: string; data: string }[] = [];
for (let i = 0; i < 55; i++) keys.push({ label: '↓', data: DOWN });
for (let i = 0; i < 10; i++) keys.push({ label: '↑', data: UP });
for (let i = 0; i < 10; i++) keys.push({ label: 'PgDn', data: PGDN });
for (let i = 0; i < 5; i++) keys.push({ label: 'PgUp', data: PGUP });
for (let i = 0; i < 5; i++) keys.push({ label: 'End', data: END }, { label: '↑', data: UP });
keys.push({ label: 'Home', data: HOME });
for (let i = 0; i < 5; i++) {
  const ns = span.start_ns + ((i + 1) * (span.end_ns - span.start_ns)) / 6;
  keys.push({ label: 'g time', data: `g${(ns / 1e9).toFixed(2)}s\r` });
}
for (let i = 0; i < 4; i++) keys.push({ label: 'g id', data: `g#${Math.floor(((i + 1) * events) / 5)}\r` });
if (keys.length !== 100) throw new Error(`${keys.length} keys`);

/** CPU ms this process spent per key (the analysis runs in a child, not counted): what a key costs on a busy machine. */
const cpuPerKey: number[] = [];

/** Times each key of `list`; `starts` gets the time each key was written. */
async function pass(list: readonly { label: string; data: string }[] = keys, starts: number[] = []): Promise<Map<string, number[]>> {
  const byKey = new Map<string, number[]>();
  for (const k of list) {
    const before = screen.frames.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    starts.push(t0);
    screen.stdin.write(k.data);
    while (screen.frames.length === before) {
      if (performance.now() - t0 > 30_000) throw new Error(`no new frame after ${k.label}`);
      await new Promise((r) => setImmediate(r));
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    cpuPerKey.push((cpu.user + cpu.system) / 1000);
    byKey.set(k.label, [...(byKey.get(k.label) ?? []), ms]);
    byKey.set('all', [...(byKey.get('all') ?? []), ms]);
    await delay(5);
  }
  return byKey;
}

const report = (name: string, result: Map<string, number[]>) => {
  const all = result.get('all')!;
  console.log(`keys, ${name}: p50 ${median(all).toFixed(1)} ms, p99 ${quantile(all, 0.99).toFixed(1)} ms, max ${Math.max(...all).toFixed(1)} ms over ${all.length} keys`);
  for (const [label, xs] of result) if (label !== 'all') console.log(`  ${label.padEnd(6)} ×${String(xs.length).padStart(2)}: p50 ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`);
};
report('first pass', await pass());
screen.stdin.write(HOME);
await delay(50);
report('cached (same keys again)', await pass());
console.log(`CPU per key (both passes): p50 ${median(cpuPerKey).toFixed(1)} ms, p99 ${quantile(cpuPerKey, 0.99).toFixed(1)} ms`);

// A rare op's list, once the analysis is done (its stats bound the reads).
const analysisStart = performance.now();
while ((screen.lastFrame() ?? '').split('\n')[0]!.includes('analysing')) await delay(100);
console.log(`analysis done ${((performance.now() - analysisStart) / 1000).toFixed(1)} s after the key passes`);
const RARE = 'cudaMalloc';
screen.stdin.write(`/op:${RARE}\r`);
while (!(screen.lastFrame() ?? '').includes(`Events of ${RARE}`)) await delay(10);
const rareKeys: { label: string; data: string }[] = [];
for (const [label, data] of [['End', END], ['Home', HOME], ['PgDn', PGDN], ['PgUp', PGUP]] as const) rareKeys.push({ label, data }, { label, data });
for (let i = 0; i < 8; i++) rareKeys.push({ label: '↓', data: DOWN });
for (let i = 0; i < 4; i++) rareKeys.push({ label: '↑', data: UP });
cpuPerKey.length = 0;
report(`${RARE}'s list (bounded by the stats)`, await pass(rareKeys));
console.log(`  CPU per key: p50 ${median(cpuPerKey).toFixed(1)} ms, max ${Math.max(...cpuPerKey).toFixed(1)} ms`);
// Same run baseline: the same moves read without the bound, on a fresh memo.
const unbounded = new TraceContext(bundle);
const q = eventListQuery(unbounded, { opId: bundle.opIdsByName(RARE)[0]!, finding: null }, false, NO_FILTER);
let at = AT_START;
const reads: string[] = [];
for (const m of ['last', 'first', 'pageDown', 'pageUp'] as EventMove[]) {
  const t0 = performance.now();
  at = moveEvents(unbounded, q, at, 32, m);
  eventPage(unbounded, q, at, 32);
  reads.push(`${m} ${(performance.now() - t0).toFixed(0)} ms`);
}
console.log(`  baseline, the same moves without the bound (reads only, no rendering): ${reads.join(', ')}`);

// Keys while the Timeline computes. It is computed in a child process now
// (tui/background-analysis.ts); it was computed on the main thread, and every key waited for it
// to end: that wait, timed below on the same bundle, is the baseline. The Timeline charts the top
// finding's op; meanwhile the same 100 keys are pressed in Events (its filter cleared).
screen.stdin.write('/\u0015\r');
await delay(50);
const frameUntil = async (ok: (f: string) => boolean, what: string) => {
  for (const t0 = performance.now(); !ok(screen.lastFrame() ?? ''); await delay(5)) if (performance.now() - t0 > 120_000) throw new Error(`no ${what} after 120 s:\n${screen.lastFrame()}`);
  return screen.lastFrame() ?? '';
};
const timelineAsked = performance.now();
screen.stdin.write('3');
const computing = await frameUntil((f) => f.includes('Computing the timeline of'), 'computing line');
const chartOp = /Computing the timeline of (\S+)…/.exec(computing)![1]!;
const worker = Number(spawnSync('pgrep', ['-P', String(process.pid), '-f', 'analysis-worker.ts timeline'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
if (!worker) throw new Error('no timeline child process');
let computedAt = Number.POSITIVE_INFINITY;
const watch = setInterval(() => {
  try {
    process.kill(worker, 0);
  } catch {
    computedAt = performance.now();
    clearInterval(watch);
  }
}, 5);
screen.stdin.write('4');
await frameUntil((f) => f.includes('Events of all ops'), 'Events view');
screen.stdin.write(HOME);
await delay(50);
const starts: number[] = [];
cpuPerKey.length = 0;
const during = await pass(keys, starts);
const answeredWhileComputing = starts.filter((t) => t < computedAt).length;
report(`Events while the Timeline of ${chartOp} computes`, during);
console.log(`  ${answeredWhileComputing} of ${starts.length} keys were pressed while the child computed; CPU per key p50 ${median(cpuPerKey).toFixed(1)} ms, p99 ${quantile(cpuPerKey, 0.99).toFixed(1)} ms`);
await frameUntil(() => computedAt < Number.POSITIVE_INFINITY, 'end of the timeline child');
screen.stdin.write('3');
await frameUntil((f) => f.includes(`${chartOp}: calls per second per`), 'timeline chart');
console.log(`  timeline in its child: chart on screen ${((performance.now() - timelineAsked) / 1000).toFixed(1)} s after the Timeline was shown (the child ended ${((computedAt - timelineAsked) / 1000).toFixed(1)} s after)`);
const onMain = performance.now();
new TraceContext(bundle).timelineOf(bundle.opIdsByName(chartOp)[0]!, 120 - 11);
console.log(`  baseline, the same timeline computed on the main thread: ${((performance.now() - onMain) / 1000).toFixed(1)} s with no key answered`);

screen.unmount();
bundle.close();
console.log(`load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
process.exit(0);

// ingero tui, component level: the Ink app rendered by ink-testing-library against real bundles
// (a demo bundle written here, and a committed investigation), driven with key presses.
// Expected content comes from the analyzer and the bundle themselves, never typed in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { computeStats, explain, scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { formatDuration } from '../analyze/format-units.ts';
import { printable } from '../analyze/text-layout.ts';
import { BundleWriter, opId, openBundle, type Bundle } from '../format/index.ts';
import { App } from '../tui/app.tsx';
import { KEY_BYTES } from '../tui/keys.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { sortOps } from '../tui/views/ops-view.tsx';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
const INVESTIGATION = new URL('../investigations/pytorch-dataloader-starvation.ingero', import.meta.url).pathname;

const KEY = KEY_BYTES;

let demoPath: string;
let demo: Bundle;
const open: Bundle[] = [];

before(async () => {
  demoPath = join(work, 'cpu-contention.ingero');
  await writeDemoBundle(demoPath, scenarioByName('cpu-contention')!, { seed: 1 });
  demo = openBundle(demoPath);
  open.push(demo);
});

after(() => {
  for (const b of open) b.close();
  rmSync(work, { recursive: true, force: true });
});

type Screen = ReturnType<typeof render>;

function start(bundle: Bundle, initialView?: string, childProcessMinEvents?: number): Screen {
  return render(createElement(App, { trace: new TraceContext(bundle), initialView, childProcessMinEvents }));
}

/** Waits until the screen satisfies `ok` (renders and background work are asynchronous). */
async function until(screen: Screen, ok: (frame: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const frame = screen.lastFrame() ?? '';
    if (ok(frame)) return frame;
    await delay(10);
  }
  assert.fail(`timed out waiting for ${what}; the screen shows:\n${screen.lastFrame()}`);
}

/** Waits until the background analysis is done (the tab bar stops saying so). */
function analysed(screen: Screen): Promise<string> {
  return until(screen, (f) => f.length > 0 && !f.split('\n')[0]!.includes('analysing'), 'the analysis to finish');
}

/** The scope named on the status bar (its first word: the op). */
function scopeOp(frame: string): string {
  return lineWith(frame, 'q quit').trim().split(' ')[0]!;
}

/** A key press, once the frame on screen has its key handlers attached (React attaches them
 *  in effects, just after the frame is drawn: a test is faster than any typist). */
async function press(screen: Screen, key: string): Promise<void> {
  await delay(25);
  screen.stdin.write(key);
  await delay(25);
}

/** The screen line that holds `text`. */
function lineWith(frame: string, text: string): string {
  return frame.split('\n').find((l) => l.includes(text)) ?? '';
}

test('shows a loading line at once, then the ranked findings of the analyzer', async () => {
  const report = explain(demo);
  assert.ok(report.findings.length >= 2, 'the demo has several findings');
  const screen = start(demo);
  try {
    assert.match(screen.frames[0] ?? '', /Analysing [\d,]+ events/, 'the first frame is the loading line');
    const frame = await until(screen, (f) => f.includes('findings:'), 'the findings list');
    for (const [i, f] of report.findings.entries()) {
      const line = frame.split('\n').find((l) => l.startsWith(`${String(i + 1).padStart(2)}. `)) ?? '';
      assert.ok(line.includes(f.kind), `finding ${i + 1} is ${f.kind}`);
      assert.ok(line.includes(f.severity), `${f.kind} listed with its severity`);
      assert.ok(line.includes(printable(f.summary).slice(0, 20)), `${f.kind} listed with its summary`);
    }
  } finally {
    screen.unmount();
  }
});

test('big bundles are analysed in a child process: the views answer meanwhile, the findings are the same', async () => {
  const report = explain(demo);
  const screen = start(demo, 'findings', 0);
  try {
    await until(screen, (f) => f.includes('Analysing'), 'the loading line');
    await press(screen, '6');
    const info = await until(screen, (f) => f.includes(demo.manifest.database.sha256), 'the Info view');
    assert.ok(info.split('\n')[0]!.includes('analysing'), 'Info answered while the analysis was still running');
    await press(screen, '1');
    const frame = await until(screen, (f) => f.includes('findings:'), 'the findings from the child process');
    for (const [i, f] of report.findings.entries()) assert.ok(lineWith(frame, `${String(i + 1).padStart(2)}. `).includes(f.kind), `finding ${i + 1} is ${f.kind}`);
  } finally {
    screen.unmount();
  }
});

test('quitting while a child process analyses kills it', async () => {
  const screen = start(demo, 'findings', 0);
  await until(screen, (f) => f.includes('Analysing'), 'the loading line');
  await delay(200);
  const children = () => spawnSync('pgrep', ['-P', String(process.pid), '-f', 'analysis-worker'], { encoding: 'utf8' }).stdout.trim();
  assert.notEqual(children(), '', 'an analysis child runs');
  screen.unmount();
  for (let i = 0; i < 100 && children() !== ''; i++) await delay(20);
  assert.equal(children(), '', 'no analysis child is left');
});

test('↓ and Enter open the second finding: its evidence, root cause and fix', async () => {
  const second = explain(demo).findings[1]!;
  const screen = start(demo);
  try {
    await until(screen, (f) => f.includes('findings:'), 'the findings list');
    await press(screen, KEY.down);
    await press(screen, KEY.enter);
    const frame = await until(screen, (f) => f.includes('Root cause'), 'the finding detail');
    assert.ok(frame.includes(`[${second.severity}] ${second.kind}`), `the detail is about the selected finding:\n${frame}`);
    assert.ok(frame.includes('Evidence') && frame.includes('Fix'));
    assert.ok(frame.includes(printable(second.root_cause).split(' ').slice(0, 5).join(' ')), 'its root cause');
    assert.ok(frame.includes(printable(second.recommendations[0]!).split(' ').slice(0, 5).join(' ')), 'its first fix');
    assert.ok(lineWith(frame, 'pid').includes(`pid ${second.pid}`), 'the status bar shows the narrowed scope');
    await press(screen, KEY.escape);
    await until(screen, (f) => f.includes('findings:') && !f.includes('Root cause'), 'back to the list after Esc');
  } finally {
    screen.unmount();
  }
});

test('number keys and Tab switch views; ? shows the keys', async () => {
  const screen = start(demo);
  try {
    await until(screen, (f) => f.includes('findings:'), 'the findings list');
    await press(screen, '2');
    await until(screen, (f) => f.includes('Per op, sorted by total'), 'the Ops view');
    await press(screen, KEY.tab);
    await until(screen, (f) => f.includes('calls per second'), 'the Timeline view after Tab');
    await press(screen, '6');
    await until(screen, (f) => f.includes(demo.manifest.database.sha256), 'the Info view');
    await press(screen, '?');
    const help = await until(screen, (f) => f.includes('Keys everywhere'), 'the help screen');
    assert.ok(help.includes('Keys in Info') && help.includes('quit'));
    await press(screen, '?');
    await until(screen, (f) => !f.includes('Keys everywhere'), 'help closed');
  } finally {
    screen.unmount();
  }
});

test('Ops lists every op with its statistics; s sorts by the next column', async () => {
  const stats = computeStats(demo);
  const screen = start(demo, 'ops');
  try {
    const frame = await until(screen, (f) => f.includes('sorted by total'), 'the Ops table');
    for (const s of stats.ops) assert.ok(frame.split('\n').find((l) => l.startsWith(`${s.op} `))?.includes(` ${s.count.toLocaleString('en-US')} `), `${s.op} with its count`);
    const rows = (f: string) => f.split('\n').filter((l) => stats.ops.some((s) => l.startsWith(`${s.op} `)));
    assert.ok(rows(frame)[0]!.startsWith(`${sortOps(stats.ops, 'total', false)[0]!.op} `), 'largest total first');
    await press(screen, 's');
    const byCount = await until(screen, (f) => f.includes('sorted by count'), 'sorted by count');
    assert.deepEqual(
      rows(byCount).map((l) => l.split(' ')[0]),
      sortOps(stats.ops, 'count', false).map((s) => s.op),
      'rows in count order',
    );
    await press(screen, 'r');
    const reversed = await until(screen, (f) => f.includes('(reversed)'), 'reversed');
    assert.equal(rows(reversed)[0]!.split(' ')[0], sortOps(stats.ops, 'count', true)[0]!.op);
  } finally {
    screen.unmount();
  }
});

test('moving in Ops re-targets the Timeline; m changes the metric', async () => {
  const sorted = sortOps(computeStats(demo).ops, 'total', false);
  const screen = start(demo, 'ops');
  try {
    await until(screen, (f) => f.includes('sorted by total'), 'the Ops table');
    assert.equal(scopeOp(await analysed(screen)), 'all', 'the analysis finishing selects nothing by itself');
    const next = sorted[1]!.op;
    await press(screen, KEY.down);
    await until(screen, (f) => scopeOp(f) === next, 'the scope follows the cursor');
    await press(screen, KEY.enter);
    const frame = await until(screen, (f) => f.includes(`${next}: calls per second`), 'the timeline of the selected op');
    assert.match(frame, /calls \([\d,.]+\/s\), p50/, 'the numbers of the window under the cursor');
    await press(screen, 'm');
    await until(screen, (f) => f.includes(`${next}: median latency`), 'the median metric');
  } finally {
    screen.unmount();
  }
});

/** Child processes of this test computing a timeline (background-analysis.ts names each child's job). */
const timelineChildren = () => spawnSync('pgrep', ['-P', String(process.pid), '-f', 'analysis-worker.ts timeline'], { encoding: 'utf8' }).stdout.trim();

test('the Timeline of a big bundle is computed in a child process: other views answer meanwhile, and the chart is the one computed here', async () => {
  const screen = start(demo, 'findings', 0);
  const stdout = screen.stdout as unknown as NodeJS.EventEmitter;
  Object.defineProperty(stdout, 'columns', { value: 120, configurable: true });
  Object.defineProperty(stdout, 'rows', { value: 40, configurable: true });
  stdout.emit('resize');
  try {
    await analysed(screen);
    await press(screen, '3');
    const computing = await until(screen, (f) => f.includes('Computing the timeline of'), 'the computing line');
    const op = /Computing the timeline of (\S+)…/.exec(computing)![1]!;
    // The view starts the job just after the frame that says so is drawn (in a React effect).
    for (let i = 0; i < 200 && timelineChildren() === ''; i++) await delay(20);
    assert.notEqual(timelineChildren(), '', 'a child process computes the timeline');
    await press(screen, '6');
    await until(screen, (f) => f.includes(demo.manifest.database.sha256), 'the Info view');
    assert.notEqual(timelineChildren(), '', 'Info answered while the timeline was still being computed');
    await press(screen, '3');
    const frame = await until(screen, (f) => f.includes(`${op}: calls per second per`), 'the chart');
    // The cursor starts on the busiest window: its numbers as the timeline computed here has them.
    const points = new TraceContext(demo).timelineOf(demo.opIdsByName(op)[0]!, 120 - 11).series[0]!.points;
    const peak = points.reduce((best, p) => (p.count > best.count ? p : best));
    assert.match(lineWith(frame, ' calls ('), new RegExp(`: ${peak.count.toLocaleString('en-US')} calls \\(.*p99 ${formatDuration(peak.p99_ns)}, max ${formatDuration(peak.max_ns)}`), 'the busiest window, as computed in this process');
  } finally {
    screen.unmount();
  }
  for (let i = 0; i < 100 && timelineChildren() !== ''; i++) await delay(20);
  assert.equal(timelineChildren(), '', 'no timeline child is left');
});

test('Events pages through bundle.events() without gap or overlap, and the analysis finishing moves nothing', async () => {
  const ids = [...demo.events({ limit: 80 })].map((e) => e.id);
  const screen = start(demo, 'events');
  try {
    const first = await until(screen, (f) => f.includes('(first page)'), 'the first page');
    const range = (f: string) => /ids (\d+)–(\d+)/.exec(f)!.slice(1).map(Number);
    assert.equal(range(first)[0], ids[0], 'the page starts at the first event');
    const settled = await analysed(screen);
    assert.deepEqual(range(settled), range(first), 'the same events after the analysis finished (no op was switched to)');
    assert.ok(settled.includes('Events of all ops'));
    await press(screen, KEY.pageDown);
    const second = await until(screen, (f) => range(f)[0] !== ids[0], 'the second page');
    const pageSize = ids.indexOf(range(second)[0]!);
    assert.ok(pageSize > 5, 'a page holds many events');
    assert.equal(range(second)[1], ids[2 * pageSize - 1], 'the second page follows the first without gap or overlap');
    assert.ok(second.includes(`Event ${range(second)[0]}: `), 'the detail pane shows the event under the cursor');
    await press(screen, KEY.down);
    await until(screen, (f) => f.includes(`Event ${ids[pageSize + 1]}: `), 'the cursor moved one event');
    await press(screen, KEY.pageUp);
    await until(screen, (f) => range(f)[0] === ids[0] && f.includes(`Event ${ids[1]}: `), 'back to the first page, same row');
  } finally {
    screen.unmount();
  }
});

test('a finding narrows Events to its process and window, and re-sorting Ops does not drop it', async () => {
  // Regression: re-sorting Ops moved its cursor to the top row, which re-targeted the scope and
  // silently dropped the open finding's narrowing.
  const report = explain(demo);
  const f = report.findings.find((x) => x.op)!;
  const index = report.findings.indexOf(f);
  const screen = start(demo);
  try {
    await until(screen, (fr) => fr.includes('findings:'), 'the findings list');
    for (let i = 0; i < index; i++) await press(screen, KEY.down);
    await press(screen, KEY.enter);
    await until(screen, (fr) => fr.includes('Root cause'), 'the finding detail');
    await press(screen, '2');
    await until(screen, (fr) => fr.includes('sorted by total'), 'Ops');
    await press(screen, 's');
    await until(screen, (fr) => fr.includes('sorted by count'), 'Ops sorted by count');
    await press(screen, '4');
    const frame = await until(screen, (fr) => fr.includes('(first page)') || fr.includes('(all of them)'), 'Events');
    assert.ok(frame.includes(`Events of ${f.op}, pid ${f.pid}`), `still narrowed to the finding:\n${frame}`);
    const expected = [...demo.events({ opIds: demo.opIdsByName(f.op), pids: [f.pid], fromNs: f.from_ns, toNs: f.to_ns + 1, limit: 1 })][0]!;
    assert.ok(frame.includes(`ids ${expected.id}–`), 'the first event of the finding window');
    await press(screen, 'x');
    await until(screen, (fr) => fr.includes(`Events of ${f.op}: ids`), 'x clears the narrowing, keeps the op');
  } finally {
    screen.unmount();
  }
});

test('Stacks ranks the stacks of the selected op and shows the frames of the selected one', async () => {
  const b = openBundle(INVESTIGATION);
  open.push(b);
  const op = 'cudaMalloc';
  const rows = b.db.prepare('SELECT stack_id AS id, sum(dur_ns) AS t FROM events WHERE op_id = ? AND stack_id IS NOT NULL GROUP BY stack_id ORDER BY t DESC, count(*) DESC, stack_id').all(b.opIdsByName(op)[0]) as { id: number }[];
  assert.ok(rows.length >= 2, 'the investigation has several cudaMalloc stacks');
  const screen = start(b, 'ops');
  try {
    await until(screen, (f) => f.includes('sorted by total'), 'Ops');
    const stats = sortOps(computeStats(b).ops, 'total', false);
    await analysed(screen);
    await press(screen, KEY.home);
    for (let i = 0; i < stats.findIndex((s) => s.op === op); i++) await press(screen, KEY.down);
    await until(screen, (f) => scopeOp(f) === op, `${op} selected`);
    await press(screen, '5');
    const frame = await until(screen, (f) => new RegExp(`\\d+ stacks? of ${op}`).test(f), 'the Stacks view');
    assert.ok(frame.includes(`${rows.length} stacks of ${op}`), frame);
    assert.ok(frame.includes(`Stack ${rows[0]!.id}:`), 'the hottest stack is selected first');
    const leaf = b.stack(rows[0]!.id)[0]!;
    assert.ok(frame.includes(printable(leaf.function ?? leaf.module ?? '').slice(0, 30)), 'its leaf frame is shown');
    await press(screen, KEY.down);
    await until(screen, (f) => f.includes(`Stack ${rows[1]!.id}:`), 'the next stack');
  } finally {
    screen.unmount();
  }
});

test('Info shows the manifest, sampling notes and imported findings of an investigation', async () => {
  const b = openBundle(INVESTIGATION);
  open.push(b);
  const report = explain(b);
  const screen = start(b, 'info');
  try {
    const top = await analysed(screen);
    assert.ok(top.includes(`${b.manifest.counts.events.toLocaleString('en-US')} events`));
    assert.ok(top.includes('sampled from'), 'sampling periods are listed');
    let frame = top;
    for (let page = 0; page < 10 && !frame.includes('Findings stored by another tool'); page++) {
      await press(screen, ' ');
      frame = screen.lastFrame() ?? '';
    }
    assert.ok(frame.includes(`(${report.imported_findings.length}; not produced or checked by this analysis)`));
  } finally {
    screen.unmount();
  }
});

test('traced strings reach the screen without control or bidi characters', async () => {
  const path = join(work, 'hostile.ingero');
  const w = BundleWriter.create(path, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'test', version: '0', command: 'hostile' } });
  const evil = 'x\u001b]0;pwned\u0007\u001b[2J\u202egnp.exe\r\nrm -rf';
  w.setMetadata('note', evil);
  w.addProcess({ pid: 7, ppid: 1, comm: evil, cmdline: evil });
  const frames = w.internStack([{ kind: 'native', function: { name: evil, filename: evil }, mapping: { path: evil } }]);
  for (let i = 0; i < 50; i++) w.appendEvent({ ts_ns: i * 1e6, dur_ns: 1000 + i, pid: 7, tid: 7, op_id: opId('cudaMalloc'), arg0: 1024, stack_id: frames });
  await w.seal();
  const b = openBundle(path);
  open.push(b);
  for (const view of ['info', 'stacks', 'events']) {
    const screen = start(b, view);
    try {
      const frame = await until(screen, (f) => f.includes('pwned'), `the hostile string in ${view}`);
      assert.doesNotMatch(frame, /[\u0007\u202e\r]|\u001b\]|\u001b\[2J/, `${view} shows the string inert`);
    } finally {
      screen.unmount();
    }
  }
});

test('the layout follows the terminal size, and re-lays out on resize', async () => {
  const screen = start(demo, 'ops');
  try {
    await until(screen, (f) => f.includes('sorted by total'), 'Ops');
    const stdout = screen.stdout as unknown as NodeJS.EventEmitter;
    Object.defineProperty(stdout, 'columns', { value: 60, configurable: true });
    Object.defineProperty(stdout, 'rows', { value: 12, configurable: true });
    stdout.emit('resize');
    const frame = await until(screen, (f) => f.split('\n').length <= 12 && f.split('\n').every((l) => l.length <= 60), 'a 60×12 layout');
    assert.ok(frame.includes('COUNT'), 'still a table');
  } finally {
    screen.unmount();
  }
});

test('an empty bundle: every view says there is nothing rather than failing', async () => {
  const path = join(work, 'empty.ingero');
  await BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'test', version: '0', command: 'empty' } }).seal();
  const b = openBundle(path);
  open.push(b);
  const screen = start(b);
  try {
    await until(screen, (f) => f.includes('No problems found'), 'Findings');
    const expected: [string, string][] = [['2', '0 events over 0 ns'], ['3', 'No op selected'], ['4', 'No events of all ops.'], ['5', 'No stacks were captured'], ['6', '0 events, 0 processes']];
    for (const [key, text] of expected) {
      await press(screen, key);
      await until(screen, (f) => f.includes(text), `view ${key}: ${text}`);
    }
  } finally {
    screen.unmount();
  }
});

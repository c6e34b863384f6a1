// ingero tui, reaching every event (issue 12), at component level: keys arriving several to a
// read, the `/` filter, `g` jumps, a finding's evidence opened in Events, the SQL console, the
// help screen and narrow layouts. The Ink app is rendered by ink-testing-library over real
// bundles; expected rows come from bundle.events() and SQLite themselves, never typed in.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { explain, scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { openBundle, type Bundle, type EventRecord } from '../format/index.ts';
import { App, GLOBAL_KEYS } from '../tui/app.tsx';
import { colourWanted } from '../tui/colour-mode.ts';
import { SQL_LIMITS, startStatement } from '../tui/sql-console.ts';
import { fitMiddle } from '../tui/text.ts';
import { KEY_BYTES } from '../tui/keys.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { VIEWS } from '../tui/views/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-reach-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
const INVESTIGATION = new URL('../investigations/pytorch-dataloader-starvation.ingero', import.meta.url).pathname;
const KEY = KEY_BYTES;

let demo: Bundle;
let investigation: Bundle;

before(async () => {
  const path = join(work, 'cpu-contention.ingero');
  await writeDemoBundle(path, scenarioByName('cpu-contention')!, { seed: 1 });
  demo = openBundle(path);
  investigation = openBundle(INVESTIGATION);
});

after(() => {
  demo.close();
  investigation.close();
  rmSync(work, { recursive: true, force: true });
});

type Screen = ReturnType<typeof render>;

function start(bundle: Bundle, initialView?: string, size?: { columns: number; rows: number }): Screen {
  const screen = render(createElement(App, { trace: new TraceContext(bundle), initialView }));
  if (size) {
    const stdout = screen.stdout as unknown as NodeJS.EventEmitter;
    Object.defineProperty(stdout, 'columns', { value: size.columns, configurable: true });
    Object.defineProperty(stdout, 'rows', { value: size.rows, configurable: true });
    stdout.emit('resize');
  }
  return screen;
}

async function until(screen: Screen, ok: (frame: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 800; i++) {
    const frame = screen.lastFrame() ?? '';
    if (ok(frame)) return frame;
    await delay(10);
  }
  assert.fail(`timed out waiting for ${what}; the screen shows:\n${screen.lastFrame()}`);
}

/** Writes `data` as one read on the terminal (several keys at once, as a fast typist or key repeat sends them). */
async function send(screen: Screen, data: string): Promise<void> {
  await delay(30);
  screen.stdin.write(data);
  await delay(30);
}

/** The id of the event in the detail pane (the selected one). */
function selected(frame: string): number {
  const m = /^Event (\d+): /m.exec(frame);
  assert.ok(m, `an event is selected:\n${frame}`);
  return Number(m[1]);
}

const all = (b: Bundle, limit: number): EventRecord[] => [...b.events({ limit })];

test('keys in one read are all handled, in order: jj moves 2, 40 ↓ in one read move 40 across pages', async () => {
  const ids = all(demo, 200).map((e) => e.id);
  const screen = start(demo, 'events');
  try {
    await until(screen, (f) => f.includes('(first page)'), 'the first page');
    await send(screen, 'jj');
    await until(screen, (f) => selected(f) === ids[2], 'jj in one read moved two rows');
    await send(screen, KEY.down.repeat(40));
    await until(screen, (f) => selected(f) === ids[42], '40 ↓ in one read moved 40 rows (past the end of the page)');
    await send(screen, 'kjk');
    await until(screen, (f) => selected(f) === ids[41], 'k j k in one read: up, down, up');
    // A key repeat at 30 ms: one read per key while the screen redraws.
    for (let i = 0; i < 40; i++) {
      screen.stdin.write(KEY.down);
      await delay(30);
    }
    await until(screen, (f) => selected(f) === ids[81], '40 presses at 30 ms moved 40');
  } finally {
    screen.unmount();
  }
});

test('a key and Enter in one read open the finding the key moved to', async () => {
  const second = explain(demo).findings[1]!;
  const screen = start(demo);
  try {
    await until(screen, (f) => f.includes('findings:'), 'the findings list');
    await send(screen, `j${KEY.enter}`);
    const frame = await until(screen, (f) => f.includes('Root cause'), 'the finding detail');
    assert.ok(frame.includes(`[${second.severity}] ${second.kind}`), `the second finding opened:\n${frame}`);
  } finally {
    screen.unmount();
  }
});

test('/ filters Events by op, pid and minimum duration; an empty filter clears it', async () => {
  const op = 'sched_switch';
  const opId = demo.opIdsByName(op)[0]!;
  const first = [...demo.events({ opIds: [opId], minDurNs: 5e6, limit: 1 })][0]!;
  const expected = [...demo.events({ opIds: [opId], pids: [first.pid], minDurNs: 5e6, limit: 200 })].map((e) => e.id);
  const screen = start(demo, 'events');
  try {
    await until(screen, (f) => f.includes('(first page)'), 'Events');
    await send(screen, `/op:sched pid:${first.pid} >5ms${KEY.enter}`);
    const frame = await until(screen, (f) => f.includes(`Events of ${op}, pid`) || f.includes(`Events of ${op} · /op:sched`), 'the filtered list');
    assert.equal(selected(frame), expected[0], 'the first event that matches');
    const rows = frame.split('\n').filter((l) => /^\s+\d+ +\d+\.\d{6} s/.test(l));
    assert.ok(rows.length > 5);
    assert.deepEqual(rows.map((l) => Number(l.trim().split(/\s+/)[0])), expected.slice(0, rows.length), 'exactly the matching events, in order');
    await send(screen, KEY.end);
    const last = [...demo.events({ opIds: [opId], pids: [first.pid], minDurNs: 5e6, order: 'latest', limit: 1 })][0]!;
    await until(screen, (f) => selected(f) === last.id && f.includes('(last page)'), 'End goes to the last matching event');
    await send(screen, `/${KEY.ctrlU}${KEY.enter}`);
    await until(screen, (f) => f.includes('Events of all ops:'), 'an empty filter clears it');
    await send(screen, `/pid:x${KEY.enter}`);
    await until(screen, (f) => f.includes('pid: takes a number'), 'a bad filter says why and stays open');
    await send(screen, KEY.escape);
  } finally {
    screen.unmount();
  }
});

test('/ filters the Findings and Ops lists', async () => {
  const report = explain(demo);
  const f = report.findings.find((x) => x.op)!;
  const screen = start(demo);
  try {
    await until(screen, (fr) => fr.includes('findings:'), 'Findings');
    await send(screen, `/${f.kind}${KEY.enter}`);
    const frame = await until(screen, (fr) => fr.includes(`match /${f.kind}`), 'filtered findings');
    const listed = frame.split('\n').filter((l) => /^ ?\d+\. /.test(l));
    assert.equal(listed.length, report.findings.filter((x) => x.kind.includes(f.kind) || x.summary.toLowerCase().includes(f.kind)).length);
    assert.ok(listed.every((l) => l.includes(f.kind)));
    await send(screen, `2/op:cudaMem${KEY.enter}`);
    const ops = await until(screen, (fr) => fr.includes('rows match /op:cudaMem'), 'filtered ops');
    const rows = ops.split('\n').filter((l) => /^cuda/.test(l));
    assert.ok(rows.length >= 1 && rows.every((l) => l.startsWith('cudaMem')), ops);
  } finally {
    screen.unmount();
  }
});

test('g jumps to a time on the bundle clock, an event id, first and last', async () => {
  const events = all(demo, 1e9);
  const t = 13.37e9;
  const atTime = events.find((e) => e.ts_ns >= t)!;
  const middle = events[Math.floor(events.length / 2)]!;
  const screen = start(demo, 'events');
  try {
    await until(screen, (f) => f.includes('(first page)'), 'Events');
    await send(screen, `g13.37s${KEY.enter}`);
    await until(screen, (f) => selected(f) === atTime.id, 'the first event at or after 13.37 s');
    await send(screen, `:#${middle.id}${KEY.enter}`);
    await until(screen, (f) => selected(f) === middle.id, `event ${middle.id}`);
    await send(screen, `glast${KEY.enter}`);
    await until(screen, (f) => selected(f) === events[events.length - 1]!.id, 'the last event');
    await send(screen, `gfirst${KEY.enter}`);
    await until(screen, (f) => selected(f) === events[0]!.id, 'the first event');
    await send(screen, `g${events.length + 10}${KEY.enter}`);
    await until(screen, (f) => f.includes(`at or after event ${events.length + 10}`), 'an id past the end says so');
    await send(screen, `gsoon${KEY.enter}`);
    await until(screen, (f) => f.includes('not a time, an event id'), 'a bad target says why');
    await send(screen, KEY.escape);
    // ↑ in the prompt gives the last jump back.
    await send(screen, `g${KEY.up}`);
    await until(screen, (f) => f.includes(`jump to: ${events.length + 10}`), 'jump history');
  } finally {
    screen.unmount();
  }
});

test('Enter on a finding opens its evidence events in Events, positioned on them (n goes to the next)', async () => {
  // The flagship's top finding (a throughput drop from complete counts) cites the stored forks
  // and off-CPU stretches inside the drop.
  const report = explain(investigation);
  assert.ok(report.findings[0]!.evidence.some((e) => e.event_ids?.length), 'the investigation\'s top finding names events');
  const ids = report.findings[0]!.evidence.flatMap((e) => e.event_ids ?? []);
  const screen = start(investigation);
  try {
    await until(screen, (f) => f.includes('findings:'), 'Findings');
    await send(screen, KEY.enter);
    await until(screen, (f) => f.includes('Enter opens the'), 'the finding detail');
    await send(screen, KEY.enter);
    const frame = await until(screen, (f) => f.includes('Events of'), 'Events');
    assert.equal(selected(frame), Math.min(...ids), 'positioned on the evidence event');
    assert.match(frame, new RegExp(`^\\*\\s+${Math.min(...ids)} `, 'm'), 'marked *');
  } finally {
    screen.unmount();
  }

  const demoReport = explain(demo);
  const many = demoReport.findings.find((f) => f.evidence.some((e) => (e.event_ids?.length ?? 0) > 1))!;
  const demoIds = [...new Set(many.evidence.flatMap((e) => e.event_ids ?? []))].sort((a, b) => a - b);
  const s2 = start(demo);
  try {
    await until(s2, (f) => f.includes('findings:'), 'Findings');
    await send(s2, `${'j'.repeat(demoReport.findings.indexOf(many))}${KEY.enter}`);
    await until(s2, (f) => f.includes('Enter opens the'), 'the finding detail');
    await send(s2, KEY.enter);
    const frame = await until(s2, (f) => f.includes('Events of') && selected(f) === demoIds[0], 'the first evidence event');
    assert.match(frame, new RegExp(`^\\*\\s+${demoIds[0]} `, 'm'), 'marked *');
    await send(s2, 'n');
    await until(s2, (f) => selected(f) === demoIds[1], 'n: the next evidence event');
    await send(s2, 'N');
    await until(s2, (f) => selected(f) === demoIds[0], 'N: back');
  } finally {
    s2.unmount();
  }
});

test('SQL console: a query in a scrollable table, errors in one line, history on ↑', async () => {
  const expected = demo.db.prepare('SELECT op_id, count(*) AS n FROM events GROUP BY op_id ORDER BY n DESC').all() as { op_id: number; n: number }[];
  const screen = start(demo, 'sql');
  try {
    await until(screen, (f) => f.includes('SQL>'), 'the SQL console');
    // q and digits are text while typing.
    await send(screen, `SELECT op_id, count(*) AS n FROM events GROUP BY op_id ORDER BY n DESC${KEY.enter}`);
    const frame = await until(screen, (f) => /\d+ rows? in \d+ ms/.test(f), 'the result');
    assert.ok(frame.includes(`${expected.length} row${expected.length === 1 ? '' : 's'} in`));
    const rows = frame.split('\n').filter((l) => /^\s*\d+\s+\d+\s*$/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
    assert.deepEqual(rows, expected.map((r) => [r.op_id, r.n]), 'the rows SQLite returns');
    await send(screen, `${KEY.ctrlU}DELETE FROM events${KEY.enter}`);
    await until(screen, (f) => /only read-only queries are accepted/.test(f), 'a write is refused');
    assert.equal((demo.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, demo.eventCount(), 'nothing was deleted');
    await send(screen, `${KEY.ctrlU}SELECT * FROM no_such_table${KEY.enter}`);
    await until(screen, (f) => f.includes('SQL error'), 'a syntax error');
    await send(screen, KEY.up);
    await until(screen, (f) => f.includes('SQL> SELECT * FROM no_such_table'), '↑: the last statement');
    await send(screen, KEY.up + KEY.up);
    await until(screen, (f) => f.includes('SQL> SELECT op_id, count(*)'), '↑↑: the first statement');
    await send(screen, KEY.escape);
    await until(screen, (f) => f.includes('i or Enter edits'), 'Esc leaves the line');
    await send(screen, '1');
    await until(screen, (f) => f.includes('findings:') || f.includes('Analysing'), 'digits switch views again');
  } finally {
    screen.unmount();
  }
});

test('a query that outlives the time limit is stopped (its process killed)', async () => {
  const t0 = performance.now();
  const job = startStatement(demo.databasePath, 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r', { ...SQL_LIMITS, timeoutMs: 800 });
  const reply = await job.done;
  assert.equal(reply.ok, false);
  assert.match(!reply.ok ? reply.error : '', /800 ms|0\.8 s/, !reply.ok ? reply.error : '');
  assert.ok(performance.now() - t0 < 5000, 'it came back soon after the limit');
});

test('? lists every key of every view, and the keys that work everywhere', async () => {
  const screen = start(demo, 'findings', { columns: 160, rows: 60 });
  try {
    for (const [i, v] of VIEWS.entries()) {
      if (i > 0) await send(screen, String(i + 1));
      if (v.id === 'sql') await send(screen, KEY.escape);
      await send(screen, '?');
      const help = await until(screen, (f) => f.includes('Keys everywhere'), `help in ${v.title}`);
      for (const [k] of [...GLOBAL_KEYS, ...v.help]) assert.ok(help.includes(`  ${k}`), `${v.title} help lists ${k}`);
      if (v.filters) assert.ok(help.includes('/ '), `${v.title} help names its filter`);
      await send(screen, '?');
      await until(screen, (f) => !f.includes('Keys everywhere'), 'help closed');
    }
  } finally {
    screen.unmount();
  }
});

test('80×24: op names stay apart (cut in the middle), lines fit; 120×40 uses the width', async () => {
  const names = [...investigation.ops().values()].map((o) => o.name);
  for (const size of [
    { columns: 80, rows: 24 },
    { columns: 120, rows: 40 },
  ]) {
    const screen = start(investigation, 'ops', size);
    try {
      const frame = await until(screen, (f) => f.includes('sorted by total') && f.split('\n').length <= size.rows, `Ops at ${size.columns}×${size.rows}`);
      for (const l of frame.split('\n')) assert.ok(l.length <= size.columns, `fits: ${l}`);
      const cells = frame.split('\n').filter((l) => names.some((n) => l.startsWith(n.slice(0, 4)))).map((l) => l.split(/\s{2,}/)[0]!);
      assert.ok(cells.length >= 8, frame);
      assert.equal(new Set(cells).size, cells.length, `every op reads differently:\n${cells.join('\n')}`);
      for (const c of cells) assert.ok(names.includes(c) || c.includes('…'), `a whole name or one cut in the middle: ${c}`);
      if (size.columns >= 120) for (const c of cells) assert.ok(names.includes(c), `at 120 columns names are whole: ${c}`);
    } finally {
      screen.unmount();
    }
  }
});

test('units: fitMiddle keeps both ends; NO_COLOR and mono terminals turn colour off', () => {
  assert.equal(fitMiddle('cudaStreamSynchronize', 15), 'cudaStr…hronize');
  assert.notEqual(fitMiddle('cudaStreamSynchronize', 12), fitMiddle('cudaStreamWaitEvent', 12));
  assert.equal(fitMiddle('short', 10), 'short');
  const tty = { isTTY: true, getColorDepth: () => 8 };
  assert.equal(colourWanted(tty, { TERM: 'xterm-256color' }), true);
  assert.equal(colourWanted(tty, { TERM: 'xterm-256color', NO_COLOR: '1' }), false);
  assert.equal(colourWanted(tty, { TERM: 'xterm-256color', NO_COLOR: '' }), true, 'an empty NO_COLOR is unset, as explain reads it');
  assert.equal(colourWanted(tty, { TERM: 'dumb' }), false);
  assert.equal(colourWanted(tty, { TERM: 'xterm-mono' }), false);
  assert.equal(colourWanted({ isTTY: true, getColorDepth: () => 1 }, { TERM: 'vt100' }), false);
});

test('Events shows arguments decoded as the export does (memcpy kind by name)', async () => {
  const memcpy = demo.opIdsByName('cudaMemcpyAsync')[0]!;
  const e = [...demo.events({ opIds: [memcpy], limit: 1 })][0]!;
  const screen = start(demo, 'events');
  try {
    await until(screen, (f) => f.includes('(first page)'), 'Events');
    await send(screen, `g${e.id}${KEY.enter}`);
    const frame = await until(screen, (f) => selected(f) === e.id, 'the memcpy event');
    assert.match(frame, /kind=(H2D|D2H|H2H|D2D|default)\b/, `the kind by name:\n${frame}`);
    assert.doesNotMatch(frame, /kind=\d/);
  } finally {
    screen.unmount();
  }
});

// ingero tui, the pure pieces: text fitting, list windows, bar charts, the bounded query memo.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { barChart } from '../tui/bar-chart.ts';
import { windowStart } from '../tui/scroll-list.tsx';
import { fit, wrap } from '../tui/text.ts';
import { eventListQuery, eventsFrom } from '../tui/event-list.ts';
import { NO_FILTER } from '../tui/list-filter.ts';
import { TraceContext } from '../tui/trace-context.ts';
import { computeStats } from '../analyze/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-units-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));
import { openBundle } from '../format/index.ts';

test('fit cuts to the width with an ellipsis and never lets control or bidi characters through', () => {
  assert.equal(fit('cudaMalloc', 20), 'cudaMalloc');
  assert.equal(fit('cudaMemcpyAsync', 8), 'cudaMem…');
  assert.equal(fit('a\u001b[2Jb\u202ec', 10), 'a\uFFFD[2Jb\uFFFDc');
});

test('wrap keeps words whole, indents continuation lines and keeps a leading indent', () => {
  assert.deepEqual(wrap('  - one two three four', 12, '    '), ['  - one two', '    three', '    four']);
  for (const l of wrap('x'.repeat(30) + ' y', 10)) assert.ok(l.length <= 10);
});

test('windowStart keeps the cursor visible near the middle, within the list', () => {
  assert.equal(windowStart(0, 100, 10), 0);
  assert.equal(windowStart(50, 100, 10), 45);
  assert.equal(windowStart(99, 100, 10), 90);
  assert.equal(windowStart(3, 5, 10), 0);
});

test('barChart: one column per value, scaled to the largest, non-zero values visible', () => {
  const lines = barChart([0, 1, 8, 100], 2);
  assert.equal(lines.length, 2);
  for (const l of lines) assert.equal([...l].length, 4);
  assert.equal(lines[1]![0], ' ', 'zero draws nothing');
  assert.notEqual(lines[1]![1], ' ', 'a small value still shows');
  assert.equal(lines[0]![3], '█', 'the largest fills the column');
});

test('the query memo keeps only recent results, so paging through a big bundle stays bounded', () => {
  const bundle = openBundle(new URL('../investigations/pytorch-dataloader-starvation.ingero', import.meta.url).pathname);
  try {
    const trace = new TraceContext(bundle);
    const q = eventListQuery(trace, { opId: null, finding: null }, false, NO_FILTER);
    const pages: number[][] = [];
    for (let from = 0, page = 0; page < 300; page++) {
      const ids = eventsFrom(trace, q, from, 10).map((e) => e.id);
      pages.push(ids);
      from = ids[ids.length - 1]! + 1;
    }
    assert.deepEqual(pages.flat(), Array.from({ length: 3000 }, (_, i) => i + 1), 'pages follow each other in id order');
    const key = (from: number) => `events:${q.key}:from:${from}:10`;
    assert.ok(trace.has(key(pages[299]![0]!)) && !trace.has(key(0)), 'old pages are dropped');
    let computed = 0;
    trace.cached(key(pages[299]![0]!), () => ++computed);
    assert.equal(computed, 0, 'a recent page is not read again');
  } finally {
    bundle.close();
  }
});

test("with the analysis's stats, a list's reads are kept to its ops' and processes' span: the same events, the same key", () => {
  const bundle = openBundle(new URL('../investigations/pytorch-dataloader-starvation.ingero', import.meta.url).pathname);
  try {
    const trace = new TraceContext(bundle);
    const stats = computeStats(bundle);
    const all = (q: ReturnType<typeof eventListQuery>) => eventsFrom(trace, q, 0, 1e9).map((e) => e.id);
    const pids = [...new Set(stats.by_process.map((g) => g.pid))];
    const cases = [
      ...stats.ops.map((o) => ({ opId: o.op_id, filter: NO_FILTER })),
      { opId: null, filter: { ...NO_FILTER, text: `pid:${pids[1]}`, pids: [pids[1]!] } },
      { opId: stats.ops[0]!.op_id, filter: { ...NO_FILTER, text: 'pid:999999', pids: [999_999] } },
    ];
    for (const c of cases) {
      const scope = { opId: c.opId, finding: null };
      const plain = eventListQuery(trace, scope, false, c.filter);
      const bounded = eventListQuery(new TraceContext(bundle), scope, false, c.filter, stats);
      assert.equal(bounded.key, plain.key, 'the bound does not change the list');
      const expected = bundle.db.prepare(`SELECT id FROM events WHERE ${bundle.eventWhere(plain.filter).sql} ORDER BY id`).pluck().all(...bundle.eventWhere(plain.filter).params) as number[];
      assert.deepEqual(all(plain), expected);
      assert.deepEqual(eventsFrom(new TraceContext(bundle), bounded, 0, 1e9).map((e) => e.id), expected, `${c.filter.text || bundle.opName(c.opId!)}: the same events`);
      if (c.opId !== null && c.filter === NO_FILTER) {
        const o = stats.ops.find((s) => s.op_id === c.opId)!;
        assert.equal(bounded.filter.fromNs, o.first_ns, 'reads start at the op\'s first event');
      }
    }
  } finally {
    bundle.close();
  }
});

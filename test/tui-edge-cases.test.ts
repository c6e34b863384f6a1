// ingero tui on edge-case bundles (empty, unnamed processes, raw-address stacks, events at one
// instant): every view renders something sensible, never NaN, undefined or a cut-off number.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { timeline } from '../analyze/index.ts';
import { BundleWriter, opId, openBundle, type Bundle } from '../format/index.ts';
import { App } from '../tui/app.tsx';
import { TraceContext } from '../tui/trace-context.ts';
import { VIEW_IDS } from '../tui/view-ids.ts';
import { axisLabel } from '../tui/views/timeline-view.tsx';

const work = mkdtempSync(join(tmpdir(), 'ingero-tui-edge-'));
process.env.INGERO_CACHE_DIR = join(work, 'cache');
const bundles: Record<string, Bundle> = {};

const MEMCPY = opId('cudaMemcpy');
const FILL: Record<string, (w: BundleWriter) => void> = {
  empty: () => {},
  // pid 100 on two nodes, both named python3: only the node tells them apart.
  'two-nodes': (w) => {
    w.addNode(1, 'node-b');
    for (const node_id of [0, 1]) w.addProcess({ node_id, pid: 100, comm: 'python3' });
    for (let i = 0; i < 50; i++) for (const node_id of [0, 1]) w.appendEvent({ node_id, ts_ns: i * 1e6, dur_ns: (node_id + 1) * 1e4, pid: 100, tid: 100, op_id: MEMCPY, arg0: 1024, arg1: 1 });
  },
  // 3000 calls of an unnamed process at one instant, with stacks of raw addresses only.
  'one-instant': (w) => {
    const raw = w.internStack([{ kind: 'native', address: 0xdeadbeefn }, { kind: 'native', address: 0x1234n, mapping: { path: '/lib/x.so' } }, { kind: 'native' }]);
    for (let i = 0; i < 3000; i++) w.appendEvent({ ts_ns: 1000, dur_ns: i % 100 === 0 ? 1e7 : 1e4, pid: 7, tid: 7, op_id: MEMCPY, arg0: 1024, arg1: 1, stack_id: raw });
  },
};

before(async () => {
  for (const [name, fill] of Object.entries(FILL)) {
    const path = join(work, `${name}.ingero`);
    const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'ingero', version: '0', command: 'tui edge cases' }, nodeName: 'node-a' });
    fill(w);
    await w.seal();
    bundles[name] = openBundle(path);
  }
});

after(() => {
  for (const b of Object.values(bundles)) b.close();
  rmSync(work, { recursive: true, force: true });
});

/** The frame of a view once the background analysis is done and the view has settled (after `keys`). */
async function frameOf(bundle: Bundle, view: string, keys: readonly string[] = []): Promise<string> {
  const screen = render(createElement(App, { trace: new TraceContext(bundle), initialView: view }));
  try {
    for (let i = 0; i < 600; i++) {
      const f = screen.lastFrame() ?? '';
      if (f && !f.split('\n')[0]!.includes('analysing') && !/Computing/.test(f)) break;
      await delay(10);
    }
    for (const key of keys) {
      await delay(25);
      screen.stdin.write(key);
    }
    await delay(50);
    return screen.lastFrame() ?? '';
  } finally {
    screen.unmount();
  }
}

test('every view of an empty bundle and of events at one instant renders without NaN or undefined', async () => {
  for (const [name, bundle] of Object.entries(bundles)) {
    for (const view of VIEW_IDS) {
      const frame = await frameOf(bundle, view);
      assert.ok(frame.length > 0, `${name} ${view}`);
      assert.doesNotMatch(frame, /NaN|Infinity|undefined|\bnull\b|-\d+(\.\d+)?%/, `${name} ${view}:\n${frame}`);
    }
  }
});

test('a finding about an unnamed process says so, and raw-address frames show their addresses', async () => {
  const findings = await frameOf(bundles['one-instant']!, 'findings');
  assert.match(findings, /unnamed process \(pid 7\)/);
  assert.doesNotMatch(findings, /\bpid \(pid 7\)/);
  const stacks = await frameOf(bundles['one-instant']!, 'stacks');
  assert.match(stacks, /0xdeadbeef/);
  assert.match(stacks, /0x1234 +x\.so/);
});

test('the timeline axis shows the peak whole, however large', async () => {
  const t = timeline(bundles['one-instant']!, { opIds: [MEMCPY], windowNs: 112 });
  const peak = Math.max(...t.series[0]!.points.map((p) => p.rate_per_s));
  assert.ok(peak > 1e9, `peak rate ${peak}`);
  assert.equal(axisLabel(8_899_964.4, 'rate'), '8.9M/s');
  assert.equal(axisLabel(99_999, 'rate'), '99,999/s');
  assert.equal(axisLabel(135e9, 'busy'), '2.3 min');
  const frame = await frameOf(bundles['one-instant']!, 'timeline');
  const top = frame.split('\n').find((l) => /\/s █/.test(l)) ?? '';
  assert.match(top, /^ *\d+(\.\d)?[KMBT]\/s █/, `axis label of the peak rate:\n${frame}`);
});

test('per-process ops name the node when the same pid runs on two nodes', async () => {
  const frame = await frameOf(bundles['two-nodes']!, 'ops', ['p']);
  assert.match(frame, /NODE +PID +PROCESS/, frame);
  assert.match(frame, /node-a +100 python3 .* 10\.0 µs/);
  assert.match(frame, /node-b +100 python3 .* 20\.0 µs/);
});

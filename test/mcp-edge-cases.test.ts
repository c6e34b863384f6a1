// ingero mcp over stdio on edge-case bundles: an empty bundle, a host-only capture that lost
// events, and one pid on two nodes. Every tool answers (no error, no NaN), the loss is said even
// with nothing found, and per-process answers keep the nodes apart.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BundleWriter, opId } from '../format/index.ts';
import { connectStdio, resultParts, type StdioServer } from './mcp-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ingero-mcp-edge-'));
const bundles = join(dir, 'bundles');
let server: StdioServer;

const FILL: Record<string, (w: BundleWriter) => void> = {
  empty: () => {},
  'one-instant': (w) => {
    for (let i = 0; i < 5; i++) w.appendEvent({ ts_ns: 1000, dur_ns: 0, pid: 1, tid: 1, op_id: opId('cudaLaunchKernel') });
  },
  'host-only-lossy': (w) => {
    for (let i = 0; i < 200; i++) w.appendEvent({ ts_ns: i * 1e6, dur_ns: 1e5, pid: 10, tid: 10, op_id: opId('sched_switch'), arg0: 99, arg1: 99, arg2: 0 });
    w.addCaptureLoss({ probe: 'ringbuf', emitted: 1200, dropped: 1000 });
  },
  'two-nodes': (w) => {
    w.addNode(1, 'node-b');
    w.addProcess({ node_id: 0, pid: 100, comm: 'trainA' });
    w.addProcess({ node_id: 1, pid: 100, comm: 'trainB' });
    // Each node's calls carry a stack of its own; node-b synchronizes 90% of the time (a sync-stall finding).
    const stacks = ['stepOnA', 'stepOnB'].map((name) => w.internStack([{ kind: 'native', address: 0x1000n, function: { name } }]));
    for (let i = 0; i < 100; i++) {
      for (const node_id of [0, 1]) {
        w.appendEvent({ node_id, ts_ns: i * 1e6, dur_ns: (node_id + 1) * 1e4, pid: 100, tid: 100, op_id: opId('cudaLaunchKernel') });
        w.appendEvent({ node_id, ts_ns: i * 1e6 + 5e4, dur_ns: node_id ? 9e5 : 1e4, pid: 100, tid: 100, op_id: opId('cudaStreamSynchronize'), stack_id: stacks[node_id] });
      }
    }
  },
};

async function call(bundle: string, name: string, args: Record<string, unknown> = {}) {
  const r = resultParts(await server.client.callTool({ name, arguments: { bundle: `${bundle}.ingero`, ...args } }));
  assert.equal(r.isError, false, `${bundle} ${name}: ${r.text}`);
  assert.doesNotMatch(r.text, /NaN|Infinity|undefined/, `${bundle} ${name}`);
  return r.data;
}

before(async () => {
  mkdirSync(bundles);
  for (const [name, fill] of Object.entries(FILL)) {
    const w = BundleWriter.create(join(bundles, `${name}.ingero`), { originUnixNs: 1n, producer: { name: 'ingero', version: '0', command: 'mcp edge cases' }, nodeName: 'node-a' });
    fill(w);
    await w.seal();
  }
  server = await connectStdio(['--dir', bundles, '--audit-log', join(dir, 'audit.jsonl')], { INGERO_CACHE_DIR: join(dir, 'cache') });
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingero mcp on edge-case bundles', () => {
  it('answers every summary tool for an empty bundle', async () => {
    for (const tool of ['get_bundle_info', 'get_trace_stats', 'get_causal_chains', 'list_processes', 'list_events', 'get_stacks', 'get_timeline']) await call('empty', tool);
    const stats = await call('empty', 'get_trace_stats');
    assert.deepEqual([stats.events, stats.span_ns, (stats.ops as unknown[]).length], [0, 0, 0]);
  });

  it('gives no rate for a recording that spans no time', async () => {
    const stats = await call('one-instant', 'get_trace_stats', { detail: 'full' });
    assert.equal(stats.span_ns, 0);
    assert.deepEqual((stats.ops as { count: number; rate_per_s: number }[]).map((o) => [o.count, o.rate_per_s]), [[5, 0]]);
  });

  it('says that events were lost even when there is nothing to find', async () => {
    const chains = await call('host-only-lossy', 'get_causal_chains');
    assert.equal(chains.total_findings, 0);
    assert.ok((chains.limitations as string[]).some((l) => /^1000 events were dropped during capture/.test(l)), JSON.stringify(chains.limitations));
  });

  it('keeps the same pid on two nodes apart', async () => {
    const stats = await call('two-nodes', 'get_trace_stats', { pid: 100, ops: ['cudaLaunchKernel'] });
    const rows = (stats.by_process as { node: string; process: string; p50_ns: number }[]).map((r) => [r.node, r.process, r.p50_ns]);
    assert.deepEqual(rows, [['node-a', 'trainA', 1e4], ['node-b', 'trainB', 2e4]]);
    const procs = (await call('two-nodes', 'list_processes')).processes as { node_id: number; pid: number; comm: string }[];
    assert.deepEqual(procs.map((p) => [p.node_id, p.pid, p.comm]).sort(), [[0, 100, 'trainA'], [1, 100, 'trainB']]);
    const events = (await call('two-nodes', 'list_events', { pid: 100, node_id: 1, limit: 500 })).events as { node_id: number }[];
    assert.deepEqual([events.length, new Set(events.map((e) => e.node_id))], [200, new Set([1])]);
    const series = (await call('two-nodes', 'get_timeline', { pid: 100, node_id: 0, ops: ['cudaLaunchKernel'], detail: 'full' })).series as { points: { count: number }[] }[];
    assert.equal(series[0]!.points.reduce((n, p) => n + p.count, 0), 100);
  });

  it("a finding's stacks come from its own node", async () => {
    const chains = await call('two-nodes', 'get_causal_chains', { kind: ['sync-stall'] });
    assert.deepEqual((chains.findings as { id: string }[]).map((f) => f.id), ['sync-stall:1:100:cudaStreamSynchronize']);
    assert.equal((await call('two-nodes', 'get_causal_chains', { pid: 100, node_id: 0 })).matching, 0);
    const stacks = (await call('two-nodes', 'get_stacks', { finding_id: 'sync-stall:1:100:cudaStreamSynchronize' })).stacks as { count: number; frames: { function: string }[] }[];
    assert.deepEqual(stacks.map((x) => [x.frames[0]!.function, x.count]), [['stepOnB', 100]]);
    const byNode = (await call('two-nodes', 'get_stacks', { op: 'cudaStreamSynchronize', pid: 100, node_id: 0 })).stacks as { frames: { function: string }[] }[];
    assert.deepEqual(byNode.map((x) => x.frames[0]!.function), ['stepOnA']);
  });
});

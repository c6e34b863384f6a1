// The summary (stats, findings, stacks, timeline, default stalls and thread activity) is computed in a child process while the server
// keeps answering: tools that need it ask the agent to retry after the wait limit, the others
// answer at once, and once ready the summary answers match a direct computation.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeStats } from '../analyze/index.ts';
import { findStalls, threadActivity } from '../analyze/thread-activity.ts';
import { BundleRegistry, closeContext, createContext, createServer } from '../mcp/server.ts';
import type { ToolContext } from '../mcp/tool-kit.ts';
import { EVENTS, resultParts, writeHostileBundle } from './mcp-fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ingero-mcp-summary-'));
const bundlePath = join(dir, 'b.ingero');
let ctx: ToolContext;
let client: Client;

before(async () => {
  await writeHostileBundle(bundlePath);
  ctx = createContext(BundleRegistry.single(bundlePath, { cacheDir: join(dir, 'cache') }), { limits: { summaryWaitMs: 1 } });
  const server = createServer(ctx, { version: '0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  client = new Client({ name: 'summary-test', version: '0' });
  await client.connect(a);
});

after(async () => {
  await client?.close();
  if (ctx) closeContext(ctx);
  rmSync(dir, { recursive: true, force: true });
});

const call = async (name: string, args: Record<string, unknown> = {}) => resultParts(await client.callTool({ name, arguments: args }));

describe('summary computed in the background', () => {
  it('keeps answering while the analysis runs, and asks to retry the tools that need it', async () => {
    const stats = await call('get_trace_stats');
    assert.equal(stats.isError, true);
    assert.match(stats.text, /still running .*call again in a few seconds/);
    const stalls = await call('find_stalls');
    assert.equal(stalls.isError, true, 'the default stalls come with the summary');
    assert.match(stalls.text, /still running/);
    const fewer = await call('find_stalls', { limit: 2 });
    assert.equal(fewer.isError, false, 'other pages are computed per call, at once');
    const sql = await call('run_sql', { query: 'SELECT count(*) FROM events' });
    assert.deepEqual(sql.data.rows, [[EVENTS]]);
    const schema = await call('describe_schema', { table: 'events' });
    assert.equal(schema.isError, false);
    const [events] = schema.data.tables as { name: string; description: string; columns: { name: string; unit: string; description: string }[] }[];
    assert.match(events!.description, /^One row per traced call or kernel event/, 'the table documentation read from the bundle\'s DDL');
    assert.deepEqual(events!.columns.find((c) => c.name === 'dur_ns')?.unit, 'ns');
    assert.ok(events!.columns.every((c) => c.description !== '(not documented)'), 'every column documented');
  });

  it('answers from the summary once ready, with the same numbers as the analyzer', async () => {
    const served = ctx.registry.get(undefined);
    await served.startSummary();
    const stats = await call('get_trace_stats');
    assert.equal(stats.isError, false, stats.text);
    const direct = new Map(computeStats(served.bundle).ops.map((o) => [o.op, o]));
    const listed = stats.data.ops as { op: string; p99_ns: number; count: number }[];
    for (const op of ['cudaMemcpy', 'cudaLaunchKernel', 'cudaStreamSynchronize', 'sched_switch']) assert.ok(listed.some((o) => o.op === op), op);
    for (const o of listed) {
      assert.equal(o.count, direct.get(o.op)?.count, o.op);
      assert.equal(o.p99_ns, direct.get(o.op)?.p99_ns, o.op);
    }
  });

  it('answers find_stalls and thread_activity by default from the summary, as computed alone from the table', async () => {
    const served = ctx.registry.get(undefined);
    await served.startSummary();
    const stalls = await call('find_stalls');
    assert.equal(stalls.isError, false, stalls.text);
    const direct = findStalls(served.bundle, { limit: 5 });
    assert.ok(direct.stalls.length > 0, 'the bundle has stalls to rank');
    const listed = stalls.data.stalls as { kind: string; event_id: number; from_ns: number; dur_ns: number }[];
    assert.deepEqual(listed.map((s) => [s.kind, s.event_id, s.from_ns, s.dur_ns]), direct.stalls.map((s) => [s.kind, s.event_id, s.from_ns, s.dur_ns]));
    const activity = await call('thread_activity');
    assert.equal(activity.isError, false, activity.text);
    const threads = threadActivity(served.bundle).threads;
    assert.ok(threads.length > 0, 'the bundle has GPU-feeding threads');
    // Names are left out: the server sanitizes traced strings.
    const numbers = (list: readonly { node_id: number; pid: number; tid: number; windows: unknown }[]) => JSON.parse(JSON.stringify(list.map((t) => [t.node_id, t.pid, t.tid, t.windows])));
    assert.deepEqual(numbers(activity.data.threads as never), numbers(threads.slice(0, 10)));
  });
});

// The summary (stats, findings, stacks, timeline) is computed in a child process while the server
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
});

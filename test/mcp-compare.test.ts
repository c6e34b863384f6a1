// compare_bundles over stdio against the real `ingero mcp --dir`, on two demo recordings whose
// difference is known (healthy vs sync-stall: a finding that exists only in sync-stall): the
// answer is ingero diff's, both ways round; names and ops it does not know are refused with the
// valid ones; max_rows bounds the result; a one-bundle server says how to serve two. The server
// checks every structuredContent against the tool's output shape before it sends it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { after, before, describe, it } from 'node:test';
import { diffSides, scenarioByName, summarizeSide, writeDemoBundle } from '../analyze/index.ts';
import { openBundle } from '../format/index.ts';
import { precompute } from '../mcp/precompute.ts';
import { DATA_PREAMBLE } from '../mcp/sanitize.ts';
import { BundleRegistry, closeContext, createContext, createServer } from '../mcp/server.ts';
import { connectStdio, resultParts, type StdioServer } from './mcp-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-mcp-compare-'));
const dir = join(work, 'bundles');
const env = { INGERO_CACHE_DIR: join(work, 'cache') };
const HEALTHY = 'healthy.ingero';
const STALL = 'sync-stall.ingero';
let server: StdioServer;

interface Change {
  op: string;
  process: string;
  verdict: string;
  p99_ratio: number | null;
  before: { events: number } | null;
  after: { events: number } | null;
}
interface FindingChange {
  status: string;
  kind: string;
  op: string;
}

async function compare(args: Record<string, unknown>, on: StdioServer = server) {
  return resultParts(await on.client.callTool({ name: 'compare_bundles', arguments: args }));
}

before(async () => {
  mkdirSync(dir);
  await writeDemoBundle(join(dir, HEALTHY), scenarioByName('healthy')!, { scale: 0.3 });
  await writeDemoBundle(join(dir, STALL), scenarioByName('sync-stall')!, { scale: 0.3 });
  server = await connectStdio(['--dir', dir, '--audit-log', join(work, 'audit.jsonl')], env);
  // The client validates structuredContent against the output schemas it read from tools/list.
  await server.client.listTools();
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('compare_bundles', () => {
  it('is listed read-only, without the output schema that cost 12 KB of every client context', async () => {
    const { tools } = await server.client.listTools();
    const tool = tools.find((t) => t.name === 'compare_bundles');
    assert.ok(tool, 'compare_bundles is not listed');
    assert.equal(tool.annotations?.readOnlyHint, true);
    assert.equal(tool.outputSchema, undefined);
    assert.deepEqual([...(tool.inputSchema.required ?? [])].sort(), ['after', 'before']);
  });

  it('healthy → sync-stall: the sync-stall finding is new, cudaDeviceSynchronize among the op rows, as ingero diff says', async () => {
    const r = await compare({ before: HEALTHY, after: STALL, max_rows: 200 });
    assert.equal(r.isError, false, r.text);
    assert.ok(r.text.startsWith(DATA_PREAMBLE + '\n'));
    assert.deepEqual(JSON.parse(r.text.slice(DATA_PREAMBLE.length + 1)), r.data, 'text copy differs from structuredContent');
    const findings = r.data.findings as FindingChange[];
    assert.equal(findings.find((f) => f.kind === 'sync-stall')?.status, 'new', JSON.stringify(findings));
    const ops = r.data.ops as Change[];
    assert.ok(ops.some((o) => o.op === 'cudaDeviceSynchronize'), `op rows: ${ops.map((o) => o.op).join(', ')}`);
    assert.equal((r.data.before as { bundle: string }).bundle, HEALTHY);
    assert.equal((r.data.after as { bundle: string }).bundle, STALL);
    assert.equal(r.data.truncated, false);

    // The same comparison as `ingero diff` computes from the bundles directly.
    const side = (name: string) => {
      const b = openBundle(join(dir, name), { cacheDir: env.INGERO_CACHE_DIR });
      try {
        return summarizeSide(b);
      } finally {
        b.close();
      }
    };
    const direct = diffSides(side(HEALTHY), side(STALL));
    assert.deepEqual(r.data.summary, direct.summary);
    assert.equal(r.data.total_ops, direct.ops.length);
    assert.deepEqual(ops.map((o) => [o.op, o.verdict, o.p99_ratio]), direct.ops.map((o) => [o.op, o.verdict, o.p99_ratio]), 'rows in diff order with its verdicts');
    assert.deepEqual(findings.map((f) => [f.status, f.kind, f.op]), direct.findings.map((f) => [f.status, f.kind, f.op]));
    assert.deepEqual(r.data.caveats, direct.caveats);
  });

  it('sync-stall → healthy: the finding is gone', async () => {
    const r = await compare({ before: STALL, after: HEALTHY });
    assert.equal(r.isError, false, r.text);
    assert.equal((r.data.findings as FindingChange[]).find((f) => f.kind === 'sync-stall')?.status, 'gone');
  });

  it('the same bundle twice: nothing changed', async () => {
    const r = await compare({ before: STALL, after: STALL, by_process: true });
    assert.equal(r.isError, false, r.text);
    const s = r.data.summary as { regressions: number; improvements: number };
    assert.equal(s.regressions + s.improvements, 0);
    assert.deepEqual(r.data.setup_changes, []);
    assert.ok((r.data.findings as FindingChange[]).every((f) => f.status === 'persisting'));
    const processes = r.data.processes as Change[];
    assert.ok(processes.length > 0, 'by_process gives process rows');
    assert.ok(processes.every((p) => p.process !== '' && p.p99_ratio === 1));
  });

  it('max_rows bounds the result and says what was left out', async () => {
    const full = await compare({ before: HEALTHY, after: STALL, by_process: true, max_rows: 200 });
    const small = await compare({ before: HEALTHY, after: STALL, by_process: true, max_rows: 1 });
    assert.equal(small.isError, false, small.text);
    assert.ok((full.data.total_ops as number) > 1);
    assert.equal((small.data.ops as Change[]).length, 1);
    assert.equal((small.data.processes as Change[]).length, 1);
    assert.deepEqual((small.data.ops as Change[])[0], (full.data.ops as Change[])[0], 'the largest change first');
    assert.equal(small.data.total_ops, full.data.total_ops);
    assert.equal(small.data.truncated, true);
    assert.match(small.data.note as string, /more op rows .*raise max_rows/);
    assert.ok(small.text.length < full.text.length / 2, `${small.text.length} bytes with max_rows 1, ${full.text.length} with 200`);
  });

  it('ops narrows rows and findings; an op in neither bundle is refused with the ops there are', async () => {
    const r = await compare({ before: HEALTHY, after: STALL, ops: ['cudaDeviceSynchronize'] });
    assert.equal(r.isError, false, r.text);
    assert.deepEqual((r.data.ops as Change[]).map((o) => o.op), ['cudaDeviceSynchronize']);
    assert.ok((r.data.findings as FindingChange[]).every((f) => f.op === 'cudaDeviceSynchronize'));
    const bad = await compare({ before: HEALTHY, after: STALL, ops: ['cudaNoSuchCall'] });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /"cudaNoSuchCall" is in neither bundle; ops: .*cudaLaunchKernel/);
  });

  it('an unknown bundle name is refused with the served names', async () => {
    for (const args of [{ before: 'nope.ingero', after: STALL }, { before: HEALTHY, after: '../etc/passwd' }]) {
      const r = await compare(args);
      assert.equal(r.isError, true, r.text);
      assert.match(r.text, /no bundle named .*served bundles: "healthy\.ingero", "sync-stall\.ingero"/);
    }
  });

  it('the compare_recordings prompt leads through compare_bundles to events and stacks of each bundle', async () => {
    const p = await server.client.getPrompt({ name: 'compare_recordings', arguments: { before: HEALTHY, after: STALL } });
    const text = (p.messages[0]!.content as { text: string }).text;
    assert.match(text, /compare_bundles before="healthy\.ingero" after="sync-stall\.ingero"/);
    assert.match(text, /list_events/);
    assert.match(text, /get_stacks/);
    assert.match(text, /must come from a tool result/);
  });

  it('a server on one bundle answers with how to serve two', async () => {
    const single = await connectStdio([join(dir, HEALTHY), '--audit-log', join(work, 'audit-single.jsonl')], env);
    try {
      const { tools } = await single.client.listTools();
      assert.ok(tools.some((t) => t.name === 'compare_bundles'));
      const r = await compare({ before: HEALTHY, after: HEALTHY }, single);
      assert.equal(r.isError, true);
      assert.match(r.text, /serves one bundle .*ingero mcp --dir DIR/);
    } finally {
      await single.close();
    }
  });

  it('a directory with one bundle asks for the other recording', async () => {
    const lone = join(work, 'lone');
    mkdirSync(lone);
    await writeDemoBundle(join(lone, HEALTHY), scenarioByName('healthy')!, { scale: 0.05 });
    const one = await connectStdio(['--dir', lone, '--audit-log', join(work, 'audit-lone.jsonl')], env);
    try {
      const r = await compare({ before: HEALTHY, after: STALL }, one);
      assert.equal(r.isError, true);
      assert.match(r.text, /holds one bundle, "healthy\.ingero"; copy the other recording/);
    } finally {
      await one.close();
    }
  });
});

describe('the diff side in the precomputed summary', () => {
  it('is what ingero diff summarizes, and survives the child → parent transfer', () => {
    const b = openBundle(join(dir, STALL), { cacheDir: env.INGERO_CACHE_DIR });
    try {
      const summary = precompute(b);
      const own = summarizeSide(b, { byProcess: true });
      assert.deepEqual(summary.side, own, 'built from the precomputed stats and findings, it equals a side computed from scratch');
      // The child sends the summary over IPC with structured clone ('advanced' serialization); the text copy is JSON.
      assert.deepEqual(deserialize(serialize(summary.side)), summary.side);
      const viaJson = JSON.parse(JSON.stringify(summary.side));
      assert.deepEqual(viaJson, summary.side);
      assert.deepEqual(diffSides(viaJson, viaJson, { byProcess: true }), diffSides(own, own, { byProcess: true }));
    } finally {
      b.close();
    }
  });
});

describe('compare_bundles while the summaries are computed', () => {
  it('asks to call again, naming the side, then answers', async () => {
    // A fresh cache: the bundles are opened (and their summaries started) by this call.
    const ctx = createContext(BundleRegistry.directory(dir, { cacheDir: join(work, 'cache-pending') }), { limits: { summaryWaitMs: 1 } });
    const client = new Client({ name: 'compare-pending', version: '0' });
    try {
      const [a, b] = InMemoryTransport.createLinkedPair();
      await createServer(ctx, { version: '0' }).connect(b);
      await client.connect(a);
      await client.listTools();
      const call = async () => resultParts(await client.callTool({ name: 'compare_bundles', arguments: { before: HEALTHY, after: STALL } }));
      const early = await call();
      assert.equal(early.isError, true);
      assert.match(early.text, /^compare_bundles: (before|after) bundle "[a-z-]+\.ingero": the analysis of this bundle .* is still running .*call again in a few seconds/);
      await Promise.all([HEALTHY, STALL].map((n) => ctx.registry.get(n).startSummary()));
      const ready = await call();
      assert.equal(ready.isError, false, ready.text);
      assert.equal((ready.data.findings as FindingChange[]).find((f) => f.kind === 'sync-stall')?.status, 'new');
    } finally {
      await client.close();
      closeContext(ctx);
    }
  });
});

// ingero mcp over stdio, driven by the SDK's own Client: tool contracts (annotations, schemas,
// structured + text results, errors that say how to fix the call), hostile strings, the run_sql
// safety layers, pagination, prompts, resources, the audit log, and an untouched bundle.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBundle } from '../format/index.ts';
import { DATA_PREAMBLE } from '../mcp/sanitize.ts';
import { connectStdio, EVENTS, HOSTILE, PID, resultParts, sha256File, writeHostileBundle, type StdioServer } from './mcp-fixtures.ts';

const INVISIBLE = /[\u0000-\u0009\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]|\uDB40[\uDC00-\uDDEF]/;

const dir = mkdtempSync(join(tmpdir(), 'ingero-mcp-'));
const bundlePath = join(dir, 'hostile.ingero');
const auditPath = join(dir, 'audit.jsonl');
const env = { INGERO_CACHE_DIR: join(dir, 'cache') };
let server: StdioServer;
let bundleSha = '';
let databaseSha = '';
let databasePath = '';

async function call(name: string, args: Record<string, unknown> = {}) {
  return resultParts(await server.client.callTool({ name, arguments: args }));
}

before(async () => {
  await writeHostileBundle(bundlePath);
  bundleSha = sha256File(bundlePath);
  const b = openBundle(bundlePath, { cacheDir: env.INGERO_CACHE_DIR });
  databasePath = b.databasePath;
  databaseSha = b.manifest.database.sha256;
  b.close();
  server = await connectStdio([bundlePath, '--audit-log', auditPath, '--sql-timeout-ms', '3000'], env);
});

after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const SELF_EXPLANATORY = new Set(['from_ns', 'to_ns', 'pid', 'tid', 'op', 'ops', 'severity', 'kind', 'kinds', 'event_id', 'min_dur_ns', 'order', 'by_process', 'radius_ns', 'query']);

describe('ingero mcp over stdio', () => {
  it('lists every tool read-only, with described inputs', async () => {
    const { tools } = await server.client.listTools();
    const names = tools.map((t) => t.name);
    for (const required of ['get_trace_stats', 'get_causal_chains', 'run_sql', 'get_stacks', 'list_events', 'describe_schema', 'get_timeline']) assert.ok(names.includes(required), `missing ${required}`);
    for (const t of tools) {
      assert.equal(t.annotations?.readOnlyHint, true, t.name);
      assert.equal(t.annotations?.destructiveHint, false, t.name);
      assert.equal(t.annotations?.openWorldHint, false, t.name);
      assert.ok((t.description ?? '').length > 40, `${t.name} is not described`);
      // Names that say what they are need no words of their own: every word costs every client context.
      for (const [param, schema] of Object.entries((t.inputSchema.properties ?? {}) as Record<string, { description?: string }>)) {
        assert.ok(schema.description || SELF_EXPLANATORY.has(param), `${t.name}.${param} has no description`);
      }
    }
  });

  it('answers every tool with structuredContent and a text copy behind the data preamble', async () => {
    for (const [name, args] of [
      ['list_bundles', {}],
      ['get_bundle_info', {}],
      ['get_trace_stats', { by_process: true }],
      ['get_causal_chains', {}],
      ['get_timeline', {}],
      ['get_timeline', { at_ns: 500_000_000, radius_ns: 100_000_000, ops: ['cudaMemcpy'] }],
      ['list_events', { limit: 5 }],
      ['get_stacks', { op: 'cudaMemcpy' }],
      ['list_processes', {}],
      ['describe_schema', {}],
      ['run_sql', { query: 'SELECT count(*) AS n FROM events' }],
    ] as const) {
      const r = await call(name, args);
      assert.equal(r.isError, false, `${name}: ${r.text}`);
      assert.ok(r.text.startsWith(DATA_PREAMBLE + '\n'), `${name} text lacks the preamble`);
      assert.deepEqual(JSON.parse(r.text.slice(DATA_PREAMBLE.length + 1)), r.data, `${name} text copy differs from structuredContent`);
    }
  });

  it('reports exact statistics from the bundle', async () => {
    const { data } = await call('get_trace_stats', { ops: ['cudaMemcpy'] });
    const memcpy = (data.ops as { op: string; count: number; max_ns: number; p50_ns: number }[])[0]!;
    assert.equal(memcpy.op, 'cudaMemcpy');
    assert.equal(memcpy.count, 2000);
    assert.equal(memcpy.max_ns, 9_000_000);
    const sql = await call('run_sql', { query: "SELECT count(*), max(dur_ns) FROM events JOIN ops ON ops.id = events.op_id WHERE ops.name = 'cudaMemcpy'" });
    assert.deepEqual(sql.data.rows, [[2000, 9_000_000]]);
  });

  it('keeps lists bounded when a bundle holds hundreds of unknown op codes', async () => {
    const brief = await call('get_trace_stats');
    assert.ok((brief.data.ops as unknown[]).length < 100, 'a default page holds what fits its budget');
    assert.ok((brief.data.notes as string[]).some((n) => /more ops with less total time are not listed; pass ops or detail=full/.test(n)));
    const stats = await call('get_trace_stats', { detail: 'full' });
    assert.equal((stats.data.ops as unknown[]).length, 100);
    assert.ok((stats.data.notes as string[]).some((n) => /more ops with less total time/.test(n)));
    const schema = await call('describe_schema', { include_ops: true });
    assert.equal((schema.data.ops as unknown[]).length, 300);
    assert.match(schema.data.note as string, /more ops/);
    assert.ok(stats.text.length < 100_000 && schema.text.length < 200_000);
  });

  it('strips control and bidi characters from every traced string and caps their length', async () => {
    const procs = await call('list_processes', { pid: PID });
    const p = (procs.data.processes as { comm: string; cmdline: string }[])[0]!;
    assert.doesNotMatch(p.comm, INVISIBLE);
    assert.match(p.comm, /ignore previous instructions/, 'the text stays visible as data');
    assert.ok(Buffer.byteLength(p.cmdline) <= 1024, 'cmdline is capped');
    assert.match(p.cmdline, /truncated, 60\d\d\d bytes in all/);
    const stacks = await call('get_stacks', { op: 'cudaMemcpy', limit: 5 });
    const frames = (stacks.data.stacks as { frames: { function: string; module: string }[] }[]).flatMap((s) => s.frames);
    assert.ok(frames.some((f) => f.function.includes('Ignore all prior rules')));
    for (const f of frames) {
      assert.doesNotMatch(f.function, INVISIBLE);
      assert.doesNotMatch(f.module, INVISIBLE);
    }
    const info = await call('get_bundle_info');
    const meta = info.data.metadata as Record<string, string>;
    assert.equal(meta['host.hostname'], 'gpu-boxhidden');
    assert.equal(meta['gpu.model'], 'visibletext');
    const chains = await call('get_causal_chains', { detail: 'full' });
    const imported = chains.data.imported_findings as { label: string; items: { summary: string; origin: string }[] };
    assert.equal(imported.items.length, 1);
    const brief = (await call('get_causal_chains')).data.imported_findings as { lines: string[]; items: unknown[] };
    assert.deepEqual([brief.lines.length, brief.items.length], [1, 0], 'one line each by default');
    assert.doesNotMatch(brief.lines[0]!, INVISIBLE);
    assert.doesNotMatch(imported.items[0]!.summary, INVISIBLE);
    assert.match(imported.label, /another tool/);
    const sql = await call('run_sql', { query: 'SELECT comm, cmdline FROM processes WHERE pid = ' + PID });
    const [comm, cmdline] = (sql.data.rows as string[][])[0]!;
    assert.doesNotMatch(comm!, INVISIBLE);
    assert.ok(Buffer.byteLength(cmdline!) <= 1024);
    // Nothing invisible survives anywhere in the text an agent reads.
    for (const r of [procs, stacks, info, chains, sql]) assert.doesNotMatch(r.text.replace(/\n/g, ''), INVISIBLE);
    assert.ok(!stacks.text.includes(HOSTILE.symbol));
  });

  it('refuses every write, attach, pragma and multi-statement attempt, and keeps serving', async () => {
    const attempts = [
      'DELETE FROM events',
      'DROP TABLE events',
      "ATTACH DATABASE '/tmp/x.db' AS x",
      'DETACH DATABASE main',
      'PRAGMA writable_schema = ON',
      'PRAGMA query_only = OFF',
      'EXPLAIN PRAGMA query_only = OFF',
      'SELECT 1; DROP TABLE events',
      'SELECT 1; DELETE FROM events',
      '/* harmless */ DELETE FROM events',
      '-- comment\nDROP TABLE events',
      'WITH x AS (SELECT 1) DELETE FROM events RETURNING *',
      'INSERT INTO metadata VALUES (\'k\', \'1\')',
      'UPDATE events SET dur_ns = 0',
      'CREATE TABLE t (x)',
      'CREATE TEMP TABLE t (x)',
      'VACUUM',
      "VACUUM INTO '/tmp/copy.db'",
      'BEGIN',
      'REINDEX',
      "SELECT load_extension('/tmp/evil.so')",
    ];
    for (const query of attempts) {
      const r = await call('run_sql', { query });
      assert.equal(r.isError, true, `${JSON.stringify(query)} was not refused: ${r.text}`);
      assert.match(r.text, /^run_sql: /);
    }
    const after = await call('run_sql', { query: 'SELECT count(*) FROM events' });
    assert.deepEqual(after.data.rows, [[EVENTS]]);
    const q = await call('run_sql', { query: 'SELECT * FROM pragma_query_only' });
    assert.deepEqual(q.data.rows, [[1]], 'the connection is still query_only');
  });

  it('stops a runaway query within 5 s and answers the next call', async () => {
    const started = performance.now();
    const r = await call('run_sql', { query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c' });
    const elapsed = performance.now() - started;
    assert.equal(r.isError, true);
    assert.match(r.text, /stopped/);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    const next = await call('run_sql', { query: 'SELECT 42' });
    assert.deepEqual(next.data.rows, [[42]]);
  });

  it('bounds huge results and says how to get the rest', async () => {
    const wide = await call('run_sql', { query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000) SELECT x, printf('%.900c', 'a') FROM c" });
    assert.equal(wide.isError, false);
    assert.equal(wide.data.truncated, true);
    assert.match(wide.data.note as string, /truncated at 262144 bytes/);
    assert.ok(wide.text.length < 300_000);
    const long = await call('run_sql', { query: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5000) SELECT x FROM c', max_rows: 10 });
    assert.equal(long.data.row_count, 10);
    assert.match(long.data.note as string, /truncated at 10 rows/);
    const blob = await call('run_sql', { query: 'SELECT randomblob(100000)' });
    assert.ok(((blob.data.rows as string[][])[0]![0]!).length <= 1024);
    // A cell larger than the reply is refused before the query process copies it out of SQLite.
    const bomb = await call('run_sql', { query: 'SELECT zeroblob(20000000) AS z' });
    assert.equal(bomb.isError, true);
    assert.match(bomb.text, /refused: row 1, column "z" holds 19\.1 MiB, above the 262144 bytes limit for one cell/);
    const paths = await call('run_sql', { query: 'SELECT file FROM pragma_database_list' });
    assert.equal(paths.isError, true);
    assert.match(paths.text, /pragma_database_list is not available: it shows local file paths/);
    assert.deepEqual((await call('run_sql', { query: 'SELECT 42' })).data.rows, [[42]]);
  });

  it('pages through events with opaque cursors and refuses a forged one', async () => {
    const first = await call('list_events', { ops: ['cudaMemcpy'], limit: 3 });
    const ids1 = (first.data.events as { id: number }[]).map((e) => e.id);
    assert.equal(ids1.length, 3);
    assert.equal(first.data.truncated, true);
    assert.match(first.data.note as string, /pass cursor/);
    const second = await call('list_events', { ops: ['cudaMemcpy'], limit: 3, cursor: first.data.next_cursor });
    const ids2 = (second.data.events as { id: number }[]).map((e) => e.id);
    assert.ok(ids2[0]! > ids1[2]!);
    const slowest = await call('list_events', { ops: ['cudaMemcpy'], order: 'slowest', limit: 2 });
    const ev = (slowest.data.events as { dur_ns: number; args: Record<string, unknown> }[])[0]!;
    assert.equal(ev.dur_ns, 9_000_000);
    assert.deepEqual(ev.args, { bytes: 1048576, kind: 1 });
    const bad = await call('list_events', { cursor: 'not-a-cursor' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /invalid cursor/);
  });

  it('returns errors that tell the agent how to fix the call', async () => {
    const unknownOp = await call('get_trace_stats', { ops: ['cudaMalloc2'] });
    assert.equal(unknownOp.isError, true);
    assert.match(unknownOp.text, /ops in this bundle: .*cudaMemcpy/);
    const badSql = await call('run_sql', { query: 'SELECT nope FROM events' });
    assert.match(badSql.text, /describe_schema/);
    const badType = await call('list_events', { limit: 'ten' });
    assert.equal(badType.isError, true);
    const badEvent = await call('get_stacks', { event_id: 10_000_000 });
    assert.match(badEvent.text, new RegExp(`ids run from 1 to ${EVENTS}`));
  });

  it('offers the investigate, explain_finding, compare_windows and compare_recordings prompts', async () => {
    const { prompts } = await server.client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['compare_recordings', 'compare_windows', 'explain_finding', 'investigate']);
    const p = await server.client.getPrompt({ name: 'investigate', arguments: { symptom: 'steps got slow' } });
    const text = (p.messages[0]!.content as { text: string }).text;
    assert.match(text, /get_trace_stats/);
    assert.match(text, /get_causal_chains/);
    assert.match(text, /run_sql/);
    assert.match(text, /must come from a tool result/);
  });

  it('serves schema documentation and metadata as resources', async () => {
    const { resources } = await server.client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.ok(uris.includes('ingero://bundle/hostile.ingero/schema'));
    assert.ok(uris.includes('ingero://bundle/hostile.ingero/metadata'));
    const schema = await server.client.readResource({ uri: 'ingero://bundle/hostile.ingero/schema' });
    const md = (schema.contents[0] as { text: string }).text;
    assert.match(md, new RegExp(`## events \\(${EVENTS} rows\\)`));
    assert.match(md, /\| dur_ns \| INTEGER \| ns \|/);
    const meta = await server.client.readResource({ uri: 'ingero://bundle/hostile.ingero/metadata' });
    const body = JSON.parse((meta.contents[0] as { text: string }).text);
    assert.equal(body.manifest.counts.events, EVENTS);
    assert.doesNotMatch(JSON.stringify(body), /\\u202[a-e]/i);
  });

  it('records capability discovery and every call in the audit log', () => {
    const lines = readFileSync(auditPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const methods = new Set(lines.map((l) => l.method));
    for (const m of ['initialize', 'tools/list', 'tools/call', 'prompts/list', 'prompts/get', 'resources/list', 'resources/read']) assert.ok(methods.has(m), `no ${m} line`);
    const init = lines.find((l) => l.method === 'initialize');
    assert.equal(init.client.name, 'ingero-test');
    const refused = lines.find((l) => l.tool === 'run_sql' && l.arguments?.query === 'DROP TABLE events');
    assert.ok(refused, 'the refused DROP is logged');
    assert.equal(refused.is_error, true);
    assert.match(refused.error, /refused/);
    const ok = lines.find((l) => l.tool === 'get_trace_stats' && !l.is_error);
    assert.ok(ok.duration_ms >= 0 && ok.result_bytes > 100);
  });

  it('leaves the bundle and its database byte for byte as they were', () => {
    assert.equal(sha256File(bundlePath), bundleSha);
    assert.equal(sha256File(databasePath), databaseSha);
  });
});

// What the MCP server costs an agent: a scripted investigation of the shipped investigation over
// stdio (the official SDK client, the server started outside the checkout) that reaches the
// stall behind it in at most 5 calls and 40 KB of results; tools/list within 16 KB; every tool's
// default result within 8 KB on every shipped bundle; the summary cache that lets a second
// server answer at once; and a bundle row that breaks the spec refused in one line before it is served.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { BundleWriter, openBundle, opId } from '../format/index.ts';
import { analyzerKey, readCachedSummary, summaryCachePath } from '../mcp/summary-cache.ts';
import { assertOneLineError, runCli } from './cli-fixtures.ts';
import { connectStdio, resultParts, ROOT, type StdioServer } from './mcp-fixtures.ts';

const INVESTIGATIONS = join(ROOT, 'investigations');
const SHIPPED = readdirSync(INVESTIGATIONS).filter((n) => n.endsWith('.ingero')).sort();
const work = mkdtempSync(join(tmpdir(), 'ingero-mcp-agents-'));
const cache = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

/** Minimal arguments for tools that require some. */
function defaultArgs(tool: string, bundle: string, all: readonly string[]): Record<string, unknown> {
  if (tool === 'list_bundles') return {};
  if (tool === 'run_sql') return { bundle, query: 'SELECT count(*) AS n FROM events' };
  if (tool === 'compare_bundles') return { before: all[0], after: bundle };
  return { bundle };
}

describe('a scripted investigation of the shipped investigation', () => {
  let server: StdioServer;
  const results: { tool: string; bytes: number }[] = [];
  async function call(name: string, args: Record<string, unknown> = {}) {
    const r = resultParts(await server.client.callTool({ name, arguments: args }));
    assert.equal(r.isError, false, `${name}: ${r.text}`);
    results.push({ tool: name, bytes: Buffer.byteLength(r.text) });
    return r.data as Record<string, any>;
  }
  before(async () => {
    // connectStdio starts the server in a directory outside the checkout; the bundle is an absolute path.
    server = await connectStdio([join(INVESTIGATIONS, 'pytorch-dataloader-starvation.ingero')], { INGERO_CACHE_DIR: cache });
  });
  after(async () => server?.close());

  it('reaches the off-CPU stall after the DataLoader forks in 4 calls and under 40 KB', async () => {
    const chains = await call('get_causal_chains');
    const top = chains.findings[0];
    assert.equal(top.pid, 2233);
    assert.match(top.root_cause, /forked \d+ (child|worker) processes/);
    assert.ok(chains.imported_findings.lines.length > 0 && chains.imported_findings.items.length === 0, 'imported findings one line each');

    const stalls = await call('find_stalls');
    const stall = stalls.stalls[0];
    assert.deepEqual([stall.kind, stall.pid, stall.tid, stall.from_ns, stall.dur_ns], ['off-cpu', 2233, 2233, 65_028_185_604, 23_871_386]);
    assert.ok(stall.before.some((e: { what: string }) => /forked pid 22\d\d \(/.test(e.what)), 'the forks before it, children named');
    assert.ok(stall.cannot_show.some((c: string) => /prev_state/.test(c)));

    const forks = await call('list_events', { pid: 2233, ops: ['process_fork'], from_ns: stall.from_ns - 2e9, to_ns: stall.from_ns });
    const names = forks.events.map((e: { child: { process: string } }) => e.child.process);
    assert.ok(names.includes('pt_data_worker') && names.includes('pt_data_pin'), `fork children named: ${names.join(', ')}`);

    const activity = await call('thread_activity', { tid: 2233, from_ns: 63_210_657_601, to_ns: 73_210_657_601 });
    const w = activity.threads[0].windows[0];
    assert.ok(w.off_cpu.unknown_ns > 400e6, `off-CPU ${w.off_cpu.unknown_ns} ns in the window of the forks`);

    assert.ok(results.length <= 5);
    const total = results.reduce((n, r) => n + r.bytes, 0);
    assert.ok(total <= 40 * 1024, `results in all: ${total} bytes (${results.map((r) => `${r.tool} ${r.bytes}`).join(', ')})`);
  });
});

describe('the context an agent pays', () => {
  let server: StdioServer;
  before(async () => {
    server = await connectStdio(['--dir', INVESTIGATIONS], { INGERO_CACHE_DIR: cache });
  });
  after(async () => server?.close());

  it('tools/list is at most 16 KB of compact JSON', async () => {
    const list = await server.client.listTools();
    const bytes = Buffer.byteLength(JSON.stringify(list));
    assert.ok(bytes <= 16 * 1024, `tools/list is ${bytes} bytes`);
    for (const t of list.tools) assert.ok(t.description && t.description.length <= 300, `${t.name}: a terse description`);
    assert.ok(list.tools.some((t) => t.name === 'find_stalls') && list.tools.some((t) => t.name === 'thread_activity'));
  });

  it('every tool answers its default arguments within 8 KB on every shipped bundle', async () => {
    const tools = (await server.client.listTools()).tools.map((t) => t.name);
    for (const bundle of SHIPPED) {
      for (const tool of tools) {
        const r = resultParts(await server.client.callTool({ name: tool, arguments: defaultArgs(tool, bundle, SHIPPED) }));
        assert.equal(r.isError, false, `${bundle} ${tool}: ${r.text.slice(0, 300)}`);
        const text = Buffer.byteLength(r.text);
        const structured = Buffer.byteLength(JSON.stringify(r.data));
        assert.ok(text <= 8 * 1024, `${bundle} ${tool}: text ${text} bytes`);
        assert.ok(structured <= text, `${bundle} ${tool}: structured content ${structured} bytes, text ${text}`);
      }
    }
  });

  it('long C++ symbols are shortened unless full names are asked for', async () => {
    const { shortSymbol } = await import('../analyze/symbol-name.ts');
    const long = 'void at::native::(anonymous namespace)::cpu_kernel_vec<at::native::AddFunctor<float>, at::native::Vectorized<float> >(at::TensorIteratorBase&, long)';
    assert.equal(shortSymbol(long), 'void at::native::(anonymous namespace)::cpu_kernel_vec<…>(…)');
    assert.equal(shortSymbol('main'), 'main');
  });
});

describe('the summary cache', () => {
  it('a second server on the same bundle reads the summary the first one left', async () => {
    const dir = join(work, 'cache-test');
    const bundle = join(dir, 'b.ingero');
    mkdirSync(dir);
    copyFileSync(join(INVESTIGATIONS, 'sample-gpu-node-02.ingero'), bundle);
    const env = { INGERO_CACHE_DIR: join(dir, 'cache') };
    const first = await connectStdio([bundle], env);
    // get_causal_chains waits for the whole summary, which is stored before it answers.
    const a = resultParts(await first.client.callTool({ name: 'get_causal_chains', arguments: {} }));
    await first.close();
    const b = openBundle(bundle, { cacheDir: env.INGERO_CACHE_DIR });
    const file = summaryCachePath(b.databasePath);
    assert.equal((statSync(file).mode & 0o777).toString(8), '600', 'user-private');
    assert.ok(file.includes(b.manifest.database.sha256) && file.includes(analyzerKey()), 'keyed by database digest and analyzer');
    const cached = readCachedSummary(b.databasePath);
    assert.ok(cached, 'readable');
    // A damaged entry is ignored: the next server computes the summary again and answers the same.
    writeFileSync(file, '{"database_sha256":"x"', { mode: 0o600 });
    assert.equal(readCachedSummary(b.databasePath), undefined);
    b.close();
    const second = await connectStdio([bundle], env);
    const c = resultParts(await second.client.callTool({ name: 'get_causal_chains', arguments: {} }));
    await second.close();
    assert.deepEqual(c.data, a.data);
    const third = await connectStdio([bundle], env);
    const d = resultParts(await third.client.callTool({ name: 'get_causal_chains', arguments: {} }));
    await third.close();
    assert.deepEqual(d.data, a.data, 'the rewritten entry serves the next server');
  });
});

describe('the statistics part of the summary', () => {
  it('is ready before the findings, from the same child', async () => {
    const { BundleRegistry } = await import('../mcp/bundle-registry.ts');
    const registry = BundleRegistry.single(join(INVESTIGATIONS, 'sample-gpu-node-01.ingero'), { cacheDir: join(work, 'cache-parts') });
    try {
      const served = registry.get(undefined);
      const part = await served.stats(60_000);
      assert.equal(served.summaryIfReady(), undefined, 'the findings come later');
      const whole = await served.summary(60_000);
      assert.deepEqual(part.stats, whole.stats);
      assert.deepEqual(part.timeline, whole.timeline);
    } finally {
      registry.close();
    }
  });
});

describe('a bundle row that breaks the spec', () => {
  // Such a bundle never reaches a tool: the reader refuses it at open (format/conformance.ts), so
  // the server says why in one line instead of serving rows no result schema can carry.
  it('is refused before it is served, in one line naming the column', async () => {
    const dir = join(work, 'broken');
    mkdirSync(dir);
    const path = join(dir, 'broken.ingero');
    const w = BundleWriter.create(path, { originUnixNs: 1n, producer: { name: 'ingero', version: '0', command: 'broken row' } });
    w.addProcess({ pid: 7, comm: 'trainer', start_ns: 0 });
    w.appendEvent({ ts_ns: 0, dur_ns: 10, pid: 7, tid: 7, op_id: opId('cudaMalloc'), arg0: 1 });
    w.flush();
    const db = new Database(w.stagingPath);
    db.prepare("UPDATE processes SET start_ns = 'yesterday' WHERE pid = 7").run();
    db.close();
    await w.seal();
    const r = runCli(['mcp', path], { cacheDir: join(dir, 'cache') });
    assert.equal(r.code, 1);
    assertOneLineError(r, /processes.*start_ns.*non-integer/);
  });
});

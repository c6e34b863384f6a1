// ingero mcp against real bundles and an independent client: the official MCP Inspector CLI
// (pinned devDependency, runs offline) on demo bundles and investigations/, and the SDK Client
// on a --dir server choosing bundles per call.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { OUTSIDE_CHECKOUT } from './cli-fixtures.ts';
import { CLI, connectStdio, resultParts, ROOT, sha256File, type StdioServer } from './mcp-fixtures.ts';

const run = promisify(execFile);
const INSPECTOR = join(ROOT, 'node_modules', '.bin', 'mcp-inspector');
const INVESTIGATIONS = join(ROOT, 'investigations');
const investigations = existsSync(INVESTIGATIONS) ? readdirSync(INVESTIGATIONS).filter((f) => f.endsWith('.ingero')).sort() : [];
const SCENARIOS = ['cpu-contention', 'sync-stall', 'memcpy-bottleneck'];

const dir = mkdtempSync(join(tmpdir(), 'ingero-mcp-clients-'));
const env = { ...process.env, INGERO_CACHE_DIR: join(dir, 'cache') };

async function inspector(bundle: string, ...args: string[]): Promise<any> {
  const { stdout } = await run(INSPECTOR, ['--cli', process.execPath, CLI, 'mcp', bundle, '--audit-log', join(dir, 'audit.jsonl'), ...args], { cwd: OUTSIDE_CHECKOUT, env, timeout: 60_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}

before(async () => {
  for (const name of SCENARIOS) await writeDemoBundle(join(dir, `demo-${name}.ingero`), scenarioByName(name)!, { seed: 7 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('MCP Inspector CLI as an independent client', { skip: existsSync(INSPECTOR) ? false : 'node_modules/.bin/mcp-inspector is missing: run npm ci (devDependency @modelcontextprotocol/inspector@0.15.0)' }, () => {
  it('lists the tools and finds the known root cause of a demo bundle', async () => {
    const bundle = join(dir, 'demo-cpu-contention.ingero');
    const list = await inspector(bundle, '--method', 'tools/list');
    assert.ok(list.tools.some((t: { name: string }) => t.name === 'get_causal_chains'));
    const chains = await inspector(bundle, '--method', 'tools/call', '--tool-name', 'get_causal_chains', '--tool-arg', 'limit=3');
    assert.notEqual(chains.isError, true);
    assert.equal(chains.structuredContent.findings[0].kind, 'cpu-contention');
  });

  // Two investigations keep this quick; the --dir suite below reads every one of them.
  it('reads stats from bundles in investigations/', { skip: investigations.length ? false : 'investigations/*.ingero not present yet (the importer commits them)' }, async () => {
    for (const file of investigations.slice(0, 2)) {
      const stats = await inspector(join(INVESTIGATIONS, file), '--method', 'tools/call', '--tool-name', 'get_trace_stats');
      assert.notEqual(stats.isError, true, file);
      assert.ok(stats.structuredContent.events > 0, file);
      assert.ok(stats.structuredContent.ops.length > 0, file);
    }
  });

  it('lists prompts and resources', async () => {
    const bundle = join(dir, 'demo-sync-stall.ingero');
    const prompts = await inspector(bundle, '--method', 'prompts/list');
    assert.ok(prompts.prompts.some((p: { name: string }) => p.name === 'investigate'));
    const resources = await inspector(bundle, '--method', 'resources/list');
    assert.ok(resources.resources.some((r: { uri: string }) => r.uri === 'ingero://bundle/demo-sync-stall.ingero/schema'));
  });
});

describe('ingero mcp --dir: several bundles, chosen per call', () => {
  let server: StdioServer;
  const served = join(dir, 'served');
  const shas = new Map<string, string>();

  before(async () => {
    rmSync(served, { recursive: true, force: true });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(served);
    for (const name of SCENARIOS) copyFileSync(join(dir, `demo-${name}.ingero`), join(served, `demo-${name}.ingero`));
    for (const f of investigations) copyFileSync(join(INVESTIGATIONS, f), join(served, f));
    for (const f of readdirSync(served)) shas.set(f, sha256File(join(served, f)));
    server = await connectStdio(['--dir', served, '--audit-log', join(dir, 'audit-dir.jsonl')], { INGERO_CACHE_DIR: env.INGERO_CACHE_DIR });
  });

  after(async () => server?.close());

  const call = async (name: string, args: Record<string, unknown>) => resultParts(await server.client.callTool({ name, arguments: args }));

  it('lists the bundles and finds each demo scenario\'s root cause first', async () => {
    const list = await call('list_bundles', {});
    assert.equal(list.data.mode, 'directory');
    assert.equal((list.data.bundles as unknown[]).length, SCENARIOS.length + investigations.length);
    for (const name of SCENARIOS) {
      const r = await call('get_causal_chains', { bundle: `demo-${name}.ingero`, limit: 1 });
      assert.equal(r.isError, false, r.text);
      assert.equal((r.data.findings as { kind: string }[])[0]!.kind, scenarioByName(name)!.rootCause);
    }
  });

  it('keeps imported findings apart from its own on imported investigations', { skip: investigations.length ? false : 'investigations/*.ingero not present yet (the importer commits them)' }, async () => {
    let imported = 0;
    for (const f of investigations) {
      const r = await call('get_causal_chains', { bundle: f, detail: 'full' });
      assert.equal(r.isError, false, r.text);
      const box = r.data.imported_findings as { matching: number; items: { origin: string }[] };
      imported += box.matching;
      for (const item of box.items) assert.ok(item.origin.length > 0);
      const stacks = await call('get_stacks', { bundle: f, limit: 3 });
      assert.equal(stacks.isError, false, stacks.text);
      const timeline = await call('get_timeline', { bundle: f });
      assert.equal(timeline.isError, false, timeline.text);
    }
    assert.ok(imported > 0, 'the imported Ingero databases carry stored causal chains');
  });

  it('refuses a missing or unknown bundle name, including path traversal', async () => {
    const missing = await call('get_trace_stats', {});
    assert.equal(missing.isError, true);
    assert.match(missing.text, /pass bundle: one of/);
    for (const name of ['../hostile.ingero', '/etc/passwd', `..${'/'}served/demo-sync-stall.ingero`, 'demo-sync-stall', '']) {
      const r = await call('get_trace_stats', { bundle: name });
      assert.equal(r.isError, true, name);
      assert.match(r.text, /no bundle named|pass bundle/);
    }
  });

  it('leaves every served bundle unchanged', () => {
    for (const [f, sha] of shas) assert.equal(sha256File(join(served, f)), sha, f);
  });
});

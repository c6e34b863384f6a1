// fleet_stats over stdio against the real `ingero mcp --dir` on six demo recordings from three
// nodes: the rows are the per-bundle stats merged by node (checked against durations read from
// each bundle's SQLite), the default result stays under 8 KB, and a one-bundle server says how
// to serve a directory. The SDK client validates structuredContent against the output schema.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scenarioByName, writeDemoBundle } from '../analyze/index.ts';
import { summarize } from '../analyze/stats.ts';
import { openBundle } from '../format/index.ts';
import { connectStdio, resultParts, type StdioServer } from './mcp-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-mcp-fleet-'));
const dir = join(work, 'bundles');
const env = { INGERO_CACHE_DIR: join(work, 'cache') };
const files: string[] = [];
let server: StdioServer;

before(async () => {
  mkdirSync(dir);
  for (let i = 0; i < 6; i++) {
    const path = join(dir, `run-${i}.ingero`);
    await writeDemoBundle(path, scenarioByName(i % 2 ? 'sync-stall' : 'healthy')!, { seed: i + 1, scale: 0.1, nodeName: `node-${i % 3}` });
    files.push(path);
  }
  server = await connectStdio(['--dir', dir], env);
  await server.client.listTools();
});

after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

interface Row {
  node: string;
  op: string;
  bundles: number;
  count: number;
  total_ns: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  max_ns: number;
}

describe('fleet_stats', () => {
  it('gives per node × op exact statistics across the bundles, most total time first, in under 8 KB', async () => {
    const r = resultParts(await server.client.callTool({ name: 'fleet_stats', arguments: {} }));
    assert.equal(r.isError, false, r.text);
    assert.ok(r.text.length < 8 * 1024 + 512, `default result is ${r.text.length} bytes`);
    const rows = r.data.rows as Row[];
    assert.equal(r.data.bundles, 6);
    assert.equal(r.data.nodes, 3);
    assert.ok(rows.length > 0 && rows.length <= 20);
    assert.deepEqual(rows.map((x) => x.total_ns), [...rows.map((x) => x.total_ns)].sort((a, b) => b - a));
    const durations = new Map<string, number[]>();
    for (const f of files) {
      const b = openBundle(f, { cacheDir: env.INGERO_CACHE_DIR });
      for (const e of b.db.prepare('SELECT o.name AS op, e.dur_ns AS dur FROM events e JOIN ops o ON o.id = e.op_id').iterate() as IterableIterator<{ op: string; dur: number }>) {
        const key = `${b.manifest.nodes[0]}/${e.op}`;
        if (!durations.has(key)) durations.set(key, []);
        durations.get(key)!.push(e.dur);
      }
      b.close();
    }
    assert.equal(r.data.total_rows, durations.size);
    for (const row of rows) {
      const s = summarize(Float64Array.from(durations.get(`${row.node}/${row.op}`)!).sort());
      assert.deepEqual([row.count, row.total_ns, row.p50_ns, row.p90_ns, row.p99_ns, row.max_ns], [s.count, s.total_ns, s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns], `${row.node} ${row.op}`);
    }
  });

  it('filters by op', async () => {
    const r = resultParts(await server.client.callTool({ name: 'fleet_stats', arguments: { ops: ['cudaStreamSynchronize'] } }));
    const rows = r.data.rows as Row[];
    assert.ok(rows.length >= 1);
    assert.ok(rows.every((x) => x.op === 'cudaStreamSynchronize'));
  });

  it('on a one-bundle server, says how to serve a directory', async () => {
    const single = await connectStdio([files[0]!], env);
    try {
      const r = resultParts(await single.client.callTool({ name: 'fleet_stats', arguments: {} }));
      assert.equal(r.isError, true);
      assert.match(r.text, /ingero mcp --dir DIR/);
    } finally {
      await single.close();
    }
  });
});

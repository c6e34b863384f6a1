// Traced strings longer than a column's limit (a C++ template symbol of several KB, a huge
// command line) are clamped by the writer, so the bundle still passes the reader's checks.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BundleWriter, clampText, openBundle, opId, TABLES, verifyBundle } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-text-limits-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('clampText keeps short strings, cuts long ones on a character boundary and marks the cut', () => {
  assert.equal(clampText('cudaMalloc', 16), 'cudaMalloc');
  const cut = clampText('é'.repeat(100), 11);
  assert.ok(Buffer.byteLength(cut) <= 11, `${Buffer.byteLength(cut)} bytes`);
  assert.equal(cut, 'éééé…');
  assert.equal(clampText('x'.repeat(20), 10), `${'x'.repeat(7)}…`);
});

test('oversized names, paths and command lines are clamped at write time and the bundle verifies', async () => {
  const out = join(work, 'long.ingero');
  const w = BundleWriter.create(out, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero', version: 'test', command: 'test' } });
  const longSymbol = `_ZN${'9Templated'.repeat(1000)}E`;
  const stack = w.internStack([{ kind: 'native', address: 0x401000n, function: { name: longSymbol }, mapping: { path: `/opt/${'deep/'.repeat(2000)}libcudart.so.12` } }]);
  w.addProcess({ pid: 7, comm: 'python3', cmdline: `python3 ${'--flag '.repeat(20_000)}` });
  w.addThread({ tid: 7, pid: 7, first_ns: 0, comm: 'x'.repeat(10_000) });
  w.appendEvent({ ts_ns: 10, dur_ns: 5, pid: 7, tid: 7, op_id: opId('cudaMalloc'), arg0: 4096, stack_id: stack });
  await w.seal();

  const report = verifyBundle(out, { cacheDir: join(work, 'cache') });
  assert.deepEqual(report.problems, []);
  const b = openBundle(out, { cacheDir: join(work, 'cache') });
  try {
    const limit = (name: string) => TABLES.find((t) => t.name === name)!.maxTextBytes;
    const fn = b.stack(stack)[0]!;
    assert.ok(Buffer.byteLength(fn.function!) <= limit('functions'));
    assert.ok(fn.function!.startsWith('_ZN9Templated') && fn.function!.endsWith('…'));
    assert.ok(Buffer.byteLength(fn.module!) <= limit('mappings'));
    const p = b.db.prepare('SELECT comm, cmdline FROM processes WHERE pid = 7').get() as { comm: string; cmdline: string };
    assert.equal(p.comm, 'python3');
    assert.ok(Buffer.byteLength(p.cmdline) <= limit('processes') && p.cmdline.endsWith('…'));
  } finally {
    b.close();
  }
});

// What a crash or a full disk leaves behind: after SIGKILL the staging database seals with
// recoverBundle; a seal that fails (disk full, bad options) leaves no file under the final name,
// keeps the staging data and says so in one line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { withTmpfs } from './tmpfs.ts';
import { BundleError, BundleWriter, openBundle, opId, recoverBundle, stagingPathFor } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-crash-'));
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const producer = { name: 'ingero', version: 'test', command: 'crash' };

function fill(w: BundleWriter, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) w.appendEvent({ ts_ns: i * 1_000, dur_ns: 500 + (i % 97), pid: 1, tid: 1 + (i % 4), op_id: opId('cudaLaunchKernel'), arg0: i, ret: 0 });
}

describe('crash safety', () => {
  test('a recorder killed with SIGKILL mid-write leaves a staging database that recoverBundle seals', async () => {
    const out = join(work, 'killed.ingero');
    // The child appends forever, flushing every 50k events and reporting how many are durable.
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { BundleWriter, opId } from ${JSON.stringify(new URL('../format/index.ts', import.meta.url).href)};
      const w = BundleWriter.create(${JSON.stringify(out)}, { originUnixNs: 0n, producer: { name: 'ingero', version: 'test', command: 'child' } });
      w.addProcess({ pid: 1, comm: 'victim' });
      for (let i = 0; ; i++) {
        w.appendEvent({ ts_ns: i * 1000, dur_ns: 10, pid: 1, tid: 1, op_id: opId('cudaMalloc'), arg0: i, ret: 0 });
        if ((i + 1) % 50000 === 0) { w.flush(); process.stdout.write('durable ' + (i + 1) + '\\n'); }
      }
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let durable = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/durable (\d+)/g)) durable = Math.max(durable, Number(m[1]));
        if (durable >= 150_000) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited early: ${code}`))));
    });
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    assert.ok(!existsSync(out), 'no bundle under the final name after a crash');
    const staging = stagingPathFor(out);
    assert.ok(existsSync(staging), 'the staging database survives');
    assert.throws(() => BundleWriter.create(out, { originUnixNs: 0n, producer }), (e: unknown) => e instanceof BundleError && /interrupted run is in the way — seal it with: ingero recover/.test(e.message));
    const r = await recoverBundle(staging, out);
    assert.ok(r.events >= durable, `recovered ${r.events} events, at least the ${durable} flushed before the kill`);
    const b = openBundle(out, { cacheDir });
    try {
      assert.equal(b.eventCount(), r.events);
      const ids = [...b.events({ limit: 3 })].map((e) => Number(e.arg0));
      assert.deepEqual(ids, [0, 1, 2]);
    } finally {
      b.close();
    }
    assert.ok(!existsSync(staging), 'recover removes the staging files once sealed');
  });

  test('a seal that fails leaves no file under the final name and keeps the staging data', async () => {
    const out = join(work, 'bad-options.ingero');
    const w = BundleWriter.create(out, { originUnixNs: 0n, producer, frameBytes: 100 << 20 });
    fill(w, 1_000);
    await assert.rejects(w.seal(), (e: unknown) => e instanceof BundleError && /frameBytes must be/.test(e.message));
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(work).filter((f) => f.startsWith('bad-options') && f.includes('tmp')), []);
    assert.ok(existsSync(stagingPathFor(out)));
    const r = await recoverBundle(stagingPathFor(out), out);
    assert.equal(r.events, 1_000);
  });

  test('disk full during seal: one-line error, staging kept, nothing under the final name, recover works after freeing space', async (t) => {
    await withTmpfs(t, join(work, 'tiny'), '3m', async (mnt) => {
      const out = join(mnt, 'full.ingero');
      const w = BundleWriter.create(out, { originUnixNs: 0n, producer });
      fill(w, 20_000);
      w.flush();
      // Leave almost no room: the sealed bundle (tens of KiB) cannot be written.
      const filler = join(mnt, 'filler');
      for (let size = 4 << 20; size >= 512; size >>= 1) {
        try {
          writeFileSync(filler + size, Buffer.alloc(size));
        } catch {
          rmSync(filler + size, { force: true });
        }
      }
      await assert.rejects(w.seal(), (e: unknown) => {
        assert.ok(e instanceof BundleError, String(e));
        assert.match(e.message, /disk full while sealing/);
        assert.match(e.message, /staging data kept at .*full\.ingero\.staging/);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
      assert.ok(!existsSync(out), 'no half bundle under the final name');
      assert.deepEqual(readdirSync(mnt).filter((f) => f.includes('.tmp') || f.includes('sorting')), []);
      assert.ok(existsSync(stagingPathFor(out)));
      for (const f of readdirSync(mnt)) if (f.startsWith('filler')) rmSync(join(mnt, f));
      const r = await recoverBundle(stagingPathFor(out), out);
      assert.equal(r.events, 20_000);
      const b = openBundle(out, { cacheDir });
      assert.equal(b.eventCount(), 20_000);
      b.close();
    });
  });
});

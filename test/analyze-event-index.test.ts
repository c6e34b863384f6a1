// The event index's sched_switch values (who ran, its tid, prev_state) are packed by SQL into one
// number per row when they fit and read one column each when they do not: whichever way a row
// went, switchOf must give back what a plain SELECT of the columns reads, in every id range.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { EventIndex } from '../analyze/event-index.ts';
import { BundleWriter, opId, openBundle } from '../format/index.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-event-index-'));
after(() => rmSync(work, { recursive: true, force: true }));

const SCHED = opId('sched_switch');
const LAUNCH = opId('cudaLaunchKernel');
/** Values that pack (small integers, NULL, the largest that fit) and values that must not. */
const VALUES = ['NULL', '0', '5', '510', '4194302', '4194303', '4194304', '1099511627776', '-3', '2.5', "'text'", "x'00'", '9223372036854775807'];

test('switchOf gives the stored sched_switch values, packed or not, in any id range', async () => {
  const path = join(work, 'switches.ingero');
  const w = BundleWriter.create(path, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'ingero', version: '0', command: 'event index test' }, nodeName: 'node-a' });
  const rows = VALUES.length ** 2 * 3;
  for (let i = 0; i < rows; i++) {
    w.appendEvent({ ts_ns: i * 1000, dur_ns: 10, pid: 7, tid: 7, op_id: LAUNCH });
    w.appendEvent({ ts_ns: i * 1000 + 100, dur_ns: 500, pid: 7, tid: 7, op_id: SCHED, arg0: 1, arg1: 2, arg2: 1 });
  }
  await w.seal();
  const b = openBundle(path, { cacheDir: join(work, 'cache') });
  try {
    // Every combination of values over the three fields, arg1 NULL in a third of the rows so
    // that coalesce(arg1, arg3) reads arg3 there.
    const edit = new Database(b.databasePath);
    const set = edit.transaction(() => {
      let k = 0;
      for (const by of VALUES) for (const byTid of VALUES) for (const state of [VALUES[k % VALUES.length], 'NULL', '1']) {
        const id = 2 * ++k;
        const byColumns = k % 3 === 0 ? `arg1 = NULL, arg3 = ${by}` : `arg1 = ${by}`;
        edit.exec(`UPDATE events SET ${byColumns}, arg0 = ${byTid}, arg2 = ${state} WHERE id = ${id}`);
      }
    });
    set();
    edit.close();
    const read = b.db.prepare('SELECT id, coalesce(arg1, arg3) AS by, arg0 AS byTid, arg2 AS state FROM events WHERE op_id = ? ORDER BY id').all(SCHED) as { id: number; by: unknown; byTid: unknown; state: unknown }[];
    assert.equal(read.length, rows);
    assert.ok(read.some((r) => typeof r.by === 'string') && read.some((r) => r.state === 2.5), 'the edit stored text and reals');
    for (const [loId, hiId] of [[1, Infinity], [40, 611], [333, 336]] as const) {
      const index = new EventIndex(b, { loId, hiId });
      const within = read.filter((r) => r.id >= loId && r.id < hiId);
      for (const r of within) {
        const row = index.rowAtId(r.id);
        assert.equal(index.idOf(row), r.id);
        assert.deepEqual(index.switchOf(row), { by: r.by ?? NaN, byTid: r.byTid ?? NaN, state: r.state ?? NaN }, `id ${r.id} in [${loId}, ${hiId})`);
      }
      // A launch row is no switch.
      assert.deepEqual(index.switchOf(index.rowAtId(within[0]!.id + 1)), { by: NaN, byTid: NaN, state: NaN });
    }
  } finally {
    b.close();
  }
});

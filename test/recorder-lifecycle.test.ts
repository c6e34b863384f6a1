// The recorder's life around a recording: `ingero check`, recovery of the staging data after
// the recorder is SIGKILLed or the disk fills, a read-only output directory, and the one-line
// refusal without privileges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { record, recover, runCheck, RecorderError } from '../recorder/index.ts';
import { buildFakeCuda, type FakeCuda } from './fixtures/fake-cuda/build.ts';
import { eventRows, openRecorded } from './fixtures/fake-cuda/recorded.ts';
import { withTmpfs } from './tmpfs.ts';

const CHILD = fileURLToPath(new URL('./fixtures/fake-cuda/record-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('..', import.meta.url));
const skipReason =
  process.getuid?.() !== 0
    ? 'recorder lifecycle tests load eBPF programs and need root (CI runs them as root)'
    : !existsSync('/sys/kernel/btf/vmlinux')
      ? 'recorder lifecycle tests need kernel BTF (/sys/kernel/btf/vmlinux)'
      : undefined;
if (skipReason) console.warn(`\n*** SKIPPING recorder lifecycle tests: ${skipReason} ***\n`);

let fake: FakeCuda;
let work: string;

before(() => {
  if (skipReason) return;
  fake = buildFakeCuda();
  work = mkdtempSync(join(tmpdir(), 'ingero-life-'));
  chmodSync(work, 0o777);
});

after(() => {
  if (!fake) return;
  rmSync(fake.dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('check: a privileged machine with BTF is ready, the BPF objects load, the fake libraries are found in a running process', { skip: skipReason }, async () => {
  const child = spawn(fake.workload, [join(work, 'check.log'), 'single', '1'], { env: { ...process.env, FAKE_WAIT_STDIN: '1' }, stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    await new Promise((r) => setTimeout(r, 200)); // let ld.so map the libraries
    const report = await runCheck({ pids: [child.pid!] });
    assert.equal(report.ok, true, JSON.stringify(report.items));
    assert.equal(report.items.find((i) => i.name === 'load')?.status, 'ok');
    const [major, minor] = os.release().split('.').map(Number);
    if (major > 6 || (major === 6 && minor >= 6)) assert.match(report.items.find((i) => i.name === 'uprobe links')?.detail ?? '', /^uprobe_multi/);
    const runtime = report.libraries.find((l) => l.path === fake.runtime);
    assert.ok(runtime, 'fake libcudart found in the process');
    assert.deepEqual(runtime.pids, [child.pid]);
    assert.equal(runtime.probes.find((p) => p.symbol === 'cudaMalloc')?.prologue, 'endbr64+push');
    assert.ok(report.libraries.some((l) => l.path === fake.driver && l.probes.some((p) => p.symbol === 'cuLaunchKernel')));
  } finally {
    child.stdin!.end('go\n');
  }
});

/** Ids of the BPF links a process holds, from its fds' fdinfo. */
function linkIdsOf(pid: number): number[] {
  const ids: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^link_id:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.push(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return ids;
}

/** Ids of every BPF link in the kernel, by bpftool. */
function kernelLinkIds(): Set<number> {
  return new Set((JSON.parse(execFileSync('bpftool', ['-j', 'link', 'list'], { encoding: 'utf8' })) as { id: number }[]).map((l) => l.id));
}

test('recover: after the recorder is SIGKILLed, the staging data seals into a bundle', { skip: skipReason }, async () => {
  const output = join(work, 'killed.ingero');
  const log = join(work, 'killed.log');
  const rec = spawn(process.execPath, ['--import', 'tsx', CHILD, output, '--', fake.workload, log, 'single', '100000000'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FAKE_CUDA_SPIN_US: '20' } });
  await new Promise<void>((resolve) => rec.stdout!.on('data', (d) => String(d).includes('READY') && resolve()));
  await new Promise((r) => setTimeout(r, 2500)); // more than the one-second staging commit
  const links = linkIdsOf(rec.pid!);
  assert.ok(links.length >= 4, `the recorder holds its links (${links.length})`);
  rec.kill('SIGKILL');
  await new Promise((r) => rec.on('exit', r));
  const left = kernelLinkIds();
  assert.deepEqual(links.filter((id) => left.has(id)), [], 'the kernel released every link of the killed recorder');
  // The workload outlives its recorder; its log file is named after its pid.
  for (const f of readdirSync(work)) if (f.startsWith('killed.log.')) process.kill(Number(f.slice('killed.log.'.length)), 'SIGKILL');
  const staging = `${output}.staging`;
  assert.ok(statSync(staging).size > 0, 'staging database survives');
  assert.equal(existsSync(output), false);
  const sealed = await recover(staging);
  assert.equal(sealed.path, output);
  assert.ok(sealed.events > 100, `${sealed.events} events recovered`);
  const bundle = openRecorded(output, join(work, 'cache'));
  try {
    const rows = eventRows(bundle);
    const ops = new Set(rows.map((r) => r.op));
    assert.ok(ops.has('cudaMalloc') && ops.has('cuLaunchKernel'), [...ops].join(','));
    // process rows are written as processes are seen, not only when the bundle is sealed
    const workload = rows.find((r) => r.op === 'cudaMalloc')!.pid;
    const proc = bundle.db.prepare('SELECT comm, cmdline, start_ns FROM processes WHERE pid = ?').get(workload) as { comm: string; cmdline: string; start_ns: number | null } | undefined;
    assert.equal(proc?.comm, 'workload', 'the traced process is named in the recovered bundle');
    assert.match(proc!.cmdline, /workload .*single 100000000$/);
    assert.notEqual(proc!.start_ns, null);
  } finally {
    bundle.close();
  }
  await assert.rejects(recover(staging), RecorderError);
});

test('without privileges: one line saying what is needed', { skip: skipReason }, () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, join(work, 'nopriv.ingero'), '--', '/bin/true'], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: REPO });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /needs root, or CAP_BPF \+ CAP_PERFMON \+ CAP_SYS_ADMIN.*sudo/);
  assert.equal(existsSync(join(work, 'nopriv.ingero.staging')), false);
});

test('disk full while recording: the committed events and the processes are kept, and recover seals them onto another file system', { skip: skipReason }, async (t) => {
  await withTmpfs(t, join(work, 'small'), '4m', async (small) => {
    const output = join(small, 'full.ingero');
    const log = join(work, 'full.log');
    const saved = process.env.FAKE_CUDA_SPIN_US;
    process.env.FAKE_CUDA_SPIN_US = '20';
    let message = '';
    try {
      await record({ output, command: [fake.workload, log, 'single', '100000000'], handleSignals: false, durationMs: 60_000 });
    } catch (e) {
      assert.ok(e instanceof RecorderError, String(e));
      message = e.message;
    } finally {
      if (saved === undefined) delete process.env.FAKE_CUDA_SPIN_US;
      else process.env.FAKE_CUDA_SPIN_US = saved;
    }
    const m = /^disk full while recording: ([\d,]+) events, as committed [\d.]+ s before the disk filled, are kept in (\S+); the [\d,]+ received after that commit and any still in the kernel's ring buffers are lost; seal them onto a file system with space: ingero recover \S+ -o DIR\/full\.ingero$/.exec(message);
    assert.ok(m, message);
    const kept = Number(m[1].replace(/,/g, ''));
    assert.ok(kept > 1000, `${kept} events committed before the disk filled`);
    const staging = m[2];
    assert.equal(staging, `${output}.staging`);

    // Sealing in place needs room the full file system does not have; onto another one it works.
    const roomy = join(work, 'recovered-full.ingero');
    const sealed = await recover(staging, roomy);
    assert.equal(sealed.path, roomy);
    assert.equal(sealed.events, kept, 'every committed event is in the recovered bundle');
    assert.equal(existsSync(staging), false, 'the staging data is removed once sealed elsewhere');
    assert.equal(existsSync(`${staging}-wal`), false);
    const bundle = openRecorded(roomy, join(work, 'cache'));
    try {
      const pid = eventRows(bundle).find((r) => r.op === 'cudaMalloc')!.pid;
      const proc = bundle.db.prepare('SELECT comm FROM processes WHERE pid = ?').get(pid) as { comm: string } | undefined;
      assert.equal(proc?.comm, 'workload');
    } finally {
      bundle.close();
    }
  });
});

test('a read-only output directory is named as such, for record and for recover', { skip: skipReason }, async (t) => {
  await withTmpfs(t, join(work, 'ro'), '1m', async (ro) => {
    writeFileSync(join(ro, 'left.ingero.staging'), 'not sealed');
    const remount = spawnSync('mount', ['-o', 'remount,ro', ro]);
    assert.equal(remount.status, 0, String(remount.stderr));
    await assert.rejects(record({ output: join(ro, 'x.ingero'), command: ['/bin/true'], handleSignals: false }), /^RecorderError: .*\/ro: read-only file system — give -o a path on a writable file system$/);
    await assert.rejects(recover(join(ro, 'left.ingero.staging')), /\/ro: read-only file system/);
    assert.deepEqual(readdirSync(ro), ['left.ingero.staging'], 'nothing written');
  });
});

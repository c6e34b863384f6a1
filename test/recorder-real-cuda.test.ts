// Records a program built with the CUDA toolkit's nvcc against the real shared libcudart. With
// no GPU or driver every runtime call fails fast with cudaErrorInsufficientDriver (35), but the
// functions that run are the real library's, so this checks the probes where it matters: the
// real symbols and prologues, exact counts per function on two threads, return codes, the
// arguments each probe reads (including <<<>>> launches, which CUDA 13 compiles to
// __cudaLaunchKernel, and the launch configuration of cudaLaunchKernelExC), stacks through the
// program's own functions (also when the program is gone before the recorder reads its
// mappings: they come from the kernel as it exits), and `ingero check`'s plan for the library.
// Needs root, kernel BTF and nvcc (found on PATH or under /usr/local/cuda*/bin).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opId } from '../format/index.ts';
import { record } from '../recorder/index.ts';
import { readWorkloadLog } from './fixtures/fake-cuda/build.ts';
import { eventRows, multiset, multisetDiff, openRecorded, type EventRow } from './fixtures/fake-cuda/recorded.ts';
import { buildTrain, findNvcc, type TrainBuild } from './fixtures/real-cuda/build.ts';
import { CLI, runCli } from './cli-fixtures.ts';
import { readStat } from '../recorder/proc.ts';
import type { Bundle } from '../format/index.ts';

const nvcc = findNvcc();
const skipReason =
  process.getuid?.() !== 0
    ? 'real-CUDA recorder tests load eBPF programs and need root (CI runs them as root)'
    : !existsSync('/sys/kernel/btf/vmlinux')
      ? 'real-CUDA recorder tests need kernel BTF (/sys/kernel/btf/vmlinux)'
      : !nvcc
        ? 'real-CUDA recorder tests need the CUDA toolkit (nvcc on PATH or in /usr/local/cuda*/bin; scripts/setup.sh says how)'
        : undefined;
if (skipReason) console.warn(`\n*** SKIPPING real-CUDA recorder tests: ${skipReason} ***\n`);

const CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
const THREADS = 2;

let train: TrainBuild;
let work: string;

before(() => {
  if (skipReason) return;
  train = buildTrain(nvcc!);
  work = mkdtempSync(join(tmpdir(), 'ingero-real-cuda-rec-'));
});

after(() => {
  if (!train) return;
  rmSync(train.dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** CUDA Runtime, Driver and Graph events (sources 1, 4, 8): every call the probes reported. */
function apiRows(rows: EventRow[], pid: number): EventRow[] {
  return rows.filter((r) => r.pid === pid && [1, 4, 8].includes(Math.floor(opId(r.op) / 256)));
}

async function recordTrain(name: string, exe: string, steps: number, stacks: boolean) {
  const log = join(work, `${name}.log`);
  const output = join(work, `${name}.ingero`);
  const result = await record({ output, command: [exe, log, String(THREADS), String(steps)], stacks, handleSignals: false });
  const bundle = openRecorded(output, join(work, 'cache'));
  return { result, bundle, rows: eventRows(bundle), logged: readWorkloadLog(log) };
}

test('real libcudart: every call of two threads recorded once, with its arguments and cudaErrorInsufficientDriver', { skip: skipReason }, async () => {
  const steps = 300;
  const { result, bundle, rows, logged } = await recordTrain('plain', train.exe, steps, false);
  try {
    assert.equal(result.commandExitCode, 0);
    assert.equal(result.dropped, 0);
    // 14 calls a step, plus stream creation and destruction, on each thread
    assert.equal(logged.length, THREADS * (14 * steps + 2));
    assert.ok(logged.every((c) => c.ret === CUDA_ERROR_INSUFFICIENT_DRIVER), 'without a driver every call fails with 35');
    const pid = logged[0].pid;
    assert.equal(new Set(logged.map((c) => c.tid)).size, THREADS);
    const recorded = apiRows(rows, pid);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    assert.equal(recorded.length, logged.length, 'no call recorded twice (a runtime function calling another probed one)');

    const loss = bundle.db.prepare("SELECT probe, emitted, dropped FROM capture_loss WHERE probe LIKE 'uprobe:%'").all() as { probe: string; emitted: number; dropped: number }[];
    for (const op of new Set(logged.map((c) => c.op))) {
      const row = loss.find((l) => l.probe === `uprobe:${op}`);
      assert.deepEqual(row && [row.emitted, row.dropped], [logged.filter((c) => c.op === op).length, 0], `capture_loss of ${op}`);
    }

    const meta = bundle.metadata();
    const probes = (meta['recorder.probes'] as { kind: string; library: string; symbol: string; prologue: string; found_via: string }[]).filter((p) => p.kind === 'uprobe+uretprobe');
    const runtime = probes.filter((p) => /\/libcudart\.so\.13$/.test(p.library));
    for (const symbol of ['cudaMalloc', '__cudaLaunchKernel', 'cudaLaunchKernelExC', 'cudaStreamCreateWithFlags', 'cudaEventRecord', 'cudaEventQuery', 'cudaGetLastError', 'cudaMallocAsync', 'cudaFreeAsync', 'cudaMemcpy2D', 'cudaGraphLaunch', 'cudaLaunchKernel_ptsz']) {
      assert.ok(runtime.some((p) => p.symbol === symbol), `${symbol} probed in the real libcudart`);
    }
    assert.deepEqual([...new Set(runtime.map((p) => p.prologue))], ['push'], 'every libcudart 13 function probed starts with push: no single-stepped probe');
    assert.equal(meta['cuda.runtime_version'], execFileSync('readlink', ['-f', runtime[0].library], { encoding: 'utf8' }).trim().replace(/^.*\.so\./, ''));
  } finally {
    bundle.close();
  }
});

/** Each op's stack names the program function that called it, and the callers above that. */
function assertCallersNamed(bundle: Bundle, recorded: EventRow[], logged: { op: string }[]): void {
  const caller: Record<string, string> = {
    cudaStreamCreate: 'create_stream',
    cudaMalloc: 'allocate',
    cudaLaunchKernel: 'launch',
    cudaGetLastError: 'launch',
    cudaLaunchKernelExC: 'launch',
    cudaMemcpyAsync: 'copy_back',
    cudaMemcpy2D: 'copy_back',
    cudaEventRecord: 'synchronize',
    cudaEventQuery: 'synchronize',
    cudaEventSynchronize: 'synchronize',
    cudaStreamSynchronize: 'synchronize',
    cudaMallocAsync: 'scratch',
    cudaFreeAsync: 'scratch',
    cudaGraphLaunch: 'scratch',
    cudaFree: 'release',
    cudaStreamDestroy: 'run_steps',
  };
  assert.deepEqual(new Set(Object.keys(caller)), new Set(logged.map((c) => c.op)), 'every op the program calls is checked');
  for (const [op, fn] of Object.entries(caller)) {
    for (const stackId of new Set(recorded.filter((r) => r.op === op).map((r) => r.stack_id))) {
      assert.notEqual(stackId, null, `${op} events carry a stack`);
      const frames = bundle.stack(stackId!);
      const names = frames.map((f) => f.function ?? '?');
      assert.equal(frames[0].module, train.exe, `${op}: the leaf frame is in the program (${names.join(' < ')})`);
      const at = names.findIndex((n) => n.startsWith(`${fn}(`));
      assert.ok(at >= 0, `${op} is called from ${fn}: ${names.join(' < ')}`);
      const rest = fn === 'run_steps' ? [] : fn === 'create_stream' ? ['run_steps'] : ['train_step', 'run_steps'];
      assert.deepEqual(names.slice(at + 1, at + 1 + rest.length).map((n) => n.replace(/\(.*$/, '')), rest, `${op} stack above ${fn}`);
    }
  }
  // a <<<>>> launch goes through the compiler's device stub, also named
  const launch = bundle.stack(recorded.find((r) => r.op === 'cudaLaunchKernel')!.stack_id!).map((f) => f.function ?? '?');
  assert.match(launch[0], /__device_stub__/, launch.join(' < '));
}

test('real libcudart with --stacks: each call\'s stack names the program function that made it', { skip: skipReason }, async () => {
  const { bundle, rows, logged } = await recordTrain('stacks', train.exe, 50, true);
  try {
    const recorded = apiRows(rows, logged[0].pid);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    assertCallersNamed(bundle, recorded, logged);
  } finally {
    bundle.close();
  }
});

async function until(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
  }
}

test('real libcudart with --stacks, the program gone before the recorder reads its mappings: stacks named from those sent at exit', { skip: skipReason }, async () => {
  // The recorder is stopped (SIGSTOP) before the traced shell execs the program, and continued
  // once the program has run and exited (a zombie, its mappings gone from /proc): every stack is
  // drained after the process is gone, the case of a program shorter than one drain.
  const log = join(work, 'gone.log');
  const output = join(work, 'gone.ingero');
  const cudart = /libcudart\.so\S* => (\S+)/.exec(execFileSync('ldd', [train.exe], { encoding: 'utf8' }))![1]!;
  const rec = spawn(process.execPath, [CLI, 'record', '--stacks', '--cuda-lib', cudart, '-o', output, '--', '/bin/sh', '-c', 'read go; exec "$0" "$@"', train.exe, log, String(THREADS), '50'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  rec.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => rec.on('exit', (code) => r(code)));
  try {
    await until('the recorder traces the shell', () => /recording pid \d+/.test(stderr));
    const pid = Number(/recording pid (\d+)/.exec(stderr)![1]);
    process.kill(rec.pid!, 'SIGSTOP');
    rec.stdin!.end('go\n');
    await until('the program has exited', () => readStat(pid)?.state === 'Z');
    process.kill(rec.pid!, 'SIGCONT');
    assert.equal(await exited, 0, stderr);
  } finally {
    // a failed wait must not leave the recorder stopped
    if (rec.exitCode === null && rec.signalCode === null) {
      process.kill(rec.pid!, 'SIGCONT');
      rec.kill('SIGTERM');
    }
  }
  const bundle = openRecorded(output, join(work, 'cache'));
  try {
    const logged = readWorkloadLog(log);
    const recorded = apiRows(eventRows(bundle), logged[0].pid);
    assert.deepEqual(multisetDiff(multiset(logged), multiset(recorded)), []);
    assertCallersNamed(bundle, recorded, logged);
    const sent = bundle.metadata()['recorder.exit_mappings'] as { records?: number; unavailable?: string };
    assert.ok((sent.records ?? 0) > 1, `the kernel sent the program's mappings at exit: ${JSON.stringify(sent)}`);
  } finally {
    bundle.close();
  }
});

test('real libcudart, --default-stream per-thread: the _ptsz/_ptds entry points record as the same ops', { skip: skipReason }, async () => {
  const ptsz = buildTrain(nvcc!, { perThreadStream: true });
  try {
    const imports = execFileSync('nm', ['-u', ptsz.exe], { encoding: 'utf8' });
    assert.match(imports, /__cudaLaunchKernel_ptsz/, 'the build calls the per-thread entry points');
    const { result, bundle, rows, logged } = await recordTrain('ptsz', ptsz.exe, 100, false);
    try {
      assert.equal(result.dropped, 0);
      assert.deepEqual(multisetDiff(multiset(logged), multiset(apiRows(rows, logged[0].pid))), []);
    } finally {
      bundle.close();
    }
  } finally {
    rmSync(ptsz.dir, { recursive: true, force: true });
  }
});

test('ingero check --pid: plans the real libcudart\'s probes, every one at a push prologue', { skip: skipReason }, async () => {
  const child = spawn(train.exe, [join(work, 'check.log'), '1', '1'], { env: { ...process.env, TRAIN_WAIT_STDIN: '1' }, stdio: ['pipe', 'ignore', 'inherit'] });
  try {
    await new Promise((r) => setTimeout(r, 300)); // let ld.so map libcudart
    const r = runCli(['check', '--pid', String(child.pid), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { libraries: { path: string; pids: number[]; probes: { symbol: string; op: string; prologue: string }[] }[] };
    const lib = report.libraries.find((l) => /\/libcudart\.so\.13$/.test(l.path) && l.pids.includes(child.pid!));
    assert.ok(lib, `libcudart mapped by the program is found: ${report.libraries.map((l) => l.path).join(', ')}`);
    const planned = new Map(lib.probes.map((p) => [p.symbol, p]));
    for (const [symbol, op] of [['__cudaLaunchKernel', 'cudaLaunchKernel'], ['cudaLaunchKernelExC', 'cudaLaunchKernelExC'], ['cudaStreamCreateWithPriority', 'cudaStreamCreate'], ['cudaEventRecord_ptsz', 'cudaEventRecord'], ['cudaGetLastError', 'cudaGetLastError'], ['cudaMemcpy2DAsync', 'cudaMemcpy2DAsync']]) {
      assert.equal(planned.get(symbol)?.op, op, `${symbol} planned as ${op}`);
    }
    assert.ok(lib.probes.every((p) => p.prologue === 'push'), 'no single-stepped probe in libcudart 13');
  } finally {
    child.stdin!.end('go\n');
    await new Promise((r) => child.on('exit', r));
  }
});

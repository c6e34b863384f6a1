// ingero redact: bundles with planted secrets (an API token in a command line, /home/alice paths,
// a host name, an IP, a Kubernetes cgroup, an e-mail in a label, a finding naming all of them,
// interned profiler names with paths and addresses in them, kernels and on-CPU samples' stacks)
// must come out without any of their bytes, anywhere: the file, `zstd -dc` of it and the database
// a reader decompresses. The output verifies, and the analysis of it gives the same numbers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withTmpfs } from './tmpfs.ts';
import { runCli } from './cli-fixtures.ts';
import Database from 'better-sqlite3';
import { BundleWriter, openBundle, opId, redactBundle, stagingPathFor, type RedactOptions } from '../format/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ingero-redact-'));
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));

const TOKEN = 'sk-live-9f8e7d6c5b4a39281706';
const HOST = 'gpu-box-alice7';
const IP = '10.1.2.3';
const EMAIL = 'alice.smith@example.com';
const POD = '1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d';
const CONTAINER = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const CGROUP = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD}.slice/cri-containerd-${CONTAINER}.scope`;
const CMDLINE = `/home/alice/venv/bin/python3 /home/alice/proj/train.py --api-key ${TOKEN} --data /home/alice/data/set1`;
/** Byte strings that must not survive, anywhere in the output. */
/** What an imported Ingero database adds to metadata: the recorder's flags, raw cgroup ids, login sessions. */
const FLAGS = 'stack,record,max-db=10g,token=s3cr3t-flag';
const CGROUP_ID = 918273;
const SESSION = '/user.slice/user-1000.slice/session-42.scope';
/** The digest of an imported source database (import.source.sha256): it identifies the file. */
const SOURCE_SHA256 = 'c0ffee00d15ea5e5baadf00d0123456789abcdef0123456789abcdef01234567';
const SECRETS = [TOKEN, 'alice', HOST, IP, EMAIL, 'example.com', POD, CONTAINER.slice(0, 24), 'kubepods.slice', '/home/', 'venv/bin', 'proj/train.py', 'data/set1', FLAGS, 's3cr3t-flag', String(CGROUP_ID), 'session-42', 'user-1000', SOURCE_SHA256];

const version = { name: 'ingero', version: 'test', command: `record -- python3 train.py --api-key ${TOKEN}` };

const ingero = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: work, cacheDir, env });

/** A recording of a training process and its worker, with private strings wherever they fit. */
async function writeSecretBundle(path: string): Promise<void> {
  const w = BundleWriter.create(path, { originUnixNs: 1_772_442_000_000_000_000n, producer: version, nodeName: HOST });
  w.setMetadata('host.hostname', HOST);
  w.setMetadata('host.kernel', '6.8.0-49-generic');
  w.setMetadata('host.cpu_model', 'AMD EPYC 7713 64-Core Processor');
  w.setMetadata('host.cpu_cores', 16);
  w.setMetadata('gpu.model', 'NVIDIA H100 80GB HBM3');
  w.setMetadata('gpu.driver_version', '550.90.07');
  w.setMetadata('cuda.runtime_version', '12.4.127');
  w.setMetadata('host.ip', IP);
  w.setMetadata('recorder.options', { command: CMDLINE.split(' '), cuda_libs: ['/home/alice/venv/lib/python3.11/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12'], ring_bytes: 1 << 26 });
  w.setMetadata('ingero.sessions', [{ id: 1, started_at: '1772442000000000000', gpu_model: 'NVIDIA H100 80GB HBM3', flags: FLAGS, node: HOST }]);
  w.setMetadata('ingero.cgroups', [{ cgroup_id: CGROUP_ID, container_id: '', cgroup_path: SESSION, pod_name: '', namespace: '' }]);
  w.setMetadata('import.source', { file: 'ingero.db', bytes: 1 << 20, sha256: SOURCE_SHA256 });
  w.setMetadata('ingero.cgroup_schedstat', [{ cgroup_id: CGROUP_ID, p99_off_cpu: 5837876, event_count: 4 }]);
  w.setMetadata('recorder.attach_failures', [`/home/alice/proj/build/libacme_kernels.so: no symbol cudaMalloc (seen from ${HOST}.corp.example.com)`]);
  w.addProcess({ pid: 4711, ppid: 1, start_ns: 0, comm: 'python3', cmdline: CMDLINE, cgroup: CGROUP });
  w.addProcess({ pid: 4712, ppid: 4711, start_ns: 1_000, comm: 'pt_data_worker', cmdline: CMDLINE, cgroup: CGROUP });
  w.addThread({ tid: 4711, pid: 4711, first_ns: 0, comm: 'python3' });
  w.addThread({ tid: 4712, pid: 4712, first_ns: 1_000, comm: 'pt_data_worker' });
  const cudart = { path: '/home/alice/venv/lib/python3.11/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12', build_id: 'abcdef01' };
  const acme = { path: '/home/alice/proj/build/acme-trainer' };
  const launchStack = w.internStack([
    { kind: 'native', address: 0x7f0000001000n, mapping: cudart, function: { name: 'cudaLaunchKernel' } },
    { kind: 'native', address: 0x400100n, mapping: acme, function: { name: 'acme::fused_attention(float*)', system_name: '_ZN4acme15fused_attentionEPf' } },
    { kind: 'python', function: { name: 'train_step', filename: '/home/alice/proj/train.py', start_line: 10 }, line: 12 },
    { kind: 'python', function: { name: 'forward', filename: '/home/alice/venv/lib/python3.11/site-packages/torch/nn/modules/module.py', start_line: 1500 }, line: 1511 },
  ]);
  const launch = opId('cudaLaunchKernel');
  const memcpy = opId('cudaMemcpy');
  const sched = opId('sched_switch');
  for (let i = 0; i < 400; i++) {
    const t = i * 100_000;
    w.appendEvent({ ts_ns: t, dur_ns: 5_000 + (i % 7) * 1_000, pid: 4711, tid: 4711, op_id: launch, arg0: 0x7f00_0000_1000n + BigInt(i % 3), arg1: 0, arg2: 1n | (1n << 32n), arg3: 256, ret: 0, stack_id: launchStack });
    if (i % 10 === 0) w.appendEvent({ ts_ns: t + 50_000, dur_ns: 80_000 + i * 10, pid: 4711, tid: 4711, op_id: memcpy, arg0: 1 << 20, arg1: 1, ret: 0 });
    if (i % 4 === 0) w.appendEvent({ ts_ns: t + 60_000, dur_ns: 20_000 + i, pid: 4712, tid: 4712, op_id: sched, arg0: 4711, arg1: 4711, arg2: 1 });
  }
  // The GPU side of a profiler import: kernels (a user's own and PyTorch's), interned names with
  // paths, a host and an e-mail in them, and on-CPU samples whose stacks only they use.
  const ownKernel = w.internKernel({ name: 'void acme::fused_attention_fwd<float>(float*)', grid: [80, 1, 1], block: [256, 1, 1] });
  const torchKernel = w.internKernel({ name: 'void at::native::vectorized_elementwise_kernel<4>(int, float*)' });
  const pyName = w.internName('/home/alice/proj/train.py(12): train_step');
  const pkgName = w.internName('/home/alice/venv/lib/python3.11/site-packages/torch/nn/modules/module.py(1511): forward');
  const stepName = w.internName(`ProfilerStep on ${HOST} for ${EMAIL}`);
  const category = w.internName('user_annotation');
  for (let i = 0; i < 20; i++) {
    const t = 41_000_000 + i * 100_000;
    w.appendEvent({ ts_ns: t, dur_ns: 5_000, pid: 4711, tid: 4711, op_id: opId('python_function'), arg0: i % 2 ? pyName : pkgName });
    w.appendEvent({ ts_ns: t + 1_000, dur_ns: 3_000, pid: 4711, tid: 4711, op_id: launch, corr_id: i + 1 });
    w.appendEvent({ ts_ns: t + 2_000, dur_ns: 1_000, pid: 4711, tid: 4711, op_id: opId('profiler_event'), arg0: stepName, arg1: category, arg2: 88 });
    w.appendEvent({ ts_ns: t + 10_000, dur_ns: 40_000, pid: 0, tid: 0, op_id: opId('kernel'), arg0: i % 3 ? ownKernel : torchKernel, arg2: 0, arg3: 7, corr_id: i + 1 });
  }
  const sampled = w.internStack([
    { kind: 'native', address: 0x400200n, mapping: acme, function: { name: 'acme::sampled_hot_loop(int)', system_name: '_ZN4acme16sampled_hot_loopEi' } },
    { kind: 'python', function: { name: 'load_batch', filename: '/home/alice/proj/loader.py', start_line: 3 }, line: 5 },
  ]);
  for (let i = 0; i < 30; i++) w.addCpuSample({ ts_ns: i * 1_000_000, pid: 4711, tid: 4711, cpu: i % 2, stack_id: i % 3 ? sampled : launchStack });
  w.addAnnotation({ ts_ns: 0, end_ns: 10_000_000, pid: 4711, labels: { owner: EMAIL, phase: 'warmup', step: '42' } });
  w.addAnnotation({ ts_ns: 20_000_000, pid: 4711, labels: { owner: EMAIL, phase: 'train', step: '43' } });
  w.addImportedFinding({ origin: 'ingero causal_chains', origin_id: `${HOST}:tail-high-cudaLaunchKernel`, severity: 'HIGH', op: 'cudaLaunchKernel', summary: `cudaLaunchKernel p99 3.2x p50 in /home/alice/proj/train.py on ${HOST} (${IP})`, recommendations: [`Ask ${EMAIL}`, 'Pin the training process with taskset'], timeline: [{ layer: 'CUDA', op: 'cudaLaunchKernel', detail: `${HOST} p99=11µs`, dur_us: 11 }] });
  w.addCaptureLoss({ probe: `uprobe:${cudart.path}:cudaLaunchKernel`, source_id: 1, emitted: 400, dropped: 0, note: 'nothing dropped' });
  await w.seal();
}

const secretBundle = join(work, 'secret.ingero');
const demoBundle = join(work, 'demo.ingero');

before(async () => {
  mkdirSync(cacheDir, { recursive: true });
  await writeSecretBundle(secretBundle);
  const r = ingero(['demo', 'cpu-contention', '-o', demoBundle, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
});

/** Every place the output's bytes can be read: the file, `zstd -dc` of it, the reader's database. */
function outputBytes(path: string): { name: string; bytes: Buffer }[] {
  const out = [{ name: 'bundle file', bytes: readFileSync(path) }];
  const z = spawnSync('zstd', ['-dc', path], { maxBuffer: 1 << 30 });
  if (z.status === 0) out.push({ name: 'zstd -dc', bytes: z.stdout });
  else assert.fail(`zstd -dc failed on ${path}: ${String(z.stderr)}`);
  const b = openBundle(path, { cacheDir });
  out.push({ name: 'decompressed database', bytes: readFileSync(b.databasePath) });
  b.close();
  return out;
}

function assertNoSecrets(path: string, secrets: readonly string[]): void {
  for (const { name, bytes } of outputBytes(path)) {
    for (const s of secrets) assert.equal(bytes.indexOf(Buffer.from(s)), -1, `${JSON.stringify(s)} found in the ${name} of ${basename(path)}`);
  }
}

const query = <T>(path: string, sql: string): T[] => {
  const b = openBundle(path, { cacheDir });
  try {
    return b.db.prepare(sql).all() as T[];
  } finally {
    b.close();
  }
};
const metadata = (path: string) => {
  const b = openBundle(path, { cacheDir });
  try {
    return b.metadata();
  } finally {
    b.close();
  }
};

/** Leftovers beside an output: the output itself, its staging files, temp files. */
const leftovers = (dir: string, name: string) => readdirSync(dir).filter((f) => f.startsWith(name));

let counter = 0;
async function redacted(options: Partial<RedactOptions> = {}, input = secretBundle): Promise<string> {
  const out = join(work, `lib-${++counter}.ingero`);
  await redactBundle(input, out, { toolVersion: 'test', cacheDir, ...options });
  return out;
}

describe('default policy, through the CLI', () => {
  const out = join(work, 'public.ingero');
  let stdout = '';
  before(() => {
    const r = ingero(['redact', secretBundle, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    stdout = r.stdout;
  });

  test('the planted secrets are nowhere in the output (file, zstd -dc, decompressed database)', () => {
    // The input does hold them: the scan would find them there.
    const input = outputBytes(secretBundle);
    for (const s of [TOKEN, HOST, EMAIL, POD, '/home/alice', SOURCE_SHA256]) assert.ok(input.some(({ bytes }) => bytes.includes(Buffer.from(s))), `planted ${s}`);
    assertNoSecrets(out, SECRETS);
  });

  test('ingero verify passes on the output, and the summary says what changed and where the result is', () => {
    const v = ingero(['verify', out]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(stdout, new RegExp(`^${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: redacted copy of `));
    for (const col of ['processes.cmdline', 'processes.cgroup', 'mappings.path', 'functions.filename', 'nodes.name', 'annotations.labels', 'metadata.value', 'imported_findings.summary']) assert.match(stdout, new RegExp(`${col.replace('.', '\\.')}\\s+\\d+ of \\d+`), col);
    assert.match(stdout, /random key for this run, not stored/);
    assert.ok(stdout.trim().split('\n').length <= 30, 'one screen');
  });

  test('what analysis needs is kept: basenames of libraries, argv[0], comm, symbols, facts; names become tokens', () => {
    const procs = query<{ pid: number; comm: string; cmdline: string; cgroup: string }>(out, 'SELECT pid, comm, cmdline, cgroup FROM processes ORDER BY pid');
    assert.match(procs[0]!.cmdline, /^python3 redacted:args:[0-9a-f]{8} \(5 arguments\)$/);
    assert.equal(procs[0]!.cmdline, procs[1]!.cmdline, 'the same command line gives the same token in two rows');
    assert.deepEqual(procs.map((p) => p.comm), ['python3', 'pt_data_worker']);
    assert.match(procs[0]!.cgroup, /^cri-containerd-redacted:id:[0-9a-f]{8}\.scope$/);
    assert.deepEqual(query<{ path: string }>(out, 'SELECT path FROM mappings ORDER BY id').map((r) => r.path), ['libcudart.so.12', 'acme-trainer']);
    assert.deepEqual(query<{ name: string; filename: string }>(out, 'SELECT name, filename FROM functions ORDER BY id').map((r) => [r.name, r.filename]), [
      ['cudaLaunchKernel', ''],
      ['acme::fused_attention(float*)', ''],
      ['train_step', 'train.py'],
      ['forward', 'module.py'],
      ['acme::sampled_hot_loop(int)', ''],
      ['load_batch', 'loader.py'],
    ]);
    // Kernel names are kept as symbols are; interned names are text: paths to basenames, names to tokens.
    assert.deepEqual(query<{ name: string }>(out, 'SELECT name FROM gpu_kernels ORDER BY id').map((r) => r.name), ['void acme::fused_attention_fwd<float>(float*)', 'void at::native::vectorized_elementwise_kernel<4>(int, float*)']);
    const names = query<{ name: string }>(out, 'SELECT name FROM names ORDER BY id').map((r) => r.name);
    assert.deepEqual(names.slice(0, 2), ['train.py(12): train_step', 'module.py(1511): forward']);
    assert.match(names[2]!, /^ProfilerStep on node-0 for redacted:email:[0-9a-f]{8}$/);
    assert.equal(names[3], 'user_annotation');
    // The samples keep their stacks, whose frames went through the same rules as the events'.
    assert.deepEqual(query(out, 'SELECT ts_ns, pid, tid, cpu, stack_id FROM cpu_samples ORDER BY rowid'), query(secretBundle, 'SELECT ts_ns, pid, tid, cpu, stack_id FROM cpu_samples ORDER BY rowid'));
    assert.deepEqual(query<{ name: string }>(out, 'SELECT name FROM nodes').map((r) => r.name), ['node-0']);
    const labels = query<{ labels: string }>(out, 'SELECT labels FROM annotations ORDER BY ts_ns').map((r) => JSON.parse(r.labels));
    assert.equal(labels[0].step, '42', 'numbers are kept');
    assert.match(labels[0].owner, /^redacted:label:[0-9a-f]{8}$/);
    assert.equal(labels[0].owner, labels[1].owner, 'the same label value gives the same token');
    assert.notEqual(labels[0].phase, labels[1].phase);
    const meta = metadata(out);
    assert.equal(meta['host.hostname'], 'node-0', 'the host name is the node pseudonym');
    assert.match(String(meta['host.ip']), /^redacted:ip:/);
    for (const k of ['host.kernel', 'host.cpu_model', 'host.cpu_cores', 'gpu.model', 'gpu.driver_version', 'cuda.runtime_version']) assert.deepEqual(meta[k], metadata(secretBundle)[k], `${k} kept`);
    assert.deepEqual((meta['recorder.options'] as { command: string[] }).command.length, 2);
    assert.equal((meta['recorder.options'] as { cuda_libs: string[] }).cuda_libs[0], 'libcudart.so.12');
    const finding = query<{ summary: string; origin_id: string }>(out, 'SELECT summary, origin_id FROM imported_findings')[0]!;
    assert.match(finding.summary, /^cudaLaunchKernel p99 3\.2x p50 in train\.py on node-0 \(redacted:ip:[0-9a-f]{8}\)$/);
    assert.equal(finding.origin_id, 'node-0:tail-high-cudaLaunchKernel');
  });

  test('the manifest carries no private string: producer command, host summary and nodes come from redacted data', () => {
    const b = openBundle(out, { cacheDir });
    const m = b.manifest;
    b.close();
    assert.match(m.producer.command, /^record redacted:args:[0-9a-f]{8} \(5 arguments\)$/);
    assert.deepEqual(m.nodes, ['node-0']);
    assert.equal(m.host['host.hostname'], 'node-0');
    assert.equal(m.host['gpu.model'], 'NVIDIA H100 80GB HBM3');
  });

  test('metadata key redaction records the policy, per-column counts, the version and the time', () => {
    const rec = metadata(out).redaction as Record<string, any>;
    assert.deepEqual(rec.policy.kept, ['symbols', 'comm']);
    assert.match(rec.policy.pseudonyms, /random key that was not stored/);
    assert.equal(rec.columns['processes.cmdline'], 2);
    assert.equal(rec.columns['nodes.name'], 1);
    assert.equal(rec.ingero_version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.ok(!Number.isNaN(Date.parse(rec.redacted_at)));
  });

  test('stats numbers are equal before and after, except the names', () => {
    // Names (node, process) and the probe of a capture-loss row (a library path) are redacted.
    const strip = (json: string) => JSON.parse(json, (k, v) => (k === 'node' || k === 'process' || k === 'probe' ? undefined : v));
    for (const args of [['--json'], ['--json', '--by-process']]) {
      const a = ingero(['stats', secretBundle, ...args]);
      const b = ingero(['stats', out, ...args]);
      assert.equal(a.code, 0, a.stderr);
      assert.deepEqual(strip(b.stdout), strip(a.stdout));
    }
  });
});

test('real imports: recorder flags, raw cgroup ids and login sessions leave every metadata key and processes.cgroup, pseudonymised consistently', async () => {
  for (const f of readdirSync(join(ROOT, 'investigations')).filter((f) => f.endsWith('.ingero'))) {
    const input = join(ROOT, 'investigations', f);
    const before = metadata(input);
    const out = await redacted({}, input);
    const after = metadata(out);
    // Every key of the output, not only the known ones: a private value must be nowhere.
    const text = JSON.stringify(after) + JSON.stringify(query<{ cgroup: string }>(out, 'SELECT cgroup FROM processes'));
    const sessions = (before['ingero.sessions'] ?? []) as { flags?: string; node?: string }[];
    const cgroups = (before['ingero.cgroups'] ?? []) as { cgroup_id: number; cgroup_path: string }[];
    const schedstat = (before['ingero.cgroup_schedstat'] ?? []) as { cgroup_id: number }[];
    assert.ok(cgroups.length > 0, `${f}: the import carries ingero.cgroups`);
    for (const s of sessions) if (s.flags) assert.ok(!text.includes(s.flags), `${f}: recorder flags ${s.flags} survived`);
    for (const c of [...cgroups, ...schedstat]) assert.ok(!text.includes(`"cgroup_id":${c.cgroup_id}`), `${f}: raw cgroup id ${c.cgroup_id} survived`);
    assert.doesNotMatch(text, /session-\d+\.scope|user-\d+\.slice/, `${f}: a login session or uid survived`);
    // The same id gets the same pseudonym in both keys, so per-cgroup statistics still join.
    const token = new Map(cgroups.map((c, i) => [c.cgroup_id, (after['ingero.cgroups'] as { cgroup_id: string }[])[i]!.cgroup_id]));
    (after['ingero.cgroup_schedstat'] as { cgroup_id: string }[]).forEach((s, i) => {
      assert.match(s.cgroup_id, /^redacted:cgroup:[0-9a-f]{8,}$/);
      if (token.has(schedstat[i]!.cgroup_id)) assert.equal(s.cgroup_id, token.get(schedstat[i]!.cgroup_id));
    });
    // What analysis needs stays: hardware facts and session times.
    const kept = (after['ingero.sessions'] as { gpu_model: string; started_at: string }[])[0]!;
    assert.equal(kept.gpu_model, sessions[0] && (before['ingero.sessions'] as { gpu_model: string }[])[0]!.gpu_model);
    assert.equal(kept.started_at, (before['ingero.sessions'] as { started_at: string }[])[0]!.started_at);
  }
});

test('explain finds the same problems in the same processes after redaction (demo and every investigation)', async () => {
  const inputs = [demoBundle, ...readdirSync(join(ROOT, 'investigations')).filter((f) => f.endsWith('.ingero')).map((f) => join(ROOT, 'investigations', f))];
  for (const input of inputs) {
    const out = join(work, `inv-${basename(input)}`);
    const r = ingero(['redact', input, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ingero(['verify', out]).code, 0, `verify ${out}`);
    const shape = (path: string) => {
      const rep = JSON.parse(ingero(['explain', path, '--json']).stdout);
      return { findings: rep.findings.map((f: any) => [f.kind, f.severity, f.op, f.pid, f.count, f.p50_ns, f.p99_ns]), imported: rep.imported_findings.map((f: any) => [f.severity, f.op, f.occurrences]), events: rep.bundle.events, span: rep.bundle.span_ns };
    };
    const before_ = shape(input);
    assert.deepEqual(shape(out), before_, basename(input));
    // Node names (host names, or the source file's name for imports) and cgroup directories are gone.
    const nodes = openBundle(input, { cacheDir }).manifest.nodes;
    assertNoSecrets(out, [...nodes.filter((n) => n !== 'local'), '/user.slice/', '/system.slice/']);
    if (input === demoBundle) assert.ok(before_.findings.some((f: unknown[]) => f[0] === 'cpu-contention'));
  }
});

test('pseudonyms: deterministic within a bundle, different across runs, stable with a key', async () => {
  const a = await redacted();
  const b = await redacted();
  const cmd = (p: string) => query<{ cmdline: string }>(p, 'SELECT cmdline FROM processes ORDER BY pid').map((r) => r.cmdline);
  assert.equal(cmd(a)[0], cmd(a)[1]);
  assert.notEqual(cmd(a)[0], cmd(b)[0], 'a random key per run: tokens cannot be matched across runs');
  const key = Buffer.alloc(32, 7);
  assert.deepEqual(cmd(await redacted({ key })), cmd(await redacted({ key })));
  const keyFile = join(work, 'key.bin');
  writeFileSync(keyFile, key);
  const outs = [join(work, 'k1.ingero'), join(work, 'k2.ingero')];
  for (const o of outs) assert.equal(ingero(['redact', secretBundle, '-o', o, '--key-file', keyFile]).code, 0);
  assert.deepEqual(cmd(outs[0]!), cmd(outs[1]!));
  assert.match((metadata(outs[0]!).redaction as any).policy.pseudonyms, /key kept by the user/);
  const short = join(work, 'short.key');
  writeFileSync(short, 'abc');
  const r = ingero(['redact', secretBundle, '-o', join(work, 'k3.ingero'), '--key-file', short]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ingero: .*short\.key: the key file holds 3 bytes, at least 16/);
});

test('every --keep option keeps its field as it was', async () => {
  const original = {
    cmdline: query<{ v: string }>(secretBundle, 'SELECT cmdline AS v FROM processes ORDER BY pid'),
    paths: query<{ v: string }>(secretBundle, 'SELECT path AS v FROM mappings ORDER BY id'),
    cgroups: query<{ v: string }>(secretBundle, 'SELECT cgroup AS v FROM processes ORDER BY pid'),
    hostnames: query<{ v: string }>(secretBundle, 'SELECT name AS v FROM nodes ORDER BY id'),
    labels: query<{ v: string }>(secretBundle, 'SELECT labels AS v FROM annotations ORDER BY ts_ns'),
    findings: query<{ v: string }>(secretBundle, 'SELECT summary || recommendations AS v FROM imported_findings'),
  };
  const sql = { cmdline: 'SELECT cmdline AS v FROM processes ORDER BY pid', paths: 'SELECT path AS v FROM mappings ORDER BY id', cgroups: 'SELECT cgroup AS v FROM processes ORDER BY pid', hostnames: 'SELECT name AS v FROM nodes ORDER BY id', labels: 'SELECT labels AS v FROM annotations ORDER BY ts_ns', findings: 'SELECT summary || recommendations AS v FROM imported_findings' };
  for (const field of Object.keys(original) as (keyof typeof original)[]) {
    // Kept paths keep their directories; the user names in them are a field of their own (below).
    const out = await redacted({ keep: field === 'paths' ? ['paths', 'users'] : [field] });
    assert.deepEqual(query(out, sql[field]), original[field], `--keep ${field}`);
    const other = await redacted();
    assert.notDeepEqual(query(other, sql[field]), original[field], `${field} is redacted by default`);
  }
  const noUsers = await redacted({ keep: ['paths'] });
  assert.match(query<{ v: string }>(noUsers, sql.paths)[0]!.v, /^\/home\/redacted:user:[0-9a-f]{8}\/venv\//);
  // symbols and comm are kept by default; --symbols and --comm hide them.
  const fn = (p: string) => query<{ name: string; system_name: string; filename: string }>(p, 'SELECT name, system_name, filename FROM functions ORDER BY id');
  const hidden = fn(await redacted({ symbols: true }));
  assert.equal(hidden[0]!.name, 'cudaLaunchKernel', 'shared-library symbols stay');
  assert.match(hidden[1]!.name, /^redacted:symbol:[0-9a-f]{8}$/);
  assert.equal(hidden[1]!.name, hidden[1]!.system_name);
  assert.match(hidden[2]!.name, /^redacted:symbol:/);
  assert.match(hidden[2]!.filename, /^redacted:file:/);
  assert.equal(hidden[3]!.name, 'forward', 'site-packages frames stay');
  assert.match(hidden[4]!.name, /^redacted:symbol:/, 'a frame only on-CPU samples use is hidden like the others');
  assert.match(hidden[5]!.filename, /^redacted:file:/);
  // GPU code: a kernel no GPU library names as its own is hashed like an executable's symbol,
  // PyTorch's stays; a Python function outside packages is hashed, a package's kept.
  const symbols = await redacted({ symbols: true });
  const kernels = query<{ name: string }>(symbols, 'SELECT name FROM gpu_kernels ORDER BY id').map((r) => r.name);
  assert.match(kernels[0]!, /^redacted:symbol:[0-9a-f]{8}$/);
  assert.equal(kernels[1], 'void at::native::vectorized_elementwise_kernel<4>(int, float*)');
  const names = query<{ name: string }>(symbols, 'SELECT name FROM names ORDER BY id').map((r) => r.name);
  assert.match(names[0]!, /^redacted:symbol:[0-9a-f]{8}$/);
  assert.equal(names[1], 'module.py(1511): forward');
  assertNoSecrets(symbols, [...SECRETS, 'fused_attention', 'sampled_hot_loop', 'train_step', 'loader.py', '_ZN4acme']);
  // The exported trace names the hidden kernel by its token too.
  const trace = join(work, 'symbols.json');
  assert.equal(ingero(['export', symbols, '-o', trace, '--no-findings']).code, 0);
  const text = readFileSync(trace, 'utf8');
  assert.ok(!text.includes('fused_attention') && text.includes(kernels[0]!));
  const comm = await redacted({ comm: true });
  for (const r of query<{ comm: string }>(comm, 'SELECT comm FROM processes UNION ALL SELECT comm FROM threads')) assert.match(r.comm, /^redacted:comm:[0-9a-f]{8}$/);
  assert.match(query<{ cmdline: string }>(comm, 'SELECT cmdline FROM processes')[0]!.cmdline, /^redacted:comm:[0-9a-f]{8} redacted:args:/, 'argv[0] named like the task is hidden too');
  assertNoSecrets(comm, ['pt_data_worker']);
});

test('free text: what names a place or a person goes, versions, C++ names, ratios and kernel paths stay', async () => {
  const input = join(work, 'text.ingero');
  const w = BundleWriter.create(input, { originUnixNs: 0n, producer: version });
  const unchanged = ['5.15.0-173-generic', 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz', 'at 12:34:56 the p99/p50 ratio was 3.2', 'c10::cuda::CUDACachingAllocator::malloc', '1.0 GB/s into libcudart.so.12', 'pre-load data to /dev/shm', 'train.py and MANIFEST.in'];
  const changed: [string, RegExp][] = [
    ['see https://wiki.corp.example.com/run?token=abc', /^see redacted:url:[0-9a-f]{8}$/],
    ['peer fe80::1ff:fe23:4567:890a and 2001:db8::1', /^peer redacted:ip:[0-9a-f]{8} and redacted:ip:[0-9a-f]{8}$/],
    ['on ip-10-0-1-23 (192.168.7.40)', /^on redacted:host:[0-9a-f]{8} \(redacted:ip:[0-9a-f]{8}\)$/],
    ['weights C:\\Users\\bob\\models\\model.bin', /^weights model\.bin$/],
    ['cache ~bob/.cache/torch/hub.pt, by bob', /^cache hub\.pt, by redacted:user:[0-9a-f]{8}$/],
    ['mail bob@example.org', /^mail redacted:email:[0-9a-f]{8}$/],
  ];
  w.setMetadata('notes', [...unchanged, ...changed.map(([s]) => s)]);
  w.appendEvent({ ts_ns: 0, dur_ns: 1, pid: 1, tid: 1, op_id: opId('cudaMalloc'), arg0: 1 });
  await w.seal();
  const out = await redacted({}, input);
  const notes = metadata(out).notes as string[];
  assert.deepEqual(notes.slice(0, unchanged.length), unchanged);
  changed.forEach(([, re], i) => assert.match(notes[unchanged.length + i]!, re));
  assertNoSecrets(out, ['bob', 'example', '10-0-1-23', '192.168', 'fe80', 'db8', 'Users']);
});

test('tables and columns the schema does not define are left out, with what they held', async () => {
  const input = join(work, 'extended.ingero');
  const w = BundleWriter.create(input, { originUnixNs: 0n, producer: version });
  w.addProcess({ pid: 1, comm: 'init' });
  w.appendEvent({ ts_ns: 0, dur_ns: 1, pid: 1, tid: 1, op_id: opId('cudaMalloc'), arg0: 1 });
  w.flush();
  // A newer producer may add tables and columns (the spec allows it); nothing vouches for them.
  const db = new Database(w.stagingPath);
  db.exec(`CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('${TOKEN}'); ALTER TABLE processes ADD COLUMN env TEXT; UPDATE processes SET env = 'HOME=/home/alice'`);
  db.close();
  await w.seal();
  const r = await redactBundle(input, join(work, 'extended-out.ingero'), { toolVersion: 'test', cacheDir });
  assert.deepEqual(r.leftOut, ['notes', 'processes.env']);
  assertNoSecrets(join(work, 'extended-out.ingero'), [TOKEN, 'alice']);
  assert.equal(ingero(['verify', join(work, 'extended-out.ingero')]).code, 0);
});

test('--drop empties command lines and label values and deletes imported findings', async () => {
  const out = await redacted({ drop: ['cmdline', 'labels', 'findings'] });
  assert.deepEqual(query(out, 'SELECT DISTINCT cmdline FROM processes'), [{ cmdline: '' }]);
  assert.deepEqual(query(out, 'SELECT DISTINCT labels FROM annotations'), [{ labels: '{}' }]);
  assert.deepEqual(query(out, 'SELECT count(*) AS n FROM imported_findings'), [{ n: 0 }]);
  assert.deepEqual((metadata(out).redaction as any).deleted_rows, { imported_findings: 1 });
  assert.deepEqual((metadata(out)['recorder.options'] as any).command, []);
});

test('--dry-run prints the summary and writes nothing', () => {
  const out = join(work, 'dry.ingero');
  const r = ingero(['redact', secretBundle, '-o', out, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dry run, nothing written/);
  assert.match(r.stdout, /processes\.cmdline\s+2 of 2/);
  assert.deepEqual(leftovers(work, 'dry.ingero'), []);
  const j = ingero(['redact', secretBundle, '--dry-run', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const rep = JSON.parse(j.stdout);
  assert.equal(rep.output, null);
  assert.ok(rep.columns.some((c: any) => c.table === 'processes' && c.column === 'cmdline' && c.changed === 2));
});

describe('bad input: one line, an exit code, nothing left behind', () => {
  const oneLine = (r: { code: number | null; stderr: string }, code: number, re: RegExp) => {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  };

  test('missing, truncated and non-bundle inputs', () => {
    const out = join(work, 'bad-out.ingero');
    oneLine(ingero(['redact', join(work, 'nope.ingero'), '-o', out]), 1, /^ingero: .*nope\.ingero: no such file/);
    const cut = join(work, 'cut.ingero');
    copyFileSync(secretBundle, cut);
    truncateSync(cut, 3000);
    oneLine(ingero(['redact', cut, '-o', out]), 1, /^ingero: .*cut\.ingero: /);
    const text = join(work, 'text.ingero');
    writeFileSync(text, 'hello, not a bundle\n'.repeat(100));
    oneLine(ingero(['redact', text, '-o', out]), 1, /^ingero: .*text\.ingero: /);
    assert.deepEqual(leftovers(work, 'bad-out'), []);
  });

  test('existing output is refused unless --force; output equal to the input is refused', () => {
    const out = join(work, 'exists.ingero');
    writeFileSync(out, 'precious');
    oneLine(ingero(['redact', secretBundle, '-o', out]), 1, /exists\.ingero: already exists — choose another name, or pass --force/);
    assert.equal(readFileSync(out, 'utf8'), 'precious');
    assert.equal(ingero(['redact', secretBundle, '-o', out, '--force']).code, 0);
    assert.equal(ingero(['verify', out]).code, 0);
    oneLine(ingero(['redact', secretBundle, '-o', secretBundle, '--force']), 1, /is the input bundle — write the redacted copy to another file/);
    oneLine(ingero(['redact', secretBundle, '-o', `${work}/./secret.ingero`, '--force']), 1, /is the input bundle/);
    assert.deepEqual(leftovers(work, 'exists.ingero'), ['exists.ingero']);
  });

  test('a staging file left by an interrupted run is refused unless --force', () => {
    const out = join(work, 'interrupted.ingero');
    writeFileSync(stagingPathFor(out), 'partial');
    oneLine(ingero(['redact', secretBundle, '-o', out]), 1, /interrupted\.ingero\.staging: left by an interrupted run — delete it, or pass --force/);
    assert.equal(ingero(['redact', secretBundle, '-o', out, '--force']).code, 0);
    assert.deepEqual(leftovers(work, 'interrupted'), ['interrupted.ingero']);
  });

  test('missing or unwritable directory, wrong arguments', () => {
    oneLine(ingero(['redact', secretBundle, '-o', join(work, 'no-dir', 'x.ingero')]), 1, /no-dir: no such directory/);
    oneLine(ingero(['redact', secretBundle]), 2, /^ingero: no output given/);
    oneLine(ingero(['redact', secretBundle, '-o', join(work, 'y.ingero'), '--keep', 'cmdline,passwords']), 2, /--keep: unknown field "passwords" — choose from cmdline, paths/);
    oneLine(ingero(['redact', secretBundle, '-o', join(work, 'y.ingero'), '--symbols', '--keep', 'symbols']), 2, /contradict/);
    oneLine(ingero(['redact', secretBundle, '-o', join(work, 'y.ingero'), '--keep', 'labels', '--drop', 'labels']), 2, /both kept and dropped/);
    assert.deepEqual(leftovers(work, 'y.ingero'), []);
    if (process.getuid?.() === 0) return; // root writes anywhere: permissions cannot be tested
    const ro = join(work, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    oneLine(ingero(['redact', secretBundle, '-o', join(ro, 'x.ingero')]), 1, /permission denied/);
    assert.deepEqual(readdirSync(ro), []);
  });

  test('disk full: one line, neither the output nor its staging file left', async (t) => {
    await withTmpfs(t, join(work, 'tiny'), '200k', async (mnt) => {
      const r = ingero(['redact', demoBundle, '-o', join(mnt, 'full.ingero')]);
      oneLine(r, 1, /full\.ingero: disk full while writing the redacted bundle — nothing was written; free space and run again/);
      assert.deepEqual(readdirSync(mnt), []);
      // The same directory made unwritable (root ignores permissions, not a read-only mount).
      assert.equal(spawnSync('mount', ['-o', 'remount,ro', mnt]).status, 0);
      oneLine(ingero(['redact', secretBundle, '-o', join(mnt, 'ro.ingero')]), 1, /read-only file system while writing the redacted bundle — write somewhere else/);
      assert.deepEqual(readdirSync(mnt), []);
    });
  });
});

// What a new user meets, run as they would from their own directory: one clock (a "When" copied
// from explain or a span copied from info, pasted into export --from/--to, selects the finding's
// events), one grammar for times, summaries as JSON, and a selection that matches nothing said
// plainly instead of an empty trace.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { durationNs } from '../analyze/format-units.ts';
import { SCENARIOS } from '../analyze/index.ts';
import { assertOneLineError, CLI, OUTSIDE_CHECKOUT, ROOT, runCli } from './cli-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-new-user-'));
after(() => rmSync(work, { recursive: true, force: true }));
const ingero = (...args: string[]) => runCli(args, { cacheDir: join(work, 'cache'), env: { NO_COLOR: '1' } });
const FLAGSHIP = join(ROOT, 'investigations', 'pytorch-dataloader-starvation.ingero');

/** event_ids in an exported Chrome trace. */
function exportedIds(path: string): Set<number> {
  return new Set([...readFileSync(path, 'utf8').matchAll(/"event_id":(\d+)/g)].map((m) => Number(m[1])));
}

describe('one clock: the bundle clock everywhere', () => {
  const report = JSON.parse(ingero('explain', FLAGSHIP, '--json').stdout) as { findings: { kind: string; pid: number; from_ns: number; to_ns: number; evidence: { event_ids?: number[] }[] }[] };
  const sql = (query: string) => JSON.parse(ingero('sql', FLAGSHIP, query, '--json').stdout) as Record<string, number>[];

  test('the flagship starts 13.2 s after its origin, so counting from the first event would differ', () => {
    assert.equal(sql('SELECT min(ts_ns) AS t FROM events')[0]!.t, 13_210_657_601);
  });

  test('each finding\'s "When", pasted into export --from/--to, exports its events', () => {
    const text = ingero('explain', FLAGSHIP).stdout;
    const whens = [...text.matchAll(/When: (.+?) → (.+?) \(bundle clock\)/g)];
    assert.equal(whens.length, report.findings.length, 'one "When" per finding, on the bundle clock');
    assert.ok(report.findings.length > 0, 'the flagship has findings');
    report.findings.slice(0, 3).forEach((f, i) => {
      const [, from, to] = whens[i]!;
      // Printed outward: the pasted window holds the finding's own.
      assert.ok(Number(durationNs(from!)) <= f.from_ns && Number(durationNs(to!)) >= f.to_ns, `${from} → ${to} holds ${f.from_ns} → ${f.to_ns}`);
      const out = join(work, `when-${i}.json`);
      const r = ingero('export', FLAGSHIP, '-o', out, '--no-findings', '--from', from!, '--to', to!);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^wrote .*when-${i}\\.json from ${from!.replace('.', '\\.')} to ${to!.replace('.', '\\.')} \\(bundle clock\\): `));
      // Its events: those it cites, and its process's events inside its window.
      const inside = sql(`SELECT id FROM events WHERE ts_ns >= ${f.from_ns} AND ts_ns < ${f.to_ns}${f.pid ? ` AND pid = ${f.pid}` : ''} ORDER BY id LIMIT 200`).map((e) => e.id!);
      const wanted = [...f.evidence.flatMap((e) => e.event_ids ?? []), ...inside];
      assert.ok(wanted.length > 0, `${f.kind} has events in its window`);
      const ids = exportedIds(out);
      for (const id of wanted) assert.ok(ids.has(id), `${f.kind}: event ${id} is in the export of ${from} → ${to}`);
    });
  });

  test('export --from 13.3s --to 13.5s (the issue\'s example) holds the 25.8 ms cudaLaunchKernel at 13.37 s', () => {
    const [slowest] = sql("SELECT e.id, e.ts_ns FROM events e JOIN ops o ON o.id = e.op_id WHERE o.name = 'cudaLaunchKernel' ORDER BY e.dur_ns DESC LIMIT 1");
    assert.ok(slowest!.ts_ns > 13.36e9 && slowest!.ts_ns < 13.38e9, `at ${slowest!.ts_ns} ns on the bundle clock`);
    const out = join(work, 'wide.json');
    const r = ingero('export', FLAGSHIP, '-o', out, '--no-findings', '--from', '13.3s', '--to', '13.5s');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(exportedIds(out).has(slowest!.id!), `event ${slowest!.id} is in the export`);
  });

  test('info states the clock, and its span pasted into export selects every event', () => {
    const info = ingero('info', FLAGSHIP);
    const clock = /^clock\s+(.+?) → (.+?) on the bundle clock \(time since the origin 2026-03-20T14:06:00\.000000000Z; ts_ns in SQL\)$/m.exec(info.stdout);
    assert.ok(clock, info.stdout);
    const r = ingero('export', FLAGSHIP, '-o', join(work, 'all.json'), '--no-findings', '--from', clock[1]!, '--to', clock[2]!, '--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { events: number; from_ns: number; clock: string };
    assert.equal(summary.events, 3807, 'all 3,807 events of the bundle');
    assert.equal(summary.from_ns, 13_210_000_000);
    assert.match(summary.clock, /^bundle/);
    assert.equal(r.stderr, '', '--json replaces the summary line');
  });

  test('one grammar for times: what ingero prints parses back', () => {
    assert.equal(durationNs('13.37 s'), 13_370_000_000n);
    assert.equal(durationNs('1 min 35 s'), 95_000_000_000n);
    assert.equal(durationNs('73.2 µs'), 73_200n);
    assert.equal(durationNs('250us'), 250_000n);
    assert.equal(durationNs('1.5ms'), 1_500_000n);
    assert.equal(durationNs('2'), 2_000_000_000n, 'a bare number is seconds');
    assert.equal(durationNs('0'), 0n);
    for (const bad of ['', '1 35', '-1s', '1.2.3s', '5 parsecs', '1e3']) assert.equal(durationNs(bad), null, bad);
    const r = ingero('export', FLAGSHIP, '-o', join(work, 'bad.json'), '--from', 'soon');
    assert.equal(r.code, 2);
    assertOneLineError(r, /--from takes a time on the bundle clock like 500ms, 30s, 5m, 1h or 13\.37 s/);
  });
});

describe('explain and stats selections that match nothing: refused, not an empty report', () => {
  for (const [command, what, args] of [
    ['explain', '--pid 99999', ['--pid', '99999']],
    ['stats', '--pid 99999', ['--pid', '99999']],
    ['explain', 'a window after the end', ['--from', '5m']],
    ['stats', 'a window after the end', ['--from', '5m', '--json']],
  ] as const) {
    test(`${command} ${what}: one line naming what the bundle holds, exit 1, nothing on stdout`, () => {
      const r = ingero(command, FLAGSHIP, ...args);
      assert.equal(r.code, 1);
      assertOneLineError(r, /no events match .*, so there is nothing to analyse — this bundle's events run 13\.21 s → 1 min 31 s on the bundle clock, its processes are pids 1, 429, 562, 2233, .*, …$/);
      assert.equal(r.stdout, '', 'no "no problems found" report, no empty table');
    });
  }

  test('a selection that holds events is analysed as before', () => {
    const r = ingero('stats', FLAGSHIP, '--pid', '2233', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { events: number }).events > 0);
  });
});

describe('wrong arguments: one line naming the problem and where the usage is, exit 2', () => {
  for (const [what, args, problem] of [
    ['a missing argument', ['info'], /missing required argument 'bundle' — see ingero info --help$/],
    ['too many arguments', ['info', FLAGSHIP, 'extra'], /too many arguments for 'info'.* — see ingero info --help$/],
    ['an unknown option', ['stats', FLAGSHIP, '--bogus'], /unknown option '--bogus' — see ingero stats --help$/],
    ['an option without its value', ['demo', '--seed'], /option '--seed <n>' argument missing — see ingero demo --help$/],
    ['an unknown command', ['explian', FLAGSHIP], /unknown command 'explian' \(Did you mean explain\?\) — see ingero --help$/],
  ] as const) {
    test(what, () => {
      const r = ingero(...args);
      assert.equal(r.code, 2);
      assertOneLineError(r, problem);
    });
  }
});

describe('paths that are not what a command needs', () => {
  test('a directory where a bundle belongs names the commands that read directories', () => {
    const r = ingero('explain', work);
    assert.equal(r.code, 1);
    assertOneLineError(r, /is a directory, not a bundle file — name a \.ingero file in it \(stats --dir, query and mcp --dir read a directory of bundles\)$/);
  });

  test('an output in a directory that does not exist: one line naming it, no staging file left', () => {
    const out = join(work, 'no-such-dir', 'demo.ingero');
    const r = ingero('demo', 'healthy', '-o', out);
    assert.equal(r.code, 1);
    assertOneLineError(r, /no-such-dir is not an existing directory — create it or choose another output path$/);
    assert.equal(existsSync(join(work, 'no-such-dir')), false);
  });
});

describe('export selections that match nothing', () => {
  for (const [what, args] of [['--pid 99999', ['--pid', '99999']], ['a window after the end', ['--from', '5m']]] as const) {
    test(`${what}: one line naming what the bundle holds, exit 1, nothing written`, () => {
      const out = join(work, 'nothing.json');
      const r = ingero('export', FLAGSHIP, '-o', out, ...args);
      assert.equal(r.code, 1);
      assertOneLineError(r, /no events match .*, so nothing was written — this bundle's events run 13\.21 s → 1 min 31 s on the bundle clock, its processes are pids 1, 429, 562, 2233, .*, …$/);
      assert.throws(() => readFileSync(out), /ENOENT/);
      assert.throws(() => readFileSync(`${out}.tmp`), /ENOENT/);
    });
  }
});

describe('fits the terminal: explain, stats and diff at 80 columns', () => {
  const chars = (l: string) => [...l].length;
  const widest = (text: string) => Math.max(...text.split('\n').map(chars));
  const narrow = (...args: string[]) => runCli(args, { cacheDir: join(work, 'cache'), env: { NO_COLOR: '1', COLUMNS: '80' } });
  const healthy = join(work, 'healthy.ingero');
  const stall = join(work, 'stall.ingero');

  test('with COLUMNS=80 every line fits; piped without it, lines stay whole for grep', () => {
    assert.equal(ingero('demo', 'healthy', '-o', healthy).code, 0);
    assert.equal(ingero('demo', 'sync-stall', '-o', stall).code, 0);
    for (const args of [['explain', FLAGSHIP], ['stats', FLAGSHIP], ['stats', FLAGSHIP, '--by-process'], ['diff', healthy, stall, '--by-process']]) {
      const long = ingero(...args);
      const fitted = narrow(...args);
      assert.equal(fitted.code, 0, fitted.stderr);
      assert.ok(widest(long.stdout) > 100, `${args[0]} piped keeps its long lines (${widest(long.stdout)} wide)`);
      assert.ok(widest(fitted.stdout) <= 80, `${args.join(' ')} at 80 columns is ${widest(fitted.stdout)} wide:\n${fitted.stdout}`);
      // Nothing is lost: every word of the long form is in the fitted one.
      const words = (t: string) => t.split(/\s+/).filter(Boolean).sort();
      if (args[0] === 'explain') assert.deepEqual(words(fitted.stdout), words(long.stdout));
    }
    const stats = narrow('stats', FLAGSHIP).stdout;
    assert.match(stats, /^cudaLaunchKernel {2}cuda\n {2}COUNT \d[\d,]* {3}TOTAL \S+ \S+ {3}P50 /m, 'one block per op when the table does not fit');
  });
});

describe('summaries as JSON, demo sizes and stacks, record refusing to overwrite', () => {
  test('demo --events N gives about N events; --json prints the summary; --list --json the scenarios', () => {
    const out = join(work, 'sized.ingero');
    const r = ingero('demo', 'cpu-contention', '-o', out, '--events', '20000', '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { path: string; scenario: string; root_cause: string; events: number; bytes: number };
    assert.equal(s.path, out);
    assert.equal(s.scenario, 'cpu-contention');
    assert.equal(s.root_cause, 'cpu-contention');
    assert.ok(Math.abs(s.events - 20_000) <= 2_000, `about 20,000 events, got ${s.events}`);
    assert.equal(JSON.parse(ingero('info', out, '--json').stdout).manifest.counts.events, s.events);
    const list = JSON.parse(ingero('demo', '--list', '--json').stdout) as { name: string }[];
    assert.ok(list.some((x) => x.name === 'sync-stall-stacks'));
    const small = ingero('demo', 'healthy', '-o', join(work, 'tiny.ingero'), '--events', '50');
    assert.equal(small.code, 2);
    assertOneLineError(small, /--events must be at least 10,000/);
  });

  test('demo --list names every cause of a scenario that holds two, in text and in JSON; writing one says both', () => {
    const mixed = SCENARIOS.filter((s) => s.secondCause !== undefined);
    assert.ok(mixed.length >= 3, 'the mixed scenarios are there');
    const text = ingero('demo', '--list').stdout.split('\n');
    const json = JSON.parse(ingero('demo', '--list', '--json').stdout) as { name: string; root_cause: string | null; causes: string[] }[];
    for (const s of mixed) {
      const line = text.find((l) => l.startsWith(`${s.name} `));
      assert.ok(line, `${s.name} is listed`);
      assert.match(line, new RegExp(` ${s.rootCause} and ${s.secondCause}$`), `${s.name}: both causes on its line`);
      assert.deepEqual(json.find((x) => x.name === s.name)?.causes, [s.rootCause, s.secondCause]);
    }
    assert.deepEqual(json.find((x) => x.name === 'healthy')?.causes, []);
    const r = ingero('demo', mixed[0]!.name, '-o', join(work, 'mixed.ingero'), '--events', '10000');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\(root causes: ${mixed[0]!.rootCause} and ${mixed[0]!.secondCause}\\)`));
  });

  test('demo sync-stall-stacks: the CUDA calls carry Python and native stacks', () => {
    const out = join(work, 'stacks.ingero');
    assert.equal(ingero('demo', 'sync-stall-stacks', '-o', out).code, 0);
    const r = ingero('sql', out, "SELECT count(*) AS n FROM events e JOIN ops o ON o.id = e.op_id WHERE o.name = 'cudaDeviceSynchronize' AND e.stack_id IS NULL", '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [{ n: 0 }], 'every sync has its stack');
    assert.match(ingero('explain', out).stdout, /\[HIGH\] sync-stall/, 'the scenario\'s root cause');
  });

  test('recover --json prints the summary line as JSON', async () => {
    const { BundleWriter, opId, stagingPathFor } = await import('../format/index.ts');
    const out = join(work, 'interrupted.ingero');
    // A seal that fails (bad options) leaves the staging data, as an interrupted recording does.
    const w = BundleWriter.create(out, { originUnixNs: 0n, producer: { name: 'test', version: '0', command: 'recover test' }, frameBytes: 100 << 20 });
    for (let i = 0; i < 100; i++) w.appendEvent({ ts_ns: 1000 * i, dur_ns: 10, pid: 1, tid: 1, op_id: opId('cudaMalloc') });
    await assert.rejects(w.seal());
    const r = ingero('recover', stagingPathFor(out), '--json');
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { path: string; events: number; bytes: number; sha256: string };
    assert.equal(s.events, 100);
    assert.match(s.sha256, /^[0-9a-f]{64}$/);
    assert.equal(r.stderr, '');
  });

  test('record -o an existing file refuses without --force (before tracing anything); a directory is refused', () => {
    const existing = join(work, 'earlier.ingero');
    const keep = readFileSync(FLAGSHIP);
    writeFileSync(existing, keep);
    const r = ingero('record', '-o', existing, '--', '/bin/true');
    assert.equal(r.code, 1);
    assertOneLineError(r, /earlier\.ingero exists — pass --force to overwrite it, or choose another -o/);
    assert.ok(readFileSync(existing).equals(keep), 'the earlier recording is untouched');
    const dir = ingero('record', '-o', work, '--', '/bin/true');
    assert.equal(dir.code, 1);
    assertOneLineError(dir, /is a directory — give a file name/);
  });
});

describe('on a real terminal (tmux, 80 columns): fitted output and progress bars', () => {
  const hasTmux = spawnSync('tmux', ['-V']).status === 0;
  const NO_TMUX = 'SKIPPED: tmux is not installed (scripts/setup.sh installs it): the real-terminal checks of width and progress did not run';
  if (!hasTmux) process.stderr.write(`${NO_TMUX}\n`);
  const socket = `ingero-new-user-${process.pid}`;
  after(() => {
    if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  });

  /** Runs `ingero ARGS` in an 80×30 terminal; its screen (joined, with history) and everything it wrote, escapes included. */
  async function inTerminal(name: string, args: string[]): Promise<{ screen: string; raw: string; status: string }> {
    const raw = join(work, `${name}.raw`);
    const status = join(work, `${name}.status`);
    const quoted = args.map((a) => `'${a}'`).join(' ');
    // The pause lets pipe-pane attach before the first byte.
    const command = `sleep 0.5; NO_COLOR=1 INGERO_CACHE_DIR='${join(work, 'cache')}' '${process.execPath}' '${CLI}' ${quoted}; echo $? > '${status}'; sleep 60`;
    execFileSync('tmux', ['-L', socket, 'new-session', '-d', '-s', name, '-c', OUTSIDE_CHECKOUT, '-x', '80', '-y', '30', command]);
    execFileSync('tmux', ['-L', socket, 'set-option', '-t', name, 'history-limit', '5000']);
    execFileSync('tmux', ['-L', socket, 'pipe-pane', '-t', name, `cat >> '${raw}'`]);
    const end = Date.now() + 60_000;
    while (!existsSync(status) && Date.now() < end) await delay(100);
    assert.ok(existsSync(status), `ingero ${args.join(' ')} finished within 60 s`);
    const screen = execFileSync('tmux', ['-L', socket, 'capture-pane', '-p', '-J', '-S', '-', '-t', name], { encoding: 'utf8' });
    spawnSync('tmux', ['-L', socket, 'kill-session', '-t', name]);
    return { screen, raw: readFileSync(raw, 'utf8'), status: readFileSync(status, 'utf8').trim() };
  }

  test('explain fits 80 columns and draws its progress on stderr; piped, stderr stays empty', { skip: hasTmux ? false : NO_TMUX }, async () => {
    const t = await inTerminal('explain', ['explain', FLAGSHIP]);
    assert.equal(t.status, '0');
    assert.match(t.screen, /INCIDENT REPORT/);
    // -J joins the lines the terminal itself wrapped: any line over 80 would show here.
    for (const l of t.screen.split('\n')) assert.ok([...l].length <= 80, `fits 80 columns: ${JSON.stringify(l)}`);
    assert.match(t.raw, /\r\[[#.]{30}\] +\d+% [\d.]+ s analysing: /, 'a progress bar with the analysis phase');
    assert.match(t.raw, /\r\u001b\[K/, 'and erased before the report');
    const piped = ingero('explain', FLAGSHIP);
    assert.equal(piped.stderr, '', 'no bar when stderr is not a terminal');
  });

  test('export, verify, stats, diff, redact and demo show a bar on a terminal, none when piped', { skip: hasTmux ? false : NO_TMUX }, async () => {
    const healthy = join(work, 'bar-healthy.ingero');
    assert.equal(ingero('demo', 'healthy', '-o', healthy, '--events', '10000').code, 0);
    for (const [name, args, phase] of [
      ['export', ['export', FLAGSHIP, '-o', join(work, 'bar.json'), '--force'], /analysis: /],
      ['verify', ['verify', FLAGSHIP], /verifying /],
      ['stats', ['stats', FLAGSHIP], /computing statistics/],
      ['diff', ['diff', healthy, FLAGSHIP], /AFTER: analysing: /],
      ['redact', ['redact', FLAGSHIP, '-o', join(work, 'bar-public.ingero'), '--force'], /redacting /],
      ['demo', ['demo', 'healthy', '-o', join(work, 'bar-demo.ingero'), '--force', '--events', '10000'], /generating healthy, about 10,000/],
    ] as const) {
      const t = await inTerminal(name, [...args]);
      assert.equal(t.status, '0', `${name} exit status`);
      assert.match(t.raw, new RegExp(`\\r\\[[#.]{30}\\] +\\d+% [\\d.]+ s ${phase.source}`), `${name} draws a bar`);
      const piped = ingero(...args);
      assert.doesNotMatch(piped.stderr, /\r|\[[#.]{30}\]/, `${name} piped: no bar`);
    }
  });
});

test('the README\'s command table lists the commands of ingero --help, in order, with the flags each command has and no others', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `(?:sudo )?ingero (\w+)([^`]*)`(?: \/ `ingero \w+ ([^`]*)`)? \|/gm)];
  const help = ingero('--help').stdout;
  const commands = [...help.slice(help.indexOf('Commands:')).matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  // A command may take several rows (import of each source kind): consecutive ones count once.
  const listed = rows.map((r) => r[1]!).filter((c, i, all) => c !== all[i - 1]);
  assert.deepEqual(listed, commands, 'the same commands in the same order');
  const usages = new Map<string, string>();
  for (const [, command, usage, alternative] of rows) usages.set(command!, `${usages.get(command!) ?? ''} ${usage} ${alternative ?? ''}`);
  for (const [command, usage] of usages) {
    const own = ingero(command, '--help').stdout;
    for (const [flag] of usage.matchAll(/--[a-z][a-z-]*/g)) assert.ok(own.includes(flag), `ingero ${command} --help has the README's ${flag}`);
    // The other way: every option of the command is in its rows, by its long or its short name.
    const options = [...own.slice(own.indexOf('Options:')).matchAll(/^ {2}(?:(-\w), )?(--[a-z][a-z-]*)/gm)].filter((m) => m[2] !== '--help');
    assert.ok(options.length > 0, `ingero ${command} --help lists its options`);
    for (const [, short, long] of options) {
      const named = (flag: string | undefined) => flag !== undefined && new RegExp(`(^|[\\s\\[|])${flag}\\b`).test(usage);
      assert.ok(named(long) || named(short), `the README's row for ${command} has ${long}, as its --help does`);
    }
  }
});

test('each command module defines the commands cli/command-modules.ts names for it, so a command line loads the right module alone', async () => {
  const { Command } = await import('commander');
  const { COMMAND_MODULES, modulesFor } = await import('../cli/command-modules.ts');
  for (const m of COMMAND_MODULES) {
    const program = new Command('ingero');
    (await m.load()).register(program);
    assert.deepEqual(program.commands.map((c) => c.name()), m.names, `the module of ${m.names.join(', ')}`);
    for (const name of m.names) assert.deepEqual(modulesFor(['node', 'ingero', name, '--help']), [m], `ingero ${name} loads its module alone`);
  }
  for (const line of [[], ['--help'], ['help', 'tui'], ['tuii']]) assert.equal(modulesFor(['node', 'ingero', ...line]), COMMAND_MODULES, `ingero ${line.join(' ')}: every module, for commander to list or suggest from`);
});

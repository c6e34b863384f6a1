// What a hostile bundle's strings and statements can do to a terminal and to the exit contract:
// bidi and zero-width characters come out of every JSON output as \uXXXX (explain --json,
// export -o -, sql --json), and SQLite failures while stepping and a misnamed --cuda-lib are bad
// input (one line, exit 1 or 2), never "internal error".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { canonicalJson } from '../analyze/index.ts';
import { BundleWriter, escapeLayoutCharacters, opId } from '../format/index.ts';
import { libraryFromOption } from '../recorder/cuda-libraries.ts';
import { RecorderError } from '../recorder/errors.ts';
import { assertOneLineError, runCli } from './cli-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ingero-untrusted-output-'));
after(() => rmSync(work, { recursive: true, force: true }));
const cache = join(work, 'cache');
const ingero = (...args: string[]) => runCli(args, { cacheDir: cache });

/** Every character the escaping covers, as a traced process would smuggle them. */
const SMUGGLED = 'py\u202Ethon\u2066x\u2069\u200B\u200D\uFEFF\u061C\u0085\u{E0041}';
const RAW = /[\u0080-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]|\uDB40[\uDC00-\uDDEF]/u;

async function hostileBundle(): Promise<string> {
  const out = join(work, 'bidi.ingero');
  const w = BundleWriter.create(out, { originUnixNs: 1_700_000_000_000_000_000n, producer: { name: 'test', version: '1', command: 'test' } });
  w.addProcess({ pid: 7, comm: SMUGGLED, cmdline: SMUGGLED });
  w.addThread({ tid: 7, pid: 7, first_ns: 0, comm: SMUGGLED });
  for (let i = 0; i < 50; i++) w.appendEvent({ ts_ns: 1000 + i * 100_000, dur_ns: i === 25 ? 80_000_000 : 5_000, pid: 7, tid: 7, op_id: opId('cudaStreamSynchronize'), arg0: 1 });
  await w.seal();
  return out;
}

describe('traced strings in JSON output', () => {
  test('escapeLayoutCharacters writes them as \\uXXXX and the JSON parses back to the same value', () => {
    const json = JSON.stringify({ s: SMUGGLED });
    const safe = escapeLayoutCharacters(json);
    assert.doesNotMatch(safe, RAW);
    assert.match(safe, /\\u202e/);
    assert.match(safe, /\\udb40\\udc41/);
    assert.deepEqual(JSON.parse(safe), { s: SMUGGLED });
    assert.doesNotMatch(canonicalJson({ finding: SMUGGLED }), RAW);
  });

  test('sql --json, export -o - and explain --json print none of them raw', async () => {
    const bundle = await hostileBundle();
    const sql = ingero('sql', '--json', bundle, 'SELECT comm, cmdline FROM processes');
    assert.equal(sql.code, 0, sql.stderr);
    assert.doesNotMatch(sql.stdout, RAW);
    assert.equal((JSON.parse(sql.stdout) as { comm: string }[])[0]!.comm, SMUGGLED);
    const exported = ingero('export', bundle, '-o', '-');
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(exported.stdout.includes('\\u202e'), 'the process name is in the trace, escaped');
    assert.doesNotMatch(exported.stdout, RAW);
    JSON.parse(exported.stdout);
    const explained = ingero('explain', '--json', bundle);
    assert.equal(explained.code, 0, explained.stderr);
    assert.doesNotMatch(explained.stdout, RAW);
  });
});

describe('bad input is not an internal error', () => {
  const bundle = join(import.meta.dirname, '..', 'spec', 'vectors', 'cuda-basic.ingero');

  test('SQLite errors while stepping: load_extension, string or blob too big', () => {
    const ext = ingero('sql', bundle, "SELECT load_extension('/tmp/evil.so')");
    assert.equal(ext.code, 2);
    assertOneLineError(ext, /SQL error: not authorized/);
    const big = ingero('sql', bundle, 'SELECT length(zeroblob(2000000000))');
    assert.equal(big.code, 2);
    assertOneLineError(big, /SQL error: string or blob too big/);
  });

  test('a --cuda-lib that is not named like a CUDA library', () => {
    assert.throws(() => libraryFromOption('/tmp/libfoo.so'), (err: unknown) => err instanceof RecorderError && /--cuda-lib "\/tmp\/libfoo.so" is not named like libcudart\.so\* or libcuda\.so\*/.test(err.message));
    assert.equal(libraryFromOption('/usr/local/cuda/lib64/libcudart.so.13').via, 'option');
  });
});

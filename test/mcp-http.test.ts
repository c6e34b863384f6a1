// The optional Streamable HTTP transport: loopback bind, bearer token from the environment only,
// Host and Origin checks against DNS rebinding, and a real SDK client getting through.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { AuditLog } from '../mcp/audit-log.ts';
import { startHttp, TOKEN_ENV } from '../mcp/http.ts';
import { BundleRegistry, closeContext, createContext } from '../mcp/server.ts';
import type { ToolContext } from '../mcp/tool-kit.ts';
import { CLI, EVENTS, resultParts, writeHostileBundle } from './mcp-fixtures.ts';

const TOKEN = 'test-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'ingero-mcp-http-'));
const bundlePath = join(dir, 'b.ingero');
let http: Server;
let ctx: ToolContext;
let port = 0;

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });

function post(headers: Record<string, string>): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(INIT);
  });
}

before(async () => {
  await writeHostileBundle(bundlePath);
  ctx = createContext(BundleRegistry.single(bundlePath, { cacheDir: join(dir, 'cache') }));
  http = await startHttp({ ctx, version: '0', token: TOKEN, port: 0, audit: new AuditLog(join(dir, 'audit.jsonl')) });
  port = (http.address() as AddressInfo).port;
});

after(() => {
  http?.close();
  if (ctx) closeContext(ctx);
  rmSync(dir, { recursive: true, force: true });
});

describe('ingero mcp --http', () => {
  it('binds to loopback by default', () => {
    assert.equal((http.address() as AddressInfo).address, '127.0.0.1');
  });

  it('serves an SDK client that presents the token', async () => {
    const client = new Client({ name: 'http-test', version: '0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    const { tools } = await client.listTools();
    assert.ok(tools.some((t) => t.name === 'run_sql'));
    const r = resultParts(await client.callTool({ name: 'run_sql', arguments: { query: 'SELECT count(*) FROM events' } }));
    assert.deepEqual(r.data.rows, [[EVENTS]]);
    await client.close();
  });

  it('refuses a missing or wrong token without saying why', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]) {
      const r = await post(auth ? { authorization: auth } : {});
      assert.equal(r.status, 401, String(auth));
      assert.equal(r.body.trim(), 'unauthorized');
      assert.match(String(r.headers['www-authenticate']), /Bearer/);
    }
  });

  it('refuses a foreign Host or Origin even with the token (DNS rebinding)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post({ ...auth, host: `evil.example:${port}` })).status, 403);
    assert.equal((await post({ ...auth, host: `127.0.0.1:${port + 1}` })).status, 403);
    assert.equal((await post({ ...auth, origin: 'http://evil.example' })).status, 403);
    assert.equal((await post({ ...auth, origin: `http://localhost:${port}` })).status, 200);
    assert.equal((await post(auth)).status, 200);
  });

  it('answers a body over 1 MiB with 413 and Connection: close, declared or streamed', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    for (const declared of [true, false]) {
      const r = await new Promise<{ status: number; body: string; connection: unknown }>((resolve, reject) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...(declared ? { 'content-length': String(big.length) } : {}) };
        const req = request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
        });
        req.on('error', reject);
        // Streamed in 64 KiB pieces (chunked when undeclared), as a client uploading a large body does.
        for (let at = 0; at < big.length; at += 65536) req.write(big.subarray(at, at + 65536));
        req.end();
      });
      assert.equal(r.status, 413, `declared=${declared}`);
      assert.equal(r.connection, 'close');
      assert.match(r.body, /request body above 1048576 bytes/);
    }
  });

  it('takes the token from the environment only', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, INGERO_MCP_AUDIT_LOG: join(dir, 'cli-audit.jsonl') };
    delete env[TOKEN_ENV];
    await assert.rejects(promisify(execFile)(process.execPath, [CLI, 'mcp', bundlePath, '--http', '0'], { env }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2, 'port 0 is refused as usage');
      return true;
    });
    await assert.rejects(promisify(execFile)(process.execPath, [CLI, 'mcp', bundlePath, '--http', '18733'], { env }), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.equal(err.stderr.trim().split('\n').length, 1);
      assert.match(err.stderr, new RegExp(TOKEN_ENV));
      return true;
    });
    await assert.rejects(promisify(execFile)(process.execPath, [CLI, 'mcp', bundlePath, '--http', '18733', '--token', TOKEN], { env }), (err: { code: number }) => {
      assert.equal(err.code, 2, 'there is no token flag');
      return true;
    });
  });

  it('answers bad command lines with one line and a non-zero exit', async () => {
    const exec = promisify(execFile);
    for (const [args, code, pattern] of [
      [[join(dir, 'missing.ingero')], 1, /missing\.ingero: no such file/],
      [[], 2, /pass either a bundle file or --dir DIR/],
      [[bundlePath, '--dir', dir], 2, /pass either a bundle file or --dir DIR/],
      [['--dir', join(dir, 'nowhere')], 1, /no such directory/],
      [[bundlePath, '--audit-log', join(bundlePath, 'audit.jsonl')], 1, /cannot write the audit log/],
    ] as const) {
      await assert.rejects(exec(process.execPath, [CLI, 'mcp', ...args], { timeout: 30_000, env: { ...process.env, INGERO_MCP_AUDIT_LOG: join(dir, 'cli-audit.jsonl') } }), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, code, args.join(' '));
        assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
        assert.match(err.stderr, pattern);
        return true;
      });
    }
  });
});

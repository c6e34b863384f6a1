// Optional Streamable HTTP transport (`ingero mcp BUNDLE --http PORT`). Stateless: every POST to
// /mcp gets a fresh McpServer and transport over the shared context, answered as plain JSON.
// Guards, in order, before anything reaches the MCP layer:
//  - bound to 127.0.0.1 unless --host says otherwise;
//  - Host must name a loopback address (or the bound host) and Origin, when a browser sends one,
//    must be a loopback origin: a web page cannot reach the server through DNS rebinding;
//  - a bearer token, read only from $INGERO_MCP_TOKEN (a flag would leak through /proc/PID/cmdline
//    and shell history), compared as SHA-256 digests in constant time; the reason for a refusal
//    is never echoed;
//  - request bodies are capped.
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuditLog } from './audit-log.ts';
import { TOKEN_ENV } from './http-token.ts';

export { TOKEN_ENV };
import { createServer, serve } from './server.ts';
import type { ToolContext } from './tool-kit.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

export interface HttpOptions {
  readonly ctx: ToolContext;
  readonly version: string;
  readonly token: string;
  readonly host?: string;
  readonly port: number;
  readonly audit?: AuditLog;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function refuse(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body + '\n');
}

/**
 * The request body, or null when it is larger than the cap. An oversized body is still read (and
 * dropped) to its end: destroying the request instead resets the connection before the client
 * reads the 413. requestTimeout bounds how long a client can keep sending.
 */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers['content-length'] ?? 0);
    if (size > MAX_BODY_BYTES) {
      req.resume();
      return resolve(null);
    }
    size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) return chunks.push(c);
      chunks.length = 0;
      resolve(null);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts listening; resolves with the server once bound (port 0 picks a free port). */
export async function startHttp(options: HttpOptions): Promise<Server> {
  const bindHost = options.host ?? '127.0.0.1';
  const expected = digest(options.token);
  const http = createHttpServer(async (req, res) => {
    try {
      const port = (http.address() as AddressInfo).port;
      const hosts = new Set([...LOOPBACK_HOSTS, bindHost.includes(':') ? `[${bindHost}]` : bindHost].map((h) => `${h}:${port}`));
      if (!hosts.has(String(req.headers.host ?? '').toLowerCase())) return refuse(res, 403, 'forbidden: Host must be a loopback address');
      const origin = req.headers.origin;
      if (origin !== undefined && !LOOPBACK_HOSTS.some((h) => origin.toLowerCase() === `http://${h}:${port}`)) return refuse(res, 403, 'forbidden: cross-origin request');
      const auth = String(req.headers.authorization ?? '');
      const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!timingSafeEqual(digest(presented), expected)) return refuse(res, 401, 'unauthorized', { 'www-authenticate': 'Bearer error="invalid_token"' });
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/mcp') return refuse(res, 404, 'not found: the MCP endpoint is /mcp');
      if (req.method !== 'POST') return refuse(res, 405, 'method not allowed: this stateless server takes POST /mcp only', { allow: 'POST' });
      const body = await readBody(req);
      if (body === null) return refuse(res, 413, `request body above ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(res, 400, 'the body is not JSON');
      }
      const server = createServer(options.ctx, { version: options.version });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await serve(server, transport, options.audit, `http-${randomUUID()}`);
      await transport.handleRequest(req, res, parsed);
    } catch (err) {
      if (!res.headersSent) refuse(res, 500, 'internal error');
      process.stderr.write(`ingero mcp: http request failed: ${String((err as Error)?.message ?? err).replace(/[\r\n]+/g, ' ')}\n`);
    }
  });
  http.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, bindHost, () => resolve());
  });
  return http;
}

// The audit log: one JSON line per request the server answers — capability discovery
// (initialize, tools/list, prompts/list, resources/list, ...) and every call — with the tool or
// method, its arguments, how long it took, the size of the answer and the error, if any.
// It is kept at the transport, so every method is covered the same way without touching tools.
//
// Default path: $INGERO_MCP_AUDIT_LOG, else $XDG_STATE_HOME/ingero/mcp-audit.jsonl, else
// ~/.local/state/ingero/mcp-audit.jsonl. Lines are appended synchronously, so a line is on disk
// before its answer is sent.
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Longest argument string kept in a log line (a query can be long). */
const ARG_BYTES = 4096;

export function defaultAuditLogPath(): string {
  if (process.env.INGERO_MCP_AUDIT_LOG) return process.env.INGERO_MCP_AUDIT_LOG;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'ingero', 'mcp-audit.jsonl');
}

/**
 * mkdir -p, one level at a time: Node 20's mkdirSync({recursive: true}) never returns when the
 * kernel answers ENOENT for a directory whose parent exists (measured under /proc).
 */
function makeDirs(dir: string): void {
  if (existsSync(dir) || dirname(dir) === dir) return;
  makeDirs(dirname(dir));
  mkdirSync(dir, { mode: 0o700 });
}

export interface AuditEntry {
  readonly ts: string;
  readonly session: string;
  readonly method: string;
  readonly tool?: string;
  readonly arguments?: unknown;
  readonly client?: unknown;
  readonly duration_ms: number;
  readonly result_bytes: number;
  readonly is_error: boolean;
  readonly error?: string;
}

export class AuditLog {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    makeDirs(dirname(path));
    appendFileSync(path, '', { mode: 0o600 });
  }

  write(entry: AuditEntry): void {
    appendFileSync(this.path, JSON.stringify(entry, (_k, v) => (typeof v === 'string' && v.length > ARG_BYTES ? `${v.slice(0, ARG_BYTES)}…[${v.length} chars]` : v)) + '\n');
  }
}

interface Pending {
  readonly started: number;
  readonly method: string;
  readonly tool?: string;
  readonly arguments?: unknown;
  readonly client?: unknown;
}

/** Wraps a transport so every request and its answer leave one audit line. */
export class AuditedTransport implements Transport {
  private readonly inner: Transport;
  private readonly log: AuditLog;
  private readonly session: string;
  private readonly pending = new Map<string | number, Pending>();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  constructor(inner: Transport, log: AuditLog, session: string) {
    this.inner = inner;
    this.log = log;
    this.session = session;
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  async start(): Promise<void> {
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onmessage = (message, extra) => {
      const m = message as { id?: string | number; method?: string; params?: { name?: string; arguments?: unknown; clientInfo?: unknown; uri?: string } };
      if (m.method !== undefined && m.id !== undefined) {
        this.pending.set(m.id, {
          started: performance.now(),
          method: m.method,
          tool: m.method === 'tools/call' || m.method === 'prompts/get' ? m.params?.name : m.method === 'resources/read' ? m.params?.uri : undefined,
          arguments: m.method === 'tools/call' || m.method === 'prompts/get' ? m.params?.arguments : undefined,
          client: m.method === 'initialize' ? m.params?.clientInfo : undefined,
        });
      }
      this.onmessage?.(message, extra);
    };
    await this.inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const m = message as { id?: string | number; result?: { isError?: boolean; content?: { text?: string }[] }; error?: { message?: string } };
    const p = m.id !== undefined && ('result' in m || 'error' in m) ? this.pending.get(m.id) : undefined;
    if (p && m.id !== undefined) {
      this.pending.delete(m.id);
      const isError = m.error !== undefined || m.result?.isError === true;
      this.log.write({
        ts: new Date().toISOString(),
        session: this.session,
        method: p.method,
        ...(p.tool !== undefined ? { tool: p.tool } : {}),
        ...(p.arguments !== undefined ? { arguments: p.arguments } : {}),
        ...(p.client !== undefined ? { client: p.client } : {}),
        duration_ms: Math.round((performance.now() - p.started) * 100) / 100,
        result_bytes: Buffer.byteLength(JSON.stringify(message)),
        is_error: isError,
        ...(isError ? { error: m.error?.message ?? m.result?.content?.[0]?.text ?? 'error' } : {}),
      });
    }
    await this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

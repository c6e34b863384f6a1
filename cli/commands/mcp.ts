// ingero mcp: serve bundles to AI agents over MCP (stdio by default, Streamable HTTP on request).
// stdout belongs to the protocol in stdio mode: everything for people goes to stderr.
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuditLog, defaultAuditLogPath } from '../../mcp/audit-log.ts';
import { TOKEN_ENV } from '../../mcp/http-token.ts';
import { action, intOption, UsageError, UserError } from '../run-action.ts';

interface McpOptions {
  dir?: string;
  auditLog?: string;
  http?: string;
  host?: string;
  sqlTimeoutMs?: string;
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function register(program: Command): void {
  program
    .command('mcp')
    .description('Serve a bundle (or a directory of bundles) to AI agents over MCP: read-only tools, prompts and resources')
    .argument('[bundle]', '.ingero file to serve')
    .option('--dir <dir>', 'serve every .ingero file in this directory (tools then take a bundle argument)')
    .option('--audit-log <path>', `append one JSON line per request here (default ${defaultAuditLogPath().replace(process.env.HOME ?? '\u0000', '~')}, or $INGERO_MCP_AUDIT_LOG)`)
    .option('--http <port>', `serve Streamable HTTP on this port instead of stdio (needs a bearer token in $${TOKEN_ENV})`)
    .option('--host <address>', 'address to bind with --http (default 127.0.0.1; anything else exposes the bundle to the network)')
    .option('--sql-timeout-ms <ms>', 'time limit of one run_sql query (default 4000)')
    .addHelpText(
      'after',
      `\nClient configuration (Claude Code, Claude Desktop, Cursor, ollmcp): see mcp/README.md. Example:\n  {"mcpServers": {"ingero": {"command": "ingero", "args": ["mcp", "/path/to/trace.ingero"]}}}`,
    )
    .action(
      action(async (bundle: string | undefined, opts: McpOptions) => {
        if ((bundle === undefined) === (opts.dir === undefined)) throw new UsageError('pass either a bundle file or --dir DIR');
        if (opts.host !== undefined && opts.http === undefined) throw new UsageError('--host applies to --http only');
        const sqlTimeoutMs = intOption('--sql-timeout-ms', opts.sqlTimeoutMs, 4000);
        if (sqlTimeoutMs < 100 || sqlTimeoutMs > 60_000) throw new UsageError('--sql-timeout-ms must be between 100 and 60000');
        let token = '';
        let port = 0;
        if (opts.http !== undefined) {
          port = intOption('--http', opts.http, 0);
          if (port < 1 || port > 65535) throw new UsageError('--http takes a TCP port between 1 and 65535');
          token = process.env[TOKEN_ENV] ?? '';
          if (token.length < 16) throw new UserError(`--http needs a bearer token of at least 16 characters in $${TOKEN_ENV} (e.g. export ${TOKEN_ENV}=$(openssl rand -hex 32)); it is never taken from a flag`);
        }
        let audit: AuditLog;
        const auditPath = opts.auditLog ?? defaultAuditLogPath();
        try {
          audit = new AuditLog(auditPath);
        } catch (err) {
          throw new UserError(`cannot write the audit log ${auditPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}) — pass --audit-log PATH somewhere writable`);
        }
        // The MCP SDK loads in ~0.2 s: only when this command runs, so other commands start fast.
        const { BundleRegistry, closeContext, createContext, createServer, serve } = await import('../../mcp/server.ts');
        const registry = bundle !== undefined ? BundleRegistry.single(bundle) : BundleRegistry.directory(opts.dir!);
        const ctx = createContext(registry, { limits: { sqlTimeoutMs } });
        const served = registry.list().map((b) => b.name);
        if (opts.http !== undefined) {
          const { startHttp } = await import('../../mcp/http.ts');
          const http = await startHttp({ ctx, version: pkg.version, token, host: opts.host, port, audit });
          process.stderr.write(`ingero mcp: serving ${served.join(', ') || '(no bundles yet)'} at http://${opts.host ?? '127.0.0.1'}:${port}/mcp (bearer token from $${TOKEN_ENV}); audit log ${audit.path}\n`);
          const stop = () => {
            http.close();
            closeContext(ctx);
            process.exit(0);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        } else {
          const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
          const transport = new StdioServerTransport();
          const server = createServer(ctx, { version: pkg.version });
          process.stdin.once('end', () => {
            closeContext(ctx);
            process.exit(0);
          });
          await serve(server, transport, audit, `stdio-${randomUUID()}`);
          process.stderr.write(`ingero mcp: serving ${served.join(', ') || '(no bundles yet)'} over stdio; audit log ${audit.path}\n`);
        }
      }),
    );
}

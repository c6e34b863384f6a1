// What every tool shares: registration with the read-only annotations, the result envelope
// (sanitized structuredContent plus a text copy behind the data preamble), errors returned as
// isError results that say how to fix the call, opaque cursors and byte-bounded pages.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { BundleError } from '../format/index.ts';
import type { BundleRegistry } from './bundle-registry.ts';
import { cleanString, DATA_PREAMBLE, sanitizeValue } from './sanitize.ts';
import type { StatsPart, Summary } from './precompute.ts';
import type { ServedBundle } from './served-bundle.ts';
import type { StatementRunner } from '../format/index.ts';

/** A mistake in the call the agent can fix; the message says how. */
export class ToolInputError extends Error {}

export interface ServerLimits {
  /** Budget for one page of a listing tool, in bytes of JSON. */
  readonly pageBytes: number;
  /** run_sql defaults and ceilings. */
  readonly sqlRows: number;
  readonly sqlMaxRows: number;
  readonly sqlBytes: number;
  readonly sqlMaxBytes: number;
  readonly sqlTimeoutMs: number;
  /** How long a call waits for a bundle's summary (stats, findings) before asking to retry. */
  readonly summaryWaitMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  pageBytes: 48 * 1024,
  sqlRows: 1000,
  sqlMaxRows: 10_000,
  sqlBytes: 256 * 1024,
  sqlMaxBytes: 1024 * 1024,
  sqlTimeoutMs: 4000,
  summaryWaitMs: 20_000,
};

export interface ToolContext {
  readonly registry: BundleRegistry;
  readonly sql: StatementRunner;
  readonly limits: ServerLimits;
}

export interface ToolDef<I extends z.ZodRawShape, O extends z.ZodRawShape> {
  readonly name: string;
  readonly title: string;
  /** When to use the tool, tersely: every client loads every description into the model's context. */
  readonly description: string;
  readonly input: I;
  /** Shape of the result; every result is checked against it before it is sent. */
  readonly output: O;
  /** Whether tools/list carries the output schema: only where a client gains from it, as it costs context. */
  readonly advertiseOutput?: boolean;
  run(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<z.infer<z.ZodObject<O>>> | z.infer<z.ZodObject<O>>;
}

/** The `bundle` argument every bundle tool takes. */
export const bundleArg = {
  bundle: z
    .string()
    .max(255)
    .optional()
    .describe('File name from list_bundles; omit when one bundle is served.'),
};

export function servedBundle(ctx: ToolContext, args: { bundle?: string }): ServedBundle {
  return ctx.registry.get(args.bundle);
}

/** The bundle's precomputed stats and findings, waiting for them within the server's limit. */
export function summaryOf(ctx: ToolContext, served: ServedBundle): Promise<Summary> {
  return served.summary(ctx.limits.summaryWaitMs);
}

/** The bundle's statistics, stack use and timeline: ready well before the findings. */
export function statsOf(ctx: ToolContext, served: ServedBundle): Promise<StatsPart> {
  return served.stats(ctx.limits.summaryWaitMs);
}

/** The bundle a call names with its statistics part: where every stats-backed tool starts. */
export async function servedStats(ctx: ToolContext, args: { bundle?: string }): Promise<StatsPart & { served: ServedBundle }> {
  const served = servedBundle(ctx, args);
  return { served, ...(await statsOf(ctx, served)) };
}

/** Bytes of JSON a default page holds: with its envelope a default result stays under 8 KB. */
export const DEFAULT_PAGE_BYTES = 5 * 1024;

/** The byte budget of one page: small by default, the server's larger budget when the agent chose a limit. */
export function pageBudget(ctx: ToolContext, limit: number | undefined): number {
  return limit === undefined ? DEFAULT_PAGE_BYTES : ctx.limits.pageBytes;
}

/** Fields every paginated result carries. */
export const pageFields = {
  truncated: z.boolean(),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page.'),
  note: z.string(),
};

/**
 * Fields of a result that is one page with no cursor (a profile, a per-GPU table): the notes say
 * what the page left out and which arguments show it.
 */
export const onePageFields = {
  truncated: z.boolean(),
  notes: z.array(z.string()),
};

/** What a one-page result left out and how to see it, or null when it holds every item. */
export function leftOutNote(page: Page<unknown>, total: number, what: string, how: string): string | null {
  return page.more ? `first ${page.items.length} of ${total} ${what}; ${how}` : null;
}

/** pids are per node: in a multi-node bundle the same pid can be two processes. */
export const nodeArg = {
  node_id: z.number().int().min(0).optional().describe('Only this node.'),
};

export const cursorArg = {
  cursor: z.string().max(512).optional().describe('next_cursor of the previous page.'),
};

/** Opaque cursor: the tool name plus its position, so a cursor from another tool is refused. */
export function encodeCursor(tool: string, position: Record<string, number | string>): string {
  return Buffer.from(JSON.stringify({ t: tool, ...position })).toString('base64url');
}

export function decodeCursor<T extends Record<string, number | string>>(tool: string, cursor: string | undefined, check: (p: Record<string, unknown>) => p is T): T | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const p = parsed as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object' || p.t !== tool || !check(p)) {
    throw new ToolInputError(`invalid cursor for ${tool}: pass next_cursor from the previous ${tool} result unchanged (with the same other arguments), or omit cursor to start over`);
  }
  return p;
}

export interface Page<T> {
  readonly items: T[];
  /** Whether items were left out (by the item or byte budget). */
  readonly more: boolean;
}

/** Takes items until maxItems or the JSON byte budget is reached. */
export function takePage<T>(items: Iterable<T>, maxItems: number, maxBytes: number): Page<T> {
  const out: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(sanitizeValue(item)).length + 1;
    if (out.length === maxItems || (out.length > 0 && bytes + size > maxBytes)) return { items: out, more: true };
    bytes += size;
    out.push(item);
  }
  return { items: out, more: false };
}

export function pageNote(more: boolean, nextCursor: string | null, what: string): { truncated: boolean; next_cursor: string | null; note: string } {
  return more && nextCursor
    ? { truncated: true, next_cursor: nextCursor, note: `truncated: more ${what} exist; pass cursor ${JSON.stringify(nextCursor)} (with the same other arguments) for the next page` }
    : { truncated: false, next_cursor: null, note: '' };
}

/**
 * Backstop on one result's JSON size, whatever the tool: listing tools page well below it and
 * run_sql stops at its own byte cap (at most 1 MiB), so only a hostile bundle (thousands of
 * tables or op codes, say) can reach it.
 */
export const MAX_RESULT_BYTES = 2 * 1024 * 1024;

export const READ_ONLY_ANNOTATIONS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const resultSchemas = new WeakMap<object, z.ZodTypeAny>();
function resultSchema(def: ToolDef<z.ZodRawShape, z.ZodRawShape>): z.ZodTypeAny {
  let schema = resultSchemas.get(def);
  if (!schema) resultSchemas.set(def, (schema = z.object(def.output)));
  return schema;
}

/** Error text can echo the agent's input or bundle content (SQLite messages), so it is cleaned too. */
function errorResult(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: cleanString(message, 2048) }] };
}

export function registerTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(server: McpServer, def: ToolDef<I, O>, ctx: ToolContext): void {
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema: def.input,
      ...(def.advertiseOutput ? { outputSchema: def.output } : {}),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    (async (args: z.infer<z.ZodObject<I>>): Promise<CallToolResult> => {
      try {
        const data = sanitizeValue(await def.run(args, ctx)) as Record<string, unknown>;
        // Checked here rather than by the SDK, so a bundle value that breaks the spec (a text
        // where a number belongs, say) is a tool error the agent can read, not a protocol error.
        const checked = resultSchema(def).safeParse(data);
        if (!checked.success) {
          const issue = checked.error.issues[0]!;
          return errorResult(`${def.name}: the bundle holds a value this result cannot carry (${issue.path.join('.')}: ${issue.message}) — the bundle breaks the spec (ingero verify lists its problems); get a fresh copy, or read the rows with run_sql`);
        }
        const json = JSON.stringify(data);
        if (json.length > MAX_RESULT_BYTES) {
          return errorResult(`${def.name}: the result would be ${json.length} bytes, above the ${MAX_RESULT_BYTES}-byte limit; narrow the call (filters, a table, ops, a time range) or use run_sql with LIMIT`);
        }
        return { structuredContent: data, content: [{ type: 'text', text: `${DATA_PREAMBLE}\n${json}` }] };
      } catch (err) {
        if (err instanceof ToolInputError) return errorResult(`${def.name}: ${err.message}`);
        if (err instanceof BundleError) return errorResult(`${def.name}: ${err.message}`);
        // Checksums prove a bundle arrived as written, not that its database is sound: SQLite
        // finds damaged pages only when a query reaches them. Retrying cannot help.
        const code = (err as { code?: unknown })?.code;
        if (typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')) {
          return errorResult(`${def.name}: the database inside the bundle is damaged (${(err as Error).message}); this bundle cannot answer it — ask the user for a fresh copy (ingero verify lists the problems)`);
        }
        return errorResult(`${def.name}: internal error (${String((err as Error)?.message ?? err).slice(0, 300)}); retry with narrower arguments, and report it if it persists`);
      }
    }) as never,
  );
}

/** Parses an op name list against a bundle, refusing unknown names with the list of known ones. */
export function resolveOps(served: ServedBundle, names: readonly string[] | undefined): number[] | undefined {
  if (!names || names.length === 0) return undefined;
  const ids: number[] = [];
  for (const name of names) {
    const found = served.bundle.opIdsByName(name);
    if (found.length === 0) {
      throw new ToolInputError(`unknown op ${JSON.stringify(name)}; ops in this bundle: ${served.opNames().join(', ')}`);
    }
    ids.push(...found);
  }
  return ids;
}

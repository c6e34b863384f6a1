// Resources: per served bundle, its schema documentation (Markdown, generated from the bundle's
// own DDL comments, sources, ops and op_args through describe_schema) and its metadata (manifest
// plus the metadata table, JSON). Both are sanitized like tool results.
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { DATA_PREAMBLE, sanitizeValue } from './sanitize.ts';
import type { ToolContext } from './tool-kit.ts';
import { describeSchema } from './tools/describe-schema.ts';

type SchemaDoc = Awaited<ReturnType<typeof describeSchema.run>>;

function schemaMarkdown(doc: SchemaDoc): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [`# Schema of ${cell(doc.bundle)}`, '', `> ${DATA_PREAMBLE}`, '', '## Conventions', '', ...doc.conventions.map((c) => `- ${c}`), ''];
  for (const t of doc.tables) {
    out.push(`## ${cell(t.name)} (${t.rows} rows)`, '', cell(t.description), '', '| column | type | unit | meaning |', '|---|---|---|---|');
    for (const c of t.columns) if (typeof c !== 'string') out.push(`| ${cell(c.name)} | ${cell(c.type)} | ${cell(c.unit)} | ${cell(c.description)} |`);
    out.push('');
  }
  out.push('## Sources', '', '| id | name | layer | description |', '|---|---|---|---|');
  for (const s of doc.sources) out.push(`| ${s.id} | ${cell(s.name)} | ${cell(s.layer)} | ${cell(s.description)} |`);
  out.push('', '## Ops (events.op_id)', '', '| id | name | source | events | meaning | arguments |', '|---|---|---|---|---|---|');
  for (const o of doc.ops) {
    const args = o.args.map((a) => `${a.column}=${a.name} (${a.unit}): ${a.description}`).join('; ');
    out.push(`| ${o.id} | ${cell(o.name)} | ${cell(o.source)} | ${o.events} | ${cell(o.description)} | ${cell(args)} |`);
  }
  return out.join('\n') + '\n';
}

export function registerResources(server: McpServer, ctx: ToolContext): void {
  const list = (suffix: string, what: string, mimeType: string) => () => ({
    resources: ctx.registry.list().map((b) => ({ uri: `ingero://bundle/${encodeURIComponent(b.name)}/${suffix}`, name: `${b.name} ${what}`, mimeType })),
  });
  const bundleName = (vars: Record<string, string | string[]>) => decodeURIComponent(String(vars.name));

  server.registerResource(
    'bundle-schema',
    new ResourceTemplate('ingero://bundle/{name}/schema', { list: list('schema', 'schema', 'text/markdown') }),
    { title: 'Bundle schema', description: 'Tables, columns, units, sources, ops and argument meanings of a bundle, from the bundle itself.', mimeType: 'text/markdown' },
    async (uri, vars) => {
      const doc = sanitizeValue(await describeSchema.run({ bundle: bundleName(vars), columns: true, include_ops: true }, ctx)) as SchemaDoc;
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: schemaMarkdown(doc) }] };
    },
  );

  server.registerResource(
    'bundle-metadata',
    new ResourceTemplate('ingero://bundle/{name}/metadata', { list: list('metadata', 'metadata', 'application/json') }),
    { title: 'Bundle metadata', description: 'Manifest (producer, time span, counts, checksums) and the metadata table (host, GPU, driver, CUDA, recorder settings) of a bundle.', mimeType: 'application/json' },
    (uri, vars) => {
      const served = ctx.registry.get(bundleName(vars));
      const body = sanitizeValue({ note: DATA_PREAMBLE, manifest: served.bundle.manifest, metadata: served.bundle.metadata() });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body, null, 2) }] };
    },
  );
}

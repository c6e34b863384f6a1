// The source tree's import graph, read from the files. Imports point one way between areas, and runtime imports form no cycle (in a cycle
// ES modules run one module's top level before the other's exports exist, and which one breaks
// depends on what a program loads first: that is how `ingero export` once died with "Cannot
// access 'GPU_WORK_OPS' before initialization").
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './cli-fixtures.ts';

const AREAS = ['format', 'analyze', 'import', 'recorder', 'mcp', 'tui', 'cli'] as const;
/** Relative imports that load code: `import type` and imports of types only are erased. */
function runtimeImports(file: string): string[] {
  const out: string[] = [];
  for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(?!type\b)([^'";]*?)\s*from\s*'(\.[^']+)'/gms)) {
    const names = /^\{([^}]*)\}$/s.exec(m[1]!.trim());
    if (names && names[1]!.split(',').map((x) => x.trim()).filter(Boolean).every((x) => x.startsWith('type '))) continue;
    out.push(resolve(dirname(file), m[2]!));
  }
  return out;
}

const files = AREAS.flatMap((area) =>
  readdirSync(join(ROOT, area), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mts)$/.test(e.name) && !e.name.endsWith('.d.mts'))
    .map((e) => resolve(e.parentPath, e.name)),
);
const graph = new Map(files.map((f) => [f, runtimeImports(f)]));
const name = (f: string) => relative(ROOT, f);

test('runtime imports form no cycle', () => {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].map(name).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.ok(files.length > 100, `read ${files.length} source files`);
  assert.deepEqual(cycles, []);
});

/** Which areas each area may import from, types included: the layering the guide sets out
 * (format <- analyze <- {cli, tui, mcp}; recorder and import write through format). cli is the
 * thin entry over all of them; nothing imports cli. */
const MAY_IMPORT: Record<(typeof AREAS)[number], readonly string[]> = {
  format: ['format'],
  analyze: ['format', 'analyze'],
  import: ['format', 'import'],
  recorder: ['format', 'recorder'],
  mcp: ['format', 'analyze', 'mcp'],
  tui: ['format', 'analyze', 'tui'],
  cli: ['format', 'analyze', 'import', 'recorder', 'mcp', 'tui', 'cli'],
};

function allImports(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^'";]*?from\s*'(\.[^']+)'|^import\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gms)].map((m) =>
    resolve(dirname(file), (m[1] ?? m[2] ?? m[3])!),
  );
}

test('imports point one way: format <- analyze <- {cli, tui, mcp}; import and recorder -> format', () => {
  const areaOf = (f: string) => relative(ROOT, f).split('/')[0]!;
  const wrong: string[] = [];
  for (const f of files) {
    const from = areaOf(f) as (typeof AREAS)[number];
    for (const d of allImports(f)) {
      const to = areaOf(d);
      if ((AREAS as readonly string[]).includes(to) && !MAY_IMPORT[from].includes(to)) wrong.push(`${name(f)} -> ${name(d)}`);
    }
  }
  assert.deepEqual(wrong, []);
});

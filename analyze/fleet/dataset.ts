// A fleet as DuckDB views: bundles, directories of bundles and Parquet exports (the layout of
// spec/parquet-layout.md) alike. Parquet exports are read in place; bundles are opened with
// openBundle (verified, read-only) and read from their cached Parquet conversion
// (parquet-cache.ts), made on first use. With analysis, the analyzer's findings of each bundle
// are written into a private temporary folder, deleted on close. Each bundle counts once, by its
// digest, however many inputs hold it.
import { lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BundleError, openBundle, type Bundle } from '../../format/index.ts';
import { Engine, sqlError, sqlString, DEFAULT_QUERY_TIME_LIMIT_MS, type EngineOptions } from './engine.ts';
import { cachedParquet } from './parquet-cache.ts';
import { partitionDir, writeFindingsParquet } from './parquet-writer.ts';

/** The tables of the layout; each becomes a view of the same name with a `bundle` column. */
export const FLEET_TABLES = ['events', 'ops', 'sources', 'processes', 'threads', 'nodes', 'stack_frames', 'annotations', 'findings', 'bundles'] as const;

const DIGEST_PARTITION = /^bundle=([0-9a-f]{64})$/;

export interface FleetInputs {
  /** .ingero files, in the order given (directories listed by name). */
  readonly bundles: readonly string[];
  /** Roots of Parquet exports (directories with events/ and bundles/). */
  readonly exports: readonly string[];
}

/** Sorts paths into bundles and Parquet exports; a path that is neither is a one-line error. */
export function resolveInputs(paths: readonly string[]): FleetInputs {
  const bundles: string[] = [];
  const exports: string[] = [];
  for (const path of paths) {
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new BundleError('NOT_FOUND', `${path}: no such file or directory — give bundles, directories of bundles or Parquet exports`);
    }
    if (!st.isDirectory()) {
      bundles.push(path);
      continue;
    }
    if (isDirectory(join(path, 'events')) && isDirectory(join(path, 'bundles'))) {
      exports.push(resolve(path));
      continue;
    }
    const found = readdirSync(path).filter((n) => n.endsWith('.ingero')).sort().map((n) => join(path, n)).filter((p) => statSync(p).isFile());
    if (found.length === 0) throw new BundleError('NOT_FOUND', `${path}: holds no .ingero bundles and is not a Parquet export (no events/ and bundles/ folders) — give bundles, directories of bundles or an export of ingero export --format parquet`);
    bundles.push(...found);
  }
  return { bundles, exports };
}

function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface FleetOpenOptions extends EngineOptions {
  /** Run the analyzer on bundles (not on exports, which carry their findings) for the findings view. Default false. */
  readonly analysis?: boolean;
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** JS values: 64-bit integers as bigint, DOUBLE as number, lists as arrays. */
  readonly rows: readonly (readonly unknown[])[];
}

export class FleetDataset {
  private constructor(
    readonly engine: Engine,
    /** Digest of each bundle and the export root its partitions are read from. */
    readonly partitions: ReadonlyMap<string, string>,
    /** What was set aside while opening (repeated bundles), in words. */
    readonly notes: readonly string[],
    private readonly tempRoot: string | null,
  ) {}

  static async open(paths: readonly string[], options: FleetOpenOptions = {}): Promise<FleetDataset> {
    const inputs = resolveInputs(paths);
    const engine = await Engine.open(options);
    const partitions = new Map<string, string>();
    /** Bundles whose findings partition is this run's (the analyzer's findings beside the imported ones). */
    const findingsRoots = new Map<string, string>();
    const notes: string[] = [];
    let tempRoot: string | null = null;
    try {
      for (const root of inputs.exports) {
        const digests = readdirSync(join(root, 'bundles')).map((n) => DIGEST_PARTITION.exec(n)?.[1]).filter((d): d is string => d !== undefined);
        if (digests.length === 0) throw new BundleError('NOT_FOUND', `${root}: a Parquet export with no bundle partitions (bundles/bundle=<sha256>/) — export bundles into it with ingero export --format parquet`);
        for (const d of digests) addPartition(partitions, notes, d, root, root);
      }
      if (options.analysis && inputs.bundles.length > 0) tempRoot = mkdtempSync(join(tmpdir(), 'ingero-query-'));
      const findingsRoot = tempRoot;
      const inUse = new Set<string>();
      await eachDistinctBundle(inputs.bundles, new Set(partitions.keys()), notes, 'counted', async (bundle, digest) => {
        inUse.add(digest);
        partitions.set(digest, await cachedParquet(bundle, inUse));
        if (findingsRoot) {
          writeFindingsParquet(bundle, findingsRoot, true);
          findingsRoots.set(digest, findingsRoot);
        }
      });
      for (const table of FLEET_TABLES) {
        const globs = [...partitions].map(([digest, root]) => sqlString(join(partitionDir(table === 'findings' ? (findingsRoots.get(digest) ?? root) : root, table, digest), '*.parquet')));
        await engine.run(`CREATE VIEW ${table} AS SELECT bundle, * EXCLUDE (bundle) FROM read_parquet([${globs.join(', ')}], hive_partitioning = true, hive_types = {'bundle': VARCHAR}, union_by_name = true)`).catch((err: Error) => {
          throw new BundleError('CORRUPT', `table ${table} of the Parquet inputs cannot be read (${err.message.split('\n')[0]}) — an export is incomplete or damaged; export it again`);
        });
      }
      await engine.lockDown([...new Set([...partitions.values(), ...findingsRoots.values()])]);
    } catch (err) {
      engine.close();
      if (tempRoot) rmSync(tempRoot, { recursive: true, force: true });
      throw err;
    }
    return new FleetDataset(engine, partitions, notes, tempRoot);
  }

  /** One read-only SELECT over the views; bad SQL and the time limit are one-line BundleErrors. */
  async query(sql: string, timeLimitMs = DEFAULT_QUERY_TIME_LIMIT_MS): Promise<QueryResult> {
    await this.engine.checkSelect(sql);
    let result;
    try {
      result = await this.engine.read(sql, timeLimitMs);
    } catch (err) {
      if (err instanceof BundleError) throw err;
      throw sqlError(err);
    }
    return { columns: result.columnNames(), rows: await result.getRowsJS() };
  }

  close(): void {
    this.engine.close();
    if (this.tempRoot) rmSync(this.tempRoot, { recursive: true, force: true });
  }
}

/**
 * Opens each bundle in turn (verified, read-only) and hands it to fn, skipping, with a note, one
 * whose recording (database digest) is in seen already; seen grows as bundles are handed over.
 */
export async function eachDistinctBundle(paths: readonly string[], seen: Set<string>, notes: string[], verb: string, fn: (bundle: Bundle, digest: string, index: number) => Promise<void>): Promise<void> {
  for (const [index, path] of paths.entries()) {
    const bundle = openBundle(path);
    try {
      const digest = bundle.manifest.database.sha256;
      if (seen.has(digest)) {
        notes.push(`${path} is the same recording as one given before (database sha256 ${digest.slice(0, 12)}…); ${verb} once`);
        continue;
      }
      seen.add(digest);
      await fn(bundle, digest, index);
    } finally {
      bundle.close();
    }
  }
}

function addPartition(partitions: Map<string, string>, notes: string[], digest: string, root: string, shown: string): void {
  if (partitions.has(digest)) notes.push(`${shown} holds bundle ${digest.slice(0, 12)}… again; counted once`);
  else partitions.set(digest, root);
}

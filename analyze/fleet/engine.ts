// The embedded DuckDB every fleet feature runs on: one in-memory instance per command, a time
// limit per statement, and a lock-down that leaves user SQL able to read only the Parquet files
// it was given. DuckDB's sqlite scanner is an extension that would have to be downloaded, so
// bundles reach DuckDB through parquet-writer.ts, never by DuckDB opening their databases.
import type { DuckDBConnection, DuckDBInstance, DuckDBMaterializedResult } from '@duckdb/node-api';
import { BundleError } from '../../format/index.ts';

/** Default time limit of one query (`ingero query --time-limit`, MCP fleet_stats). */
export const DEFAULT_QUERY_TIME_LIMIT_MS = 60_000;

export interface EngineOptions {
  /** DuckDB worker threads (default: DuckDB's choice, one per core). */
  readonly threads?: number;
  /** DuckDB's memory limit, e.g. '2GB' (default: DuckDB's, 80 % of RAM). */
  readonly memoryLimit?: string;
}

export class Engine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly selectType: number,
  ) {}

  static async open(options: EngineOptions = {}): Promise<Engine> {
    const config: Record<string, string> = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' };
    if (options.threads !== undefined) config.threads = String(options.threads);
    if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
    // Loaded here, not at the top: DuckDB takes about half a second to load, and every command
    // (ingero tui's first frame included) imports this module through the CLI.
    const { DuckDBInstance, StatementType } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:', config);
    return new Engine(instance, await instance.connect(), StatementType.SELECT);
  }

  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  /**
   * Runs one statement, interrupting it after timeLimitMs: a time limit turns into a one-line
   * BundleError saying how to raise it.
   */
  async read(sql: string, timeLimitMs = DEFAULT_QUERY_TIME_LIMIT_MS): Promise<DuckDBMaterializedResult> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.connection.interrupt();
    }, timeLimitMs);
    try {
      return await this.connection.run(sql);
    } catch (err) {
      if (timedOut) throw new BundleError('USAGE', `the query ran past its time limit of ${timeLimitMs / 1000} s and was stopped — narrow it (WHERE on bundle, node, op or ts_ns) or raise the limit with --time-limit`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * From here on, file access is limited to these directories (read by the views) and the
   * configuration cannot be changed back; with only SELECT statements accepted (checkSelect),
   * user SQL cannot write anything.
   */
  async lockDown(readableDirs: readonly string[]): Promise<void> {
    await this.run(`SET allowed_directories = [${readableDirs.map(sqlString).join(', ')}]`);
    await this.run('SET enable_external_access = false');
    await this.run('SET lock_configuration = true');
  }

  /** One SELECT statement (WITH … SELECT included), or a one-line BundleError saying what is wrong. */
  async checkSelect(sql: string): Promise<void> {
    let statements;
    try {
      statements = await this.connection.extractStatements(sql);
    } catch (err) {
      throw sqlError(err);
    }
    if (statements.count !== 1) throw new BundleError('USAGE', `give exactly one SQL statement, got ${statements.count}`);
    let prepared;
    try {
      prepared = await statements.prepare(0);
    } catch (err) {
      throw sqlError(err);
    }
    if (prepared.statementType !== this.selectType) throw new BundleError('USAGE', 'only SELECT statements run here: the data is read-only');
    prepared.destroySync();
  }

  private closed = false;

  /** Idempotent: cleanup paths may call it again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** DuckDB's message for a bad statement, on one line. */
export function sqlError(err: unknown): BundleError {
  return new BundleError('USAGE', `SQL error: ${String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ').trim()}`);
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

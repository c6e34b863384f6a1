// Which Ingero schema generation a database is, judged from its tables and columns (never from
// one marker alone: Ingero rewrites schema_info.version on every open, user_version is 0 before
// v0.10, and files upgraded in place mix generations). Columns are always read by name.
import type Database from 'better-sqlite3';
import { BundleError } from '../format/index.ts';

export type Generation = 'v0.8' | 'v0.9' | 'v0.10+';

export interface SourceSchema {
  readonly generation: Generation;
  /** Table name → its column names, for every table in the file. */
  readonly tables: ReadonlyMap<string, ReadonlySet<string>>;
  readonly schemaInfo: Readonly<Record<string, string>>;
  readonly userVersion: number;
  /** What the generation was judged from, for the bundle's metadata. */
  readonly evidence: readonly string[];
  has(table: string, column?: string): boolean;
}

/** Newest PRAGMA user_version Ingero writes; it refuses files above it, and so do we. */
const NEWEST_USER_VERSION = 10;
const EVENT_COLUMNS = ['timestamp', 'pid', 'tid', 'source', 'op', 'duration', 'arg0', 'arg1'];

export function detectGeneration(db: Database.Database, path: string): SourceSchema {
  const names = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  const tables = new Map<string, Set<string>>();
  for (const name of names) {
    tables.set(name, new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[]).map((r) => r.name)));
  }
  const has = (table: string, column?: string) => (column === undefined ? tables.has(table) : (tables.get(table)?.has(column) ?? false));
  const userVersion = Number(db.pragma('user_version', { simple: true }));
  const schemaInfo: Record<string, string> = {};
  if (has('schema_info', 'key') && has('schema_info', 'value')) {
    for (const r of db.prepare('SELECT key, value FROM schema_info ORDER BY key').all() as { key: unknown; value: unknown }[]) schemaInfo[String(r.key)] = String(r.value);
  }
  const version = schemaInfo.version === undefined ? null : schemaInfo.version.slice(0, 32);
  const found = `schema_info.version ${JSON.stringify(version)}, user_version ${userVersion}`;
  if (!has('events')) {
    const list = names.length ? names.slice(0, 8).map((n) => n.slice(0, 64)).join(', ') + (names.length > 8 ? ', …' : '') : 'none';
    throw new BundleError('SCHEMA', `${path}: not an Ingero database: no events table (found tables: ${list}) — give a database written by Ingero`);
  }
  const missing = EVENT_COLUMNS.filter((c) => !has('events', c));
  if (missing.length) {
    throw new BundleError('SCHEMA', `${path}: unknown Ingero schema: events lacks ${missing.join(', ')} (${found}) — only the v0.8, v0.9 and v0.10+ schemas can be imported`);
  }
  if (userVersion > NEWEST_USER_VERSION) {
    throw new BundleError('VERSION', `${path}: unknown Ingero schema: user_version ${userVersion} is newer than any known (≤ ${NEWEST_USER_VERSION}; ${found}) — update ingero`);
  }
  const evidence: string[] = [found];
  let generation: Generation;
  const newer = ['events.comm', 'event_aggregates_5s', 'annotations'].filter((m) => (m.includes('.') ? has('events', 'comm') : has(m)));
  if (newer.length || userVersion === NEWEST_USER_VERSION) {
    generation = 'v0.10+';
    evidence.push(`has ${newer.join(', ') || 'user_version 10'}`);
  } else if (has('events', 'node')) {
    generation = 'v0.9';
    evidence.push('events.node present');
  } else {
    generation = 'v0.8';
    evidence.push('events has no node column');
  }
  return { generation, tables, schemaInfo, userVersion, evidence, has };
}

// Public API of the importer: Ingero SQLite trace databases (schema v0.8, v0.9, v0.10+) → bundles.
// Depends on format/ only.
export { importIngeroDb, type ImportOptions, type ImportProgress, type ImportReport } from './import-ingero-db.ts';
export { CHAIN_ORIGIN } from './map-chains.ts';
export type { Generation } from './detect-generation.ts';

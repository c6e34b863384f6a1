// Public API of the importers: Ingero SQLite trace databases (schema v0.8, v0.9, v0.10+) and
// PyTorch profiler (Kineto) traces → bundles. Depends on format/ only.
export { importIngeroDb, type ImportOptions, type ImportProgress, type ImportReport } from './import-ingero-db.ts';
export { CHAIN_ORIGIN } from './map-chains.ts';
export type { Generation } from './detect-generation.ts';
export { importKinetoTraces, type KinetoImportOptions, type KinetoImportProgress, type KinetoImportReport, type KinetoNodeReport } from './kineto/index.ts';
export { sourceKind, type SourceKind } from './source-kind.ts';

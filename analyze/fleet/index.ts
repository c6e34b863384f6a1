// Fleet scale: Parquet export of bundles, DuckDB queries over bundles and exports, fleet stats.
export { DEFAULT_QUERY_TIME_LIMIT_MS } from './engine.ts';
export { FleetDataset, FLEET_TABLES, resolveInputs, type QueryResult, type FleetOpenOptions } from './dataset.ts';
export { exportParquet, type ParquetExportOptions, type ParquetExportSummary } from './parquet-export.ts';
export { DEFAULT_ROWS_PER_PART } from './parquet-writer.ts';
export { fleetStats, fleetStatsSql, type FleetOpStats, type FleetStatsReport, type FleetStatsOptions } from './fleet-stats.ts';

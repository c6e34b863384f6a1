// Public API of the bundle library. Everything else in format/ is implementation.
export { BundleWriter, stagingPathFor } from './writer.ts';
export type {
  AggregateInput,
  AnnotationInput,
  CaptureLossInput,
  EventInput,
  FrameInput,
  FunctionInput,
  ImportedFindingInput,
  IntLike,
  MappingInput,
  ProcessInput,
  SamplingInput,
  SystemSampleInput,
  ThreadInput,
  CpuSampleInput,
  WriterOptions,
} from './writer.ts';
export { sealStaging as recoverBundle, removeStaging, type SealOptions, type SealResult } from './seal.ts';
export { Bundle, openBundle, openReadOnlyDatabase, defaultCacheDir, isPrivateDirectory } from './bundle.ts';
export type { EventFilter, EventRecord, OpInfo, OpenOptions, ResolvedFrame } from './bundle.ts';
export { mergeBundles, type MergeOptions, type MergeResult, type MergedNode } from './merge.ts';
export { redactBundle, REDACT_FIELDS, DROP_FIELDS, type RedactOptions, type RedactResult, type RedactField, type DropField, type ColumnCount } from './redact.ts';
export { verifyBundle, type VerifyProblem, type VerifyReport } from './verify.ts';
export { readContainer as readBundleHeader, type ContainerInfo } from './read-container.ts';
export type { Manifest } from './manifest.ts';
export { BundleError, type BundleErrorCode } from './errors.ts';
export { DEFAULT_STATEMENT_LIMITS, refuseStatement, runStatement, StatementError, type StatementErrorCode, type StatementLimits, type StatementResult } from './sql-statement.ts';
export { StatementRunner } from './sql-statement-runner.ts';
export { forkTs, type ForkOptions } from './fork-ts.ts';
export { clampText } from './clamp-text.ts';
export { firstAtLeast, idAtTimeBySteps, lowerBound } from './sorted-search.ts';
export { escapeLayoutCharacters } from './safe-json.ts';
export { demangle } from './demangle.ts';
export { SOURCE, SOURCES, OPS, opId, opById, opCode, packDims, type OpDef, type SourceDef, type ArgDef } from './catalog.ts';
export type { TableDoc, ColumnDoc } from './schema-docs.ts';
export { SCHEMA_VERSION, APPLICATION_ID, TABLES, type TableSpec, type ColumnSpec } from './schema.ts';
export { CONTAINER_MAJOR, CONTAINER_MINOR } from './container.ts';

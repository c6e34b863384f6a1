// Public API of the analyzer: pure functions over an opened bundle (format/openBundle). They
// read the bundle only, never the machine they run on, so a bundle gives the same answer
// everywhere. Result shapes are documented in analyze/types.ts.
export { computeStats, summarize, type StatsOptions } from './stats.ts';
export { percentile } from './percentile.ts';
export { EventIndex, type StackUse } from './event-index.ts';
export { explain, canonicalJson, compareFindings, type ExplainOptions } from './explain.ts';
export { DIFF_THRESHOLDS, diffBundles, diffSides, ratioText, resolveDiffThresholds, summarizeSide, type DiffOptions, type DiffReport, type DiffSide, type DiffThresholds, type FindingChange, type OpChange, type SetupChange, type SideAnalysis, type SideInfo, type SideSummary, type Verdict } from './diff.ts';
export { argDecoder, argInput, argText, type ArgDecoder } from './event-args.ts';
export { timeline, MAX_TIMELINE_WINDOWS, type Timeline, type TimelineOptions, type TimelinePoint, type TimelineSeries } from './timeline.ts';
export { DEFAULT_THRESHOLDS, THRESHOLD_NAMES, parseThresholdArgs, resolveThresholds, type ThresholdName, type Thresholds } from './thresholds.ts';
export { SCENARIOS, scenarioByName, scenarioCauses, writeDemoBundle, type DemoOptions, type DemoResult, type Scenario } from './demo/index.ts';
export type * from './types.ts';
export { cpuProfile, type CpuProfile, type CpuProfileOptions, type CpuProfileThread, type CpuFrame } from './cpu-profile.ts';

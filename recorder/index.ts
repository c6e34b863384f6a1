// What the CLI calls: `ingero record`, `ingero check`, `ingero recover`.
export { record, type RecordOptions, type RecordResult, type RecordStatus } from './session.ts';
export { runCheck, formatCheckReport, type CheckReport, type CheckItem, type CheckOptions, type TracedLibrary } from './check.ts';
export { recover } from './recover.ts';
export { formatStatusLine } from './status-line.ts';
export { RecorderError } from './errors.ts';
export { ALL_KERNEL_EVENTS, type KernelEvent } from './host-probes.ts';

// PyTorch profiler (Kineto) Chrome traces → bundles. Depends on format/ only.
export { importKinetoTraces, type KinetoImportOptions, type KinetoImportProgress, type KinetoImportReport, type KinetoNodeReport } from './import-kineto.ts';

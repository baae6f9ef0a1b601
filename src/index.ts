/**
 * batchlabel as a library: label large datasets with Hugging Face models, resumably.
 *
 *   import { label, plan, status, exportJob, report } from 'batchlabel';
 *   const summary = await label({ input: 'reviews.csv', model: 'org/model', output: 'labeled.csv' }, { onProgress: console.log });
 *
 * Nothing here prints or exits the process; failures are BatchlabelError subclasses whose `code` is one of
 * ErrorCode.
 */
export { label, type LabelHooks, type RunControl, type RunHandle, type RunStats, type RunSummary } from './api/label.js';
export { status, type StatusReport } from './api/status.js';
export { exportJob, type ExportJobOptions, type ExportSummary } from './api/export.js';
export { mergeShards, shardsStatus, type MergeOptions, type ShardsReport } from './api/shards.js';
export { plan, type PlanOptions, type PlanResult } from './plan/index.js';
export { report, type ReportFileOptions, type ReportResult } from './report/index.js';
export { DEFAULTS, type LabelOptions } from './job/options.js';
export type { FailureKind, Prediction, ProgressSink, RetryKind } from './core/types.js';
export {
  BackendFatalError,
  BatchlabelError,
  CheckpointError,
  ErrorCode,
  ExitCode,
  ExportError,
  InputError,
  JobFileError,
  UsageError,
  type ErrorCodeValue,
} from './errors.js';

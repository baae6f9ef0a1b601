/**
 * batchlabel as a library: label large datasets with Hugging Face models, resumably.
 *
 *   import { label, plan, status, exportJob, report } from 'batchlabel';
 *   const summary = await label({ input: 'reviews.csv', model: 'org/model', output: 'labeled.csv' }, { onProgress: console.log });
 *
 * Nothing here prints or exits the process; failures are BatchlabelError subclasses whose `code` is one of
 * ErrorCode.
 */
import { label as runLabel } from './api/label.js';
import { status as readStatus } from './api/status.js';
import { exportJob as writeExport } from './api/export.js';
import { mergeShards as mergeAll, shardsStatus as readShards } from './api/shards.js';
import { plan as estimate } from './plan/index.js';
import { report as writeReport } from './report/index.js';
import { libraryWording } from './api/wording.js';

// Errors and notices name options as label() takes them (textColumn), not as flags (see api/wording.ts).
/** Runs (or resumes) a labeling job; resolves to the summary `run --json` prints. */
export const label: typeof runLabel = libraryWording(runLabel);
/** The state of a job from its checkpoint or job file, as `status --json` prints it. */
export const status: typeof readStatus = libraryWording(readStatus);
/** Writes the scored file of a job from its checkpoint. */
export const exportJob: typeof writeExport = libraryWording(writeExport);
/** Merges the checkpoints of a job's shards into the export one process would write. */
export const mergeShards: typeof mergeAll = libraryWording(mergeAll);
/** The state of each shard of a job run as shards. */
export const shardsStatus: typeof readShards = libraryWording(readShards);
/** Estimates a job before it runs: rows, tokens, time. */
export const plan: typeof estimate = libraryWording(estimate);
/** Writes a self-contained HTML report of a job. */
export const report: typeof writeReport = libraryWording(writeReport);
export type { LabelHooks, RunControl, RunHandle, RunStats, RunSummary } from './api/label.js';
export type { StatusReport } from './api/status.js';
export type { ExportJobOptions, ExportSummary } from './api/export.js';
export type { MergeOptions, ShardsReport } from './api/shards.js';
export type { PlanOptions, PlanResult } from './plan/index.js';
export type { ReportFileOptions, ReportResult } from './report/index.js';
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

import type { ReadPosition } from '../io/types.js';
import type { InputFingerprint } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';

/** What a checkpoint records about its job, besides the rows: one typed key each, stored as JSON. */
export interface JobMeta {
  schema_version: string;
  /** Size and sampled content of the input, to refuse a resume on another file. */
  fingerprint: InputFingerprint;
  /** The settings whose change changes results (resultSettings), to refuse a resume with other ones. */
  result_settings: Record<string, unknown>;
  /** Every setting of the last run, for status and export. */
  settings: JobSettings;
  created_at: string;
  /** Data rows of the input (or of --limit), once it has been read to its end. */
  rows_total: number;
  /** The --limit rows_total was counted under. */
  limit: number | null;
  /** What exactly answered (ONNX file, Hub commit): see Classifier.identity. */
  model_identity: Record<string, string>;
  /** The first row not finished yet, where a resumed read starts. */
  frontier: ReadPosition;
  /** The model revision the inference API reported (`x-sha`) for this job's results. */
  model_revision: string;
  /** The shard of the job this checkpoint labels; null for the whole job. */
  shard: { index: number; count: number; block: number } | null;
}

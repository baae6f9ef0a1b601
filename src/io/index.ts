/**
 * The input formats, as a registry: each opens a row source at a resume cursor it defines itself (CSV and
 * JSONL: a byte offset and line; Parquet: a row group and row), so a new format is a folder and one line
 * in FORMATS, not edits across the pipeline.
 */
import { stat } from 'node:fs/promises';
import { UTF8 } from '../core/encoding.js';
import type { ProgressSink } from '../core/types.js';
import { InputError } from '../errors.js';
import { isHubUri, resolveDatasetInput } from '../hub/datasets.js';
import type { JobSettings } from '../job/settings.js';
import { inputEncoding } from './bytes.js';
import { openCsv } from './csv.js';
import { openJsonl } from './jsonl.js';
import type { ReaderOptions, ReadPosition, RowSource } from './types.js';
import { START } from './types.js';

export type { InputRow, ReadPosition, RowSource } from './types.js';
export { START } from './types.js';

type Format = JobSettings['format'];

/**
 * Loaded on first use: hyparquet and its codecs (native zstd, WebAssembly snappy) add ~11 MiB to the RSS of
 * every run that imports them, a CSV or JSONL run included (measured: 12.6 MiB on importing
 * parquet/read.js in a bare node process).
 */
const openParquet: typeof import('./parquet/read.js').openParquet = async (...args) => (await import('./parquet/read.js')).openParquet(...args);

interface InputFormat {
  open(opts: ReaderOptions, from: ReadPosition, files?: string[]): Promise<RowSource>;
  /** Several files (a Hub glob, a split's shards) read as one input. */
  manyFiles: boolean;
  /** A text format, in an encoding of its own (Parquet's text is UTF-8 by definition). */
  encoded: boolean;
}

const FORMATS: Record<Format, InputFormat> = {
  csv: { open: (opts, from) => openCsv(opts, from), manyFiles: false, encoded: true },
  jsonl: { open: (opts, from) => openJsonl(opts, from), manyFiles: false, encoded: true },
  parquet: { open: (opts, from, files) => openParquet(opts, from, files), manyFiles: true, encoded: false },
};

type InputSettings = Pick<JobSettings, 'input' | 'format' | 'encoding' | 'textColumn' | 'textPairColumn' | 'idColumn' | 'delimiter' | 'relaxQuotes' | 'split' | 'config'>;

async function readerOptions(s: InputSettings, format: InputFormat, path: string, read: { raw?: boolean; lazyText?: boolean }): Promise<ReaderOptions> {
  const encoding = format.encoded ? await inputEncoding(path, s.encoding) : UTF8;
  return { path, encoding, textColumn: s.textColumn, textPairColumn: s.textPairColumn, idColumn: s.idColumn, delimiter: s.delimiter, relaxQuotes: s.relaxQuotes, raw: read.raw, lazyText: read.lazyText };
}

/** Opens the job's input at `from` (a resumed run starts past the finished part of the file). */
export async function openInput(s: InputSettings, from: ReadPosition = START, read: { raw?: boolean; lazyText?: boolean; download?: ProgressSink } = {}): Promise<RowSource> {
  const format = FORMATS[s.format];
  if (isHubUri(s.input)) {
    // A Hub dataset's files, from the cache (downloaded first where missing).
    const { files } = await resolveDatasetInput(s.input, { split: s.split, config: s.config, sink: read.download });
    if (format.manyFiles) return format.open(await readerOptions(s, format, s.input, read), from, files);
    if (files.length > 1) throw new InputError(`${s.input} matches ${files.length} files: several files are read as one input only for Parquet. Name one file.`);
    return format.open(await readerOptions(s, format, files[0]!, read), from);
  }
  try {
    const st = await stat(s.input);
    if (!st.isFile()) throw new InputError(`${s.input}: not a file.`);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${s.input}: cannot read the input (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path given with --input.`);
  }
  return format.open(await readerOptions(s, format, s.input, read), from);
}

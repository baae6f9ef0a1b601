import { stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { openCsv } from './csv.js';
import { openJsonl } from './jsonl.js';
import { openParquet } from './parquet.js';
import { isHubUri, resolveDatasetInput } from '../hub/datasets.js';
import type { ReadPosition, RowSource } from './types.js';
import { START } from './types.js';
import type { JobSettings } from '../job/settings.js';

export type { InputRow, ReadPosition, RowSource } from './types.js';
export { START } from './types.js';

/** Opens the job's input at `from` (a resumed run starts past the finished part of the file). */
export async function openInput(
  s: Pick<JobSettings, 'input' | 'format' | 'textColumn' | 'idColumn' | 'delimiter' | 'relaxQuotes' | 'split' | 'config'>,
  from: ReadPosition = START,
  read: { raw?: boolean; lazyText?: boolean } = {},
): Promise<RowSource> {
  if (isHubUri(s.input)) return openHubInput(s, from, read);
  try {
    const st = await stat(s.input);
    if (!st.isFile()) throw new InputError(`${s.input}: not a file.`);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${s.input}: cannot read the input (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path given with --input.`);
  }
  const opts = { path: s.input, textColumn: s.textColumn, idColumn: s.idColumn, delimiter: s.delimiter, relaxQuotes: s.relaxQuotes, raw: read.raw, lazyText: read.lazyText };
  if (s.format === 'parquet') return openParquet(opts, from);
  return s.format === 'csv' ? openCsv(opts, from) : openJsonl(opts, from);
}

/** A Hub dataset's files, from the cache (downloaded first where missing); several are one input. */
async function openHubInput(
  s: Pick<JobSettings, 'input' | 'format' | 'textColumn' | 'idColumn' | 'delimiter' | 'relaxQuotes' | 'split' | 'config'>,
  from: ReadPosition,
  read: { raw?: boolean; lazyText?: boolean },
): Promise<RowSource> {
  const { files } = await resolveDatasetInput(s.input, { split: s.split, config: s.config });
  const opts = { path: s.input, textColumn: s.textColumn, idColumn: s.idColumn, delimiter: s.delimiter, relaxQuotes: s.relaxQuotes, raw: read.raw, lazyText: read.lazyText };
  if (s.format === 'parquet') return openParquet(opts, from, files);
  if (files.length > 1) throw new InputError(`${s.input} matches ${files.length} files: several files are read as one input only for Parquet. Name one file.`);
  const one = { ...opts, path: files[0]! };
  return s.format === 'csv' ? openCsv(one, from) : openJsonl(one, from);
}

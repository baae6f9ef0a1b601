import path from 'node:path';
import { UsageError } from '../errors.js';
import { report } from '../report/index.js';
import { num } from './format.js';

export interface ReportFlags {
  target: string;
  output?: string;
  lowest?: number;
  quiet: boolean;
}

export async function reportCommand(flags: ReportFlags): Promise<void> {
  if (!flags.output) throw new UsageError('no output: pass --output report.html.');
  if (flags.lowest !== undefined && !(Number.isInteger(flags.lowest) && flags.lowest >= 0)) throw new UsageError(`--lowest must be a whole number ≥ 0, got ${flags.lowest}.`);
  const output = path.resolve(flags.output);
  const { data } = await report(flags.target, { output, lowest: flags.lowest });
  if (!flags.quiet) {
    process.stderr.write(`wrote ${output}: ${num(data.rows.done)} rows labeled, ${num(data.rows.failed)} failed, ${data.lowest.length} least confident rows listed.\n`);
  }
}

import path from 'node:path';
import { UsageError } from '../errors.js';
import { report } from '../report/index.js';
import { num } from './format.js';

export interface ReportFlags {
  target: string;
  output?: string;
  lowest?: number;
  threshold?: number;
  shards?: number;
  quiet: boolean;
}

export async function reportCommand(flags: ReportFlags): Promise<void> {
  if (!flags.output) throw new UsageError('no output: pass --output report.html.');
  if (flags.lowest !== undefined && !(Number.isInteger(flags.lowest) && flags.lowest >= 0)) throw new UsageError(`--lowest must be a whole number ≥ 0, got ${flags.lowest}.`);
  if (flags.threshold !== undefined && !Number.isFinite(flags.threshold)) throw new UsageError('--threshold must be a number, e.g. 0.5.');
  const output = path.resolve(flags.output);
  const { data } = await report(flags.target, { output, lowest: flags.lowest, threshold: flags.threshold, shards: flags.shards });
  if (!flags.quiet) {
    process.stderr.write(`wrote ${output}: ${num(data.rows.done)} rows labeled, ${num(data.rows.failed)} failed, ${data.lowest.length} least confident rows listed${data.shards ? ` (${data.shards.count} shards${data.shards.finished ? '' : ', not all finished'})` : ''}.\n`);
  }
}

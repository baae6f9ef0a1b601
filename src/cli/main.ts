#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BatchlabelError, ExitCode, UsageError } from '../errors.js';
import type { RowSelection } from '../export/export.js';
import { JOB_OPTIONS, PARQUET_COMPRESSIONS, type JobValues, type ParquetCompression } from '../job/options.js';
import { coerceOption, explainUnknownArguments } from './args.js';
import { num } from './format.js';
import { checkJobArgs } from './job-checks.js';
import { asInvoked, invokedAs } from './invoked.js';
import { commandLine, runCommand } from './run-command.js';

const EXIT_CODES = `Exit codes:
  0    every row labeled
  4    finished, but some rows failed (see \`batchlabel status\`; retry them with --retry-failed)
  1    fatal: bad credentials, unknown model, unreadable input, bad job file, checkpoint mismatch
  2    usage error
  130  interrupted by Ctrl-C or SIGTERM (run the same command again to resume)`;

const RUN_EPILOGUE = `A job file is JSON (or YAML, if it ends in .yaml/.yml) whose keys are the
flags in camelCase, e.g.
  {"input": "../data/reviews.csv", "textColumn": "text",
   "model": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
   "output": "../out/reviews-labeled.csv"}
Relative paths in a job file are relative to the job file. Flags override it.

The token is read from $HF_TOKEN, else from the file \`hf auth login\` saves
(~/.cache/huggingface/token); --token-env NAME reads that variable only. It is
never written anywhere.

Results are checkpointed in SQLite as they arrive: after a crash, Ctrl-C or a
reboot, the same command resumes where it stopped. Identical texts are
classified once.

${EXIT_CODES}`;

function addJobOptions(y: Argv): Argv {
  for (const o of JOB_OPTIONS) {
    y.option(o.flag, {
      // Numbers untyped, so that coerceOption sees what was typed ("abc", not NaN).
      ...(o.type === 'number' ? {} : { type: o.type === 'list' ? ('string' as const) : o.type }),
      ...(o.type === 'boolean' ? {} : { coerce: coerceOption(o) }),
      group: `${o.group}:`,
      describe: o.defaultText ? `${o.describe} [default: ${o.defaultText}]` : o.describe,
      ...(o.choices ? { choices: o.choices } : {}),
    });
  }
  return y;
}

const COLUMN_OPTIONS = JOB_OPTIONS.filter((o) => o.key.endsWith('Column') && o.group === 'Output' || o.key === 'scorePrefix');

function jobValues(argv: Record<string, unknown>): JobValues {
  const out: JobValues = {};
  for (const o of JOB_OPTIONS) {
    const v = argv[o.key];
    if (v !== undefined) out[o.key] = v as string | number | boolean | string[];
  }
  return out;
}

/** export's review filters, checked. */
function rowSelection(a: Record<string, unknown>): RowSelection | undefined {
  const { label, maxScore, sample, seed } = a as { label?: string; maxScore?: number; sample?: number; seed?: number };
  if (maxScore !== undefined && !Number.isFinite(maxScore)) throw new UsageError('--max-score must be a number, e.g. 0.7.');
  if (sample !== undefined && !(Number.isInteger(sample) && sample >= 1)) throw new UsageError(`--sample must be a whole number ≥ 1, got ${String(sample)}.`);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, got ${String(seed)}.`);
  if (seed !== undefined && sample === undefined) throw new UsageError('--seed goes with --sample N.');
  if (label === undefined && maxScore === undefined && sample === undefined) return undefined;
  return { label, maxScore, sample, seed };
}

function fail(err: unknown): never {
  if (err instanceof BatchlabelError) {
    process.stderr.write(`batchlabel: ${asInvoked(err.message)}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`batchlabel: internal error (please report it): ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(ExitCode.fatal);
}

/**
 * yargs renders the whole help text whenever a command runs, to have it at hand should the command fail
 * (~50 ms of every start); this CLI's fail() never prints it, so that render is skipped. --help still
 * renders it. Reached through yargs' internals, so only where they are as expected.
 */
function skipHelpCache(cli: object): void {
  const usage = (cli as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * Standard output closed by its reader (`batchlabel status … | head`): what was wanted has been read, so
 * the command ends quietly, as Unix tools do, rather than with an EPIPE stack trace.
 */
function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
    fail(err);
  });
}

/** yargs reads `--output -` as an empty output and a positional "-": joined, it is the value "-". */
function stdoutDash(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') return [...out, ...args.slice(i)];
    if (args[i] === '--output' && args[i + 1] === '-') {
      out.push('--output=-');
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

async function main(): Promise<void> {
  exitQuietlyOnClosedStdout();
  const cli = yargs(stdoutDash(hideBin(process.argv)));
  skipHelpCache(cli);
  await cli
    .scriptName(invokedAs())
    .usage('$0 <command> [options]\n\nLabel large CSV/JSONL datasets with Hugging Face text-classification models, resumably.')
    .command(
      'run [job]',
      'Label a dataset (resumes automatically if a checkpoint exists)',
      (y) =>
        addJobOptions(y.positional('job', { type: 'string', describe: 'Job file (JSON, or YAML if it ends in .yaml/.yml); flags override its settings' }))
          .option('restart', { type: 'boolean', describe: 'Discard the checkpoint and start over', group: 'Behaviour:' })
          .option('retry-failed', { type: 'boolean', describe: 'Re-attempt only the rows that failed', group: 'Behaviour:' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No progress or summary on stderr', group: 'Behaviour:' })
          .option('json', { type: 'boolean', describe: 'Print a machine-readable summary on stdout', group: 'Behaviour:' })
          .example('$0 run jobs/reviews-sentiment.json', 'run a job file')
          .example('$0 run --input reviews.csv --text-column body --model distilbert/distilbert-base-uncased-finetuned-sst-2-english --output labeled.csv', 'everything as flags')
          .example('$0 run --backend onnx --model ./my-model --input reviews.jsonl --output labeled.jsonl', 'local model, no network')
          .example('$0 run jobs/reviews-sentiment.json --limit 100 --output trial.csv', 'a quick trial on the first 100 rows')
          .epilogue(RUN_EPILOGUE),
      async (argv) => {
        const code = await runCommand({
          job: argv.job as string | undefined,
          values: jobValues(argv),
          restart: argv.restart === true,
          retryFailed: argv['retry-failed'] === true,
          quiet: argv.quiet === true,
          json: argv.json === true,
        });
        process.exitCode = code;
      },
    )
    .command(
      'plan [job]',
      'Dry run: rows, unique texts, lengths, requests and a timed estimate, before running (writes nothing)',
      (y) =>
        addJobOptions(y.positional('job', { type: 'string', describe: 'Job file, as for run; flags override it' }))
          .option('probe', { type: 'boolean', default: true, describe: 'Time a short probe of the backend (at most 50 requests, or a few windows through the local model); --no-probe skips it', group: 'Behaviour:' })
          .option('probe-requests', { type: 'number', describe: 'Requests the probe sends to the endpoint (≤ 50) [default: 50]', group: 'Behaviour:' })
          .option('json', { type: 'boolean', describe: 'Machine-readable output', group: 'Behaviour:' }),
      async (argv) => {
        const { planCommand } = await import('./plan-command.js');
        const checked = checkJobArgs(argv.job as string | undefined, jobValues(argv));
        if (checked.notice) process.stderr.write(`${checked.notice}\n`);
        const n = argv['probe-requests'] as number | undefined;
        if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= 50)) throw new UsageError(`--probe-requests must be a whole number from 1 to 50, got ${String(n)}.`);
        await planCommand(
          { job: argv.job as string | undefined, values: checked.values, probe: argv.probe !== false, probeRequests: n, json: argv.json === true },
          (s) => process.stdout.write(`${asInvoked(s)}\n`),
        );
      },
    )
    .command(
      'status <target>',
      'Show progress, failures and settings of a job (checkpoint file or job file)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'Checkpoint (.sqlite) or job file', demandOption: true })
          .option('json', { type: 'boolean', describe: 'Machine-readable output' })
          .option('shards', { type: 'number', describe: 'The job ran as N shards (run --shard I/N): show each and the total' })
          .epilogue('Exit code 0 when the job is finished without failures, 4 with failures, 3 when unfinished.'),
      async (argv) => {
        if (argv.shards !== undefined) {
          // Each command but run loads its modules when it runs: ~50 modules fewer to load before run starts.
          const { shardsStatusCommand } = await import('./shards-command.js');
          process.exitCode = await shardsStatusCommand(argv.target as string, argv.shards, argv.json === true, (s) => process.stdout.write(`${asInvoked(s)}\n`));
          return;
        }
        const [{ status }, { printStatus }] = await Promise.all([import('../api/status.js'), import('./status-command.js')]);
        const report = await status(argv.target as string);
        if (argv.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printStatus(report, (line) => process.stdout.write(`${asInvoked(line)}\n`));
        process.exitCode = !report.finished ? 3 : report.rows.failed ? ExitCode.someRowsFailed : ExitCode.ok;
      },
    )
    .command(
      'export <target>',
      'Write the scored CSV/JSONL of a job (checkpoint file or job file)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'Checkpoint (.sqlite) or job file', demandOption: true })
          .option('output', { type: 'string', describe: "Output file; - writes it to standard output (CSV or JSONL) [default: the job's output]" })
          .option('output-format', { type: 'string', choices: ['csv', 'jsonl', 'parquet'], describe: "Output format [default: from the output's extension]" })
          .option('output-encoding', { type: 'string', describe: "CSV, JSONL: the text encoding to write (utf-8, utf-16le, windows-1252 …) [default: as in the run, else the input's]" })
          .option('parquet-compression', { type: 'string', choices: [...PARQUET_COMPRESSIONS], describe: 'Parquet: page compression (snappy or gzip for readers without zstd, uncompressed for none) [default: as in the run, else zstd]' })
          .option('partial', { type: 'boolean', describe: 'Export an unfinished job; unlabeled rows are left blank' })
          .option('shards', { type: 'number', describe: 'Merge the N shards of a job (run --shard I/N) into the export one process would write' })
          .option('push-to-hub', { type: 'string', describe: 'Upload the export with a dataset card to this Hub dataset repo, <owner>/<name>' })
          .option('private', { type: 'boolean', describe: 'With --push-to-hub: create the dataset repo private' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No summary on stderr' })
          .option('escape-formulas', { type: 'boolean', describe: "CSV: prefix added cells that start like a spreadsheet formula with ' [default: as in the run, else true]" })
          .option('label', { type: 'string', describe: 'Only the rows predicted this label', group: 'Review exports:' })
          .option('max-score', { type: 'number', describe: 'Only the rows whose top score is below this (a review queue)', group: 'Review exports:' })
          .option('sample', { type: 'number', describe: 'A random sample of N labeled rows (of those the other filters keep)', group: 'Review exports:' })
          .option('seed', { type: 'number', describe: 'Seed of --sample: the same seed, the same rows [default: 1]', group: 'Review exports:' })
          .options(Object.fromEntries(COLUMN_OPTIONS.map((o) => [o.flag, { type: 'string' as const, describe: `${o.describe} [default: as in the run]` }]))),
      async (argv) => {
        const a = argv as Record<string, unknown>;
        if (a.shards !== undefined) {
          const columns = Object.fromEntries(COLUMN_OPTIONS.map((o) => [o.key, a[o.key] as string | undefined]));
          const say = (s: string) => void (a.quiet ? undefined : process.stderr.write(`${asInvoked(s)}\n`));
          const { shardsExportCommand } = await import('./shards-command.js');
          await shardsExportCommand({ target: a.target as string, count: a.shards as number, output: a.output as string | undefined, outputFormat: a.outputFormat as 'csv' | 'jsonl' | 'parquet' | undefined, partial: a.partial === true, columns }, say);
          return;
        }
        const toStdout = a.output === '-';
        const { exportJob } = await import('../api/export.js');
        const r = await exportJob({
          checkpoint: a.target as string,
          output: toStdout ? undefined : (a.output as string | undefined),
          ...(toStdout ? { outputStream: process.stdout } : {}),
          outputFormat: a.outputFormat as 'csv' | 'jsonl' | 'parquet' | undefined,
          outputEncoding: a.outputEncoding as string | undefined,
          parquetCompression: a.parquetCompression as ParquetCompression | undefined,
          partial: a.partial === true,
          pushToHub: a.pushToHub as string | undefined,
          private: a.private === true,
          command: commandLine(),
          escapeFormulas: typeof a.escapeFormulas === 'boolean' ? a.escapeFormulas : undefined,
          select: rowSelection(a),
          ...Object.fromEntries(COLUMN_OPTIONS.map((o) => [o.key, a[o.key] as string | undefined])),
        });
        if (!a.quiet) process.stderr.write(`wrote ${r.output}: ${num(r.rows)} rows, ${num(r.labeled)} labeled, ${num(r.failed)} failed${r.unlabeled ? `, ${num(r.unlabeled)} not labeled yet` : ''}.\n`);
        if (r.pushed && !a.quiet) process.stderr.write(`pushed to ${r.pushed}\n`);
      },
    )
    .command(
      'report <target>',
      'Write a self-contained HTML report of a job: labels, scores, failures, rows to check',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'Checkpoint (.sqlite) or job file', demandOption: true })
          .option('output', { type: 'string', alias: 'o', describe: 'HTML file to write', demandOption: true })
          .option('lowest', { type: 'number', describe: 'Least confident rows to list [default: 25]' })
          .option('threshold', { type: 'number', describe: 'Score at which a label counts as predicted, for labels predicted together (jobs keeping every score) [default: 0.5]' })
          .option('shards', { type: 'number', describe: 'The job ran as N shards (run --shard I/N): report the whole job and each shard' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No summary on stderr' }),
      async (argv) => {
        // Loaded here: the charting libraries behind it stay out of every other command's start.
        const { reportCommand } = await import('./report-command.js');
        await reportCommand({ target: argv.target as string, output: argv.output as string, lowest: argv.lowest as number | undefined, threshold: argv.threshold as number | undefined, shards: argv.shards as number | undefined, quiet: argv.quiet === true });
      },
    )
    .demandCommand(1, 'Name a command: run, plan, status, export or report.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .epilogue(EXIT_CODES)
    .fail((msg, err) => {
      // A value coerceOption refused reaches here wrapped in yargs' YError: its message is the line.
      if (err && err.name !== 'YError') fail(err);
      if (err) msg = err.message;
      const explained = explainUnknownArguments(msg, hideBin(process.argv));
      if (explained) {
        process.stderr.write(`batchlabel: ${explained}\n`);
        process.exit(ExitCode.usage);
      }
      process.stderr.write(`batchlabel: ${msg}\nRun \`${invokedAs()} --help\` (or \`${invokedAs()} <command> --help\`) for usage.\n`);
      process.exit(ExitCode.usage);
    })
    .parseAsync();
}

main().catch(fail);

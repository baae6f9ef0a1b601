#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BatchlabelError, ExitCode, UsageError } from '../errors.js';
import { exportResults } from '../export/export.js';
import { JOB_OPTIONS, type JobValues } from '../job/options.js';
import { formatFromExtension, resolveColumns } from '../job/resolve.js';
import { checkPushTarget, pushExport } from '../hub/push.js';
import { num } from './format.js';
import { commandLine, runCommand } from './run-command.js';
import { printStatus, statusReport } from './status-command.js';
import { openTarget } from './target.js';
import path from 'node:path';

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
      type: o.type,
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
    if (v !== undefined) out[o.key] = v as string | number | boolean;
  }
  return out;
}

function fail(err: unknown): never {
  if (err instanceof BatchlabelError) {
    process.stderr.write(`batchlabel: ${err.message}\n`);
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

async function main(): Promise<void> {
  const cli = yargs(hideBin(process.argv));
  skipHelpCache(cli);
  await cli
    .scriptName('batchlabel')
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
      'status <target>',
      'Show progress, failures and settings of a job (checkpoint file or job file)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'Checkpoint (.sqlite) or job file', demandOption: true })
          .option('json', { type: 'boolean', describe: 'Machine-readable output' })
          .epilogue('Exit code 0 when the job is finished without failures, 4 with failures, 3 when unfinished.'),
      (argv) => {
        const { store, settings } = openTarget(argv.target as string);
        try {
          const report = statusReport(store, settings);
          if (argv.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          else printStatus(report, (s) => process.stdout.write(`${s}\n`));
          process.exitCode = !report.finished ? 3 : report.rows.failed ? ExitCode.someRowsFailed : ExitCode.ok;
        } finally {
          store.close();
        }
      },
    )
    .command(
      'export <target>',
      'Write the scored CSV/JSONL of a job (checkpoint file or job file)',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'Checkpoint (.sqlite) or job file', demandOption: true })
          .option('output', { type: 'string', describe: "Output file [default: the job's output]" })
          .option('output-format', { type: 'string', choices: ['csv', 'jsonl', 'parquet'], describe: "Output format [default: from the output's extension]" })
          .option('partial', { type: 'boolean', describe: 'Export an unfinished job; unlabeled rows are left blank' })
          .option('push-to-hub', { type: 'string', describe: 'Upload the export with a dataset card to this Hub dataset repo, <owner>/<name>' })
          .option('private', { type: 'boolean', describe: 'With --push-to-hub: create the dataset repo private' })
          .option('quiet', { type: 'boolean', alias: 'q', describe: 'No summary on stderr' })
          .options(Object.fromEntries(COLUMN_OPTIONS.map((o) => [o.flag, { type: 'string' as const, describe: `${o.describe} [default: as in the run]` }]))),
      async (argv) => {
        const a = argv as Record<string, unknown>;
        const { store, settings: stored } = openTarget(a.target as string);
        try {
          const settings = { ...stored, columns: resolveColumns(jobValues(a), stored.columns) };
          const pushTo = a.pushToHub as string | undefined;
          if (pushTo) checkPushTarget(pushTo);
          const output = a.output !== undefined ? path.resolve(a.output as string) : (settings.output ?? (pushTo ? path.resolve(`${path.basename(pushTo)}.parquet`) : undefined));
          if (!output) throw new UsageError('no output: pass --output FILE.');
          const format = (a.outputFormat as 'csv' | 'jsonl' | 'parquet' | undefined) ?? formatFromExtension(output, 'output-format');
          const r = await exportResults(store, settings, { output, format, partial: a.partial === true });
          if (!a.quiet) process.stderr.write(`wrote ${output}: ${num(r.rows)} rows, ${num(r.labeled)} labeled, ${num(r.failed)} failed${r.unlabeled ? `, ${num(r.unlabeled)} not labeled yet` : ''}.\n`);
          if (pushTo) {
            const pushed = await pushExport(store, settings, { output, summary: r }, { repoId: pushTo, private: a.private === true, command: commandLine() });
            if (!a.quiet) process.stderr.write(`pushed to ${pushed.commitUrl}\n`);
          }
        } finally {
          store.close();
        }
      },
    )
    .demandCommand(1, 'Name a command: run, status or export.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .epilogue(EXIT_CODES)
    .fail((msg, err) => {
      if (err) fail(err);
      process.stderr.write(`batchlabel: ${msg}\nRun \`batchlabel --help\` (or \`batchlabel <command> --help\`) for usage.\n`);
      process.exit(ExitCode.usage);
    })
    .parseAsync();
}

main().catch(fail);

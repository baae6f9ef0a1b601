import { existsSync } from 'node:fs';
import { label, type RunHandle, type RunStats } from '../api/label.js';
import { BatchlabelError, ExitCode, UsageError } from '../errors.js';
import { checkJobArgs } from './job-checks.js';
import { asInvoked, invokedAs } from './invoked.js';
import type { JobValues } from '../job/options.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { duration, num, rate, retriesText, shellQuote } from './format.js';
import { startProgress } from './progress.js';
import { stderrSink } from './stderr-sink.js';

export interface RunFlags {
  job?: string;
  values: JobValues;
  restart: boolean;
  retryFailed: boolean;
  quiet: boolean;
  json: boolean;
}

/** This command as typed, credentials in URLs hidden, for the dataset card. */
export function commandLine(): string {
  return ['batchlabel', ...process.argv.slice(2).map(redactUrlsIn)].map(shellQuote).join(' ');
}

/** The command that resumes this run: the same arguments, without --restart, credentials in URLs hidden. */
function resumeCommand(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--restart');
  const shown = args.map(redactUrlsIn);
  const hidden = shown.some((a, i) => a !== args[i]);
  return `${[invokedAs(), ...shown.map(shellQuote)].join(' ')}${hidden ? '  (put back the credentials shown as [redacted])' : ''}`;
}

/** `--output -`: the export goes to standard output (and --json, which also writes there, cannot). */
function stdoutOutput(flags: RunFlags): { values: JobValues; toStdout: boolean } {
  if (flags.values.output !== '-') return { values: flags.values, toStdout: false };
  if (flags.json) throw new UsageError('--output - and --json both write to standard output: keep one (the summary is on stderr).');
  if (flags.values.pushToHub !== undefined) throw new UsageError('--push-to-hub uploads a file: name it with --output FILE instead of --output -.');
  const values = { ...flags.values };
  delete values.output;
  return { values, toStdout: true };
}

export async function runCommand(flags: RunFlags): Promise<number> {
  const checked = checkJobArgs(flags.job, flags.values);
  const { values, toStdout } = stdoutOutput({ ...flags, values: checked.values });
  let stats: RunStats | undefined;
  let handle: RunHandle | undefined;
  const progress = startProgress(() => stats, { quiet: flags.quiet });
  const say = (msg: string) => progress.say(msg);
  if (checked.notice) say(checked.notice);
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(`${sig}: stopping; letting requests in flight finish (Ctrl-C again to quit now; the checkpoint stays consistent).`);
      stop.abort();
      return;
    }
    // Second signal: commit what is buffered (synchronous) and leave. In-flight rows are redone on resume.
    try {
      handle?.flushNow();
    } catch {
      // The commit failed (disk full): what it held is redone on resume.
    }
    process.stderr.write(`\nquit. Resume with: ${resumeCommand()}\n`);
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal (SIGHUP) stops the run like Ctrl-C: otherwise it dies with the run marked running.
  process.on('SIGHUP', onSignal);

  try {
    const summary = await label(
      { ...values, job: flags.job, restart: flags.restart, retryFailed: flags.retryFailed, command: commandLine(), ...(toStdout ? { outputStream: process.stdout } : {}) },
      {
        signal: stop.signal,
        onNotice: say,
        downloadProgress: flags.quiet ? undefined : stderrSink,
        onRun: (h) => {
          handle = h;
          stats = h.stats;
        },
      },
    ).finally(() => progress.stop());
    const s = handle!.stats;
    const r = summary.rows;
    if (summary.state === 'interrupted') {
      if (!flags.quiet) process.stderr.write(`interrupted after ${num(r.thisRun)} rows this run (${num(r.labeled + r.failed + r.skipped)} finished in all). Resume with:\n  ${resumeCommand()}\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify(jsonSummary(summary))}\n`);
      return summary.exitCode;
    }
    if (!flags.quiet) {
      const lines = [
        `done: ${num(r.labeled)} rows labeled, ${num(r.failed)} failed${r.skipped ? `, ${num(r.skipped)} skipped (empty text)` : ''}${s.reused ? `, ${num(s.reused)} reused from identical texts` : ''}${r.truncated ? `, ${num(r.truncated)} truncated` : ''}.`,
        `this run: ${num(r.thisRun)} rows in ${duration(summary.wallMs)} (${num(rate(r.thisRun, summary.wallMs))} rows/s); retries: ${retriesText(summary.retries)}.`,
      ];
      if (toStdout) lines.push(`wrote ${num(summary.outputRows ?? 0)} rows to standard output.`);
      else if (summary.output) lines.push(`wrote ${summary.output} (${num(summary.outputRows ?? 0)} rows).`);
      else if (summary.shard) lines.push(`shard ${summary.shard.index} of ${summary.shard.count} finished: once every shard has, merge with \`batchlabel export JOB --shards ${summary.shard.count} --output FILE\` (\`batchlabel status JOB --shards ${summary.shard.count}\` shows them all).`);
      else lines.push(`no --output given: export with \`batchlabel export ${shellQuote(summary.checkpoint)} --output FILE\`.`);
      if (summary.pushed) lines.push(`pushed to ${summary.pushed}`);
      if (r.failed) lines.push(`some rows failed: see \`batchlabel status ${shellQuote(summary.checkpoint)}\`; re-attempt them with --retry-failed.`);
      process.stderr.write(`${asInvoked(lines.join('\n'))}\n`);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify(jsonSummary(summary))}\n`);
    return summary.exitCode;
  } catch (err) {
    if (err instanceof BatchlabelError && err.checkpoint) {
      // Removed with the output's folder, say: then there is nothing to resume from, and no claim that there is.
      err.message += existsSync(err.checkpoint.path)
        ? ` (${num(err.checkpoint.finishedRows)} finished rows are safe in ${err.checkpoint.path}; fix the cause and run the same command to resume.)`
        : ` (the checkpoint ${err.checkpoint.path} is gone too, with the rows it held: the same command starts over.)`;
    }
    // A script reading --json gets an object even when the run fails.
    if (flags.json && err instanceof BatchlabelError) {
      const failed = { state: 'failed', checkpoint: err.checkpoint?.path ?? null, error: { code: err.code, message: err.message }, exitCode: err.exitCode };
      process.stdout.write(`${JSON.stringify(failed)}\n`);
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}

/** `--json`: label()'s summary, its exit code last. */
function jsonSummary(summary: Awaited<ReturnType<typeof label>>): Record<string, unknown> {
  const { exitCode, ...rest } = summary;
  return { ...rest, exitCode };
}

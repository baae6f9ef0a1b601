import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BatchlabelError, ExitCode } from '../errors.js';
import { exportResults } from '../export/export.js';
import type { JobValues } from '../job/options.js';
import { drainMs, loadJobFile, resolveSettings } from '../job/resolve.js';
import { openJobCheckpoint } from '../runner/prepare.js';
import { runJob, type RunHandle, type RunStats } from '../runner/run.js';
import { duration, num, rate, retriesText, shellQuote } from './format.js';
import { startProgress } from './progress.js';
import { checkPushTarget, pushExport } from '../hub/push.js';

export interface RunFlags {
  job?: string;
  values: JobValues;
  restart: boolean;
  retryFailed: boolean;
  quiet: boolean;
  json: boolean;
}

/** This command as typed, for the dataset card. */
export function commandLine(): string {
  return ['batchlabel', ...process.argv.slice(2)].map(shellQuote).join(' ');
}

/** The command that resumes this run: the same arguments, without --restart. */
function resumeCommand(): string {
  const args = process.argv.slice(2).filter((a) => a !== '--restart');
  return ['batchlabel', ...args].map(shellQuote).join(' ');
}

export async function runCommand(flags: RunFlags): Promise<number> {
  const values = { ...(flags.job ? loadJobFile(flags.job) : {}), ...flags.values };
  const settings = resolveSettings(values);
  const say = (msg: string) => {
    if (!flags.quiet) progress.say(msg);
  };
  let stats: RunStats | undefined;
  const progress = startProgress(() => stats, { quiet: flags.quiet });

  if (settings.pushToHub) checkPushTarget(settings.pushToHub);
  mkdirSync(path.dirname(settings.checkpoint), { recursive: true });
  if (settings.output) mkdirSync(path.dirname(settings.output), { recursive: true });
  const { store, resumed } = await openJobCheckpoint(settings, { restart: flags.restart, notice: say });
  const stop = new AbortController();
  let handle: RunHandle | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(`${sig}: stopping; letting requests in flight finish (Ctrl-C again to quit now; the checkpoint stays consistent).`);
      stop.abort();
      return;
    }
    // Second signal: commit what is buffered (synchronous) and leave. In-flight rows are redone on resume.
    handle?.flushNow();
    store.close();
    process.stderr.write(`\nquit. Resume with: ${resumeCommand()}\n`);
    process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    if (resumed) {
      const { done, failed } = store.counts();
      if (done + failed) say(`resuming: ${num(done + failed)} rows already finished in ${settings.checkpoint}`);
    }
    const result = await runJob(
      settings,
      store,
      {
        stop: stop.signal,
        drainMs: drainMs(values),
        retryFailed: flags.retryFailed,
        events: { notice: say },
        exportTo: settings.output && settings.outputFormat ? { output: settings.output, format: settings.outputFormat } : undefined,
      },
      (h) => {
        handle = h;
        stats = h.stats;
      },
    ).finally(() => progress.stop());
    stats = result.stats;
    const s = result.stats;
    const counts = store.counts();
    const wall = Date.now() - s.startedAt;
    const summary: Record<string, unknown> = {
      state: result.state,
      checkpoint: settings.checkpoint,
      rows: { total: s.rowsTotal ?? null, labeled: counts.done, failed: counts.failed, thisRun: s.done + s.failed, reused: s.reused, truncated: counts.truncated },
      retries: s.retries,
      wallMs: wall,
      rowsPerSecond: Math.round(rate(s.done + s.failed, wall) * 10) / 10,
    };

    if (result.state === 'interrupted') {
      if (!flags.quiet) {
        process.stderr.write(`interrupted after ${num(s.done + s.failed)} rows this run (${num(counts.done + counts.failed)} finished in all). Resume with:\n  ${resumeCommand()}\n`);
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...summary, exitCode: ExitCode.interrupted })}\n`);
      return ExitCode.interrupted;
    }

    // A fresh run wrote its export as it went; otherwise the export reads the input again.
    let exported = result.exported;
    if (settings.output && settings.outputFormat) {
      exported ??= await exportResults(store, settings, { output: settings.output, format: settings.outputFormat, partial: false });
      summary.output = settings.output;
    }
    const pushed = settings.pushToHub && exported
      ? await pushExport(store, settings, { output: settings.output!, summary: exported }, { repoId: settings.pushToHub, private: settings.private, command: commandLine() })
      : undefined;
    if (pushed) summary.pushed = pushed.commitUrl;
    const code = counts.failed > 0 ? ExitCode.someRowsFailed : ExitCode.ok;
    if (!flags.quiet) {
      const lines = [
        `done: ${num(counts.done)} rows labeled, ${num(counts.failed)} failed${s.reused ? `, ${num(s.reused)} reused from identical texts` : ''}${counts.truncated ? `, ${num(counts.truncated)} truncated` : ''}.`,
        `this run: ${num(s.done + s.failed)} rows in ${duration(wall)} (${num(rate(s.done + s.failed, wall))} rows/s); retries: ${retriesText(s.retries)}.`,
      ];
      if (exported) lines.push(`wrote ${settings.output} (${num(exported.rows)} rows).`);
      if (pushed) lines.push(`pushed to ${pushed.commitUrl}`);
      else lines.push(`no --output given: export with \`batchlabel export ${shellQuote(settings.checkpoint)} --output FILE\`.`);
      if (counts.failed) lines.push(`some rows failed: see \`batchlabel status ${shellQuote(settings.checkpoint)}\`; re-attempt them with --retry-failed.`);
      process.stderr.write(`${lines.join('\n')}\n`);
    }
    if (flags.json) process.stdout.write(`${JSON.stringify({ ...summary, exitCode: code })}\n`);
    return code;
  } catch (err) {
    if (err instanceof BatchlabelError) {
      const { done, failed } = store.counts();
      err.message += ` (${num(done + failed)} finished rows are safe in ${settings.checkpoint}; fix the cause and run the same command to resume.)`;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store.close();
  }
}

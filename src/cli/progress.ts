import type { RunStats } from '../pipeline/run.js';
import { etaMs } from '../api/eta.js';
import { duration, num, rate } from './format.js';

export interface Progress {
  stop(): void;
  /** Prints a message without garbling the live line. */
  say(msg: string): void;
}

function line(s: RunStats): string {
  const now = Date.now();
  const elapsed = now - s.startedAt;
  const thisRun = s.done + s.failed + s.skipped;
  const finished = s.finishedBefore + thisRun;
  const perSec = rate(thisRun, elapsed);
  let where: string;
  if (s.rowsTotal !== undefined) {
    where = `${num(finished)}/${num(s.rowsTotal)} rows (${((100 * finished) / Math.max(1, s.rowsTotal)).toFixed(1)}%)`;
  } else {
    const pct = s.bytesTotal ? (100 * s.bytesRead) / s.bytesTotal : 0;
    where = `${num(finished)} rows, ${pct.toFixed(1)}% of input read`;
  }
  const eta = etaMs({ elapsedMs: elapsed, finishedThisRun: thisRun, finishedBefore: s.finishedBefore, rowsTotal: s.rowsTotal, rowsRead: s.rowsRead, bytesRead: s.bytesRead, bytesTotal: s.bytesTotal });
  const parts = [where, `${num(perSec)} rows/s`, `ETA ${eta === null ? '?' : duration(eta)}`];
  if (s.failed) parts.push(`failed ${num(s.failed)}`);
  const retries = Object.values(s.retries).reduce((a, b) => a + b, 0);
  if (retries) parts.push(`retries ${num(retries)}`);
  parts.push(`concurrency ${s.concurrency}`);
  if (s.status) parts.push(s.status);
  return parts.join(' | ');
}

/**
 * A live line on a terminal; on a pipe or log file, a plain line every few seconds
 * (BATCHLABEL_PROGRESS_INTERVAL_MS overrides the period).
 */
export function startProgress(stats: () => RunStats | undefined, opts: { quiet: boolean; stream?: NodeJS.WriteStream }): Progress {
  const out = opts.stream ?? process.stderr;
  const tty = out.isTTY === true;
  if (opts.quiet) return { stop() {}, say() {} };
  const period = Number(process.env.BATCHLABEL_PROGRESS_INTERVAL_MS) || (tty ? 250 : 5000);
  let shown = false;
  const draw = () => {
    const s = stats();
    if (!s) return;
    if (tty) {
      const text = line(s).slice(0, Math.max(20, (out.columns || 120) - 1));
      out.write(`\r\x1b[2K${text}`);
      shown = true;
    } else {
      out.write(`${new Date().toISOString().slice(11, 19)} ${line(s)}\n`);
    }
  };
  const timer = setInterval(draw, period);
  timer.unref();
  const clear = () => {
    if (tty && shown) out.write('\r\x1b[2K');
    shown = false;
  };
  return {
    stop() {
      clearInterval(timer);
      clear();
    },
    say(msg) {
      clear();
      out.write(`${msg}\n`);
    },
  };
}

/**
 * The download progress line, written to a sink (the CLI gives stderr). On a terminal it redraws one line
 * in place (throttled, so a fast loopback download does not spend its time printing); elsewhere (CI logs, files) it writes one line when a
 * file starts and one when it ends, because carriage returns make logs unreadable.
 */

import type { ProgressSink } from '../core/types.js';

export type { ProgressSink } from '../core/types.js';

/** Where download progress goes when nobody asked for it: library code never prints. */
export const silentSink: ProgressSink = { write: () => {}, isTTY: false };

export interface FileProgress {
  update(receivedBytes: number): void;
  done(): void;
  /** End the line without claiming success (the caller reports the error). */
  fail(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

const REDRAW_MS = 250;

export function fileProgress(sink: ProgressSink, label: string, totalBytes: number | undefined, now = () => Date.now()): FileProgress {
  const started = now();
  let lastDraw = 0;
  let received = 0;
  const size = totalBytes !== undefined ? ` (${formatBytes(totalBytes)})` : '';
  const line = () => {
    const seconds = Math.max((now() - started) / 1000, 1e-3);
    const rate = `${formatBytes(Math.round(received / seconds))}/s`;
    if (totalBytes) {
      const pct = Math.min(100, Math.floor((received / totalBytes) * 100));
      return `downloading ${label}: ${formatBytes(received)} / ${formatBytes(totalBytes)} ${pct}% ${rate}`;
    }
    return `downloading ${label}: ${formatBytes(received)} ${rate}`;
  };
  if (sink.isTTY) sink.write(`\r${line()}\x1b[K`);
  else sink.write(`downloading ${label}${size}\n`);
  return {
    update(bytes) {
      received = bytes;
      if (!sink.isTTY) return;
      const t = now();
      if (t - lastDraw < REDRAW_MS) return;
      lastDraw = t;
      sink.write(`\r${line()}\x1b[K`);
    },
    done() {
      const seconds = (now() - started) / 1000;
      const summary = `downloaded ${label} (${formatBytes(received)} in ${seconds.toFixed(1)} s)`;
      sink.write(sink.isTTY ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    },
    fail() {
      if (sink.isTTY) sink.write('\n');
    },
  };
}

/** Runs the built batchlabel CLI as users run it (`bin/batchlabel ...`, the pid node runs as), watched from /proc. */
import { rmSync } from 'node:fs';
import { CLI, REPO } from './env.js';
import { check, runProcess, type ProcResult } from './proc.js';

export interface CliSummary {
  state: string;
  rows: { total: number | null; labeled: number; failed: number; thisRun: number; reused: number; truncated: number };
  wallMs: number;
  rowsPerSecond: number;
  exitCode: number;
}

export interface CliRun extends ProcResult {
  summary: CliSummary;
}

/** The environment a benchmark run gets: no token, no Hub access, progress off. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HF_HUB_OFFLINE: '1', BATCHLABEL_PROGRESS_INTERVAL_MS: '600000', ...extra };
  delete env.HF_TOKEN;
  delete env.HF_INFERENCE_ENDPOINT;
  delete env.NODE_OPTIONS;
  return env;
}

/** `batchlabel run <args> --quiet --json`; throws unless it exits 0 with a summary. */
export async function runCli(args: string[], opts: { timeoutMs: number; env?: Record<string, string> }): Promise<CliRun> {
  const r = await runProcess(CLI, ['run', ...args, '--quiet', '--json'], {
    cwd: REPO,
    env: cliEnv(opts.env),
    timeoutMs: opts.timeoutMs,
  });
  check(r, `batchlabel run ${args.join(' ')}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let summary: CliSummary;
  try {
    summary = JSON.parse(line) as CliSummary;
  } catch {
    throw new Error(`batchlabel printed no JSON summary:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  }
  return { ...r, summary };
}

/** A checkpoint and its WAL/SHM side files. */
export function removeCheckpoint(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

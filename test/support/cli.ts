import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The built CLI, as users run it. */
export const CLI = path.resolve(here, '../../src/cli/main.js');
export const REPO = path.resolve(here, '../../..');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI under test gets: this one with `env` over it (undefined removes a variable). */
export function cliEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // HF_TOKEN_PATH: never the login token of whoever runs the tests.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    BATCHLABEL_PROGRESS_INTERVAL_MS: '60000',
    HF_TOKEN_PATH: path.join(tmpdir(), 'batchlabel-tests-no-token-file'),
    ...env,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return childEnv;
}

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = REPO): Promise<CliResult> {
  return collect(spawnCli(args, env, cwd));
}

/** A temporary directory removed after the test. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

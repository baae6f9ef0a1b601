/**
 * Runs a child process and watches it from outside through /proc: peak resident memory (VmHWM, which the
 * kernel keeps as a high-water mark, so sampling can only miss growth in the last interval) and CPU time.
 * Every child gets a time limit; past it the child is killed and the run counts as failed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** VmHWM of the child, bytes (0 if it exited before the first sample). */
  peakRss: number;
  /** user + system CPU time of the child, ms (last sample before exit). */
  cpuMs: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface ProcOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  sampleMs?: number;
  /** Called with each line the child prints on stdout (e.g. "ready"). */
  onLine?: (line: string) => void;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

export function procPeakRss(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function runProcess(command: string, args: string[], opts: ProcOptions): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      if (opts.onLine) {
        partial += s;
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          opts.onLine(partial.slice(0, nl));
          partial = partial.slice(nl + 1);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    let peakRss = 0;
    let cpuMs = 0;
    const sample = () => {
      if (child.pid === undefined) return;
      peakRss = Math.max(peakRss, procPeakRss(child.pid) ?? 0);
      cpuMs = Math.max(cpuMs, procCpuMs(child.pid) ?? 0);
    };
    const sampler = setInterval(sample, opts.sampleMs ?? 25);
    let timedOut = false;
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearInterval(sampler);
      clearTimeout(killer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      const wallMs = performance.now() - started;
      clearInterval(sampler);
      clearTimeout(killer);
      child.on('close', () => resolve({ code, signal, wallMs, peakRss, cpuMs, stdout, stderr, timedOut }));
    });
  });
}

/** The child ran and exited 0, or an Error that carries its stderr. */
export function check(r: ProcResult, what: string): ProcResult {
  if (r.code === 0 && !r.timedOut) return r;
  const why = r.timedOut ? 'timed out' : `exited with ${r.code ?? r.signal}`;
  throw new Error(`${what} ${why}:\n${r.stderr.slice(-3000)}`);
}

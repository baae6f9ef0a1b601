/**
 * A real single-node Slurm cluster for one test: munged, slurmctld and slurmd (Debian's packages) started
 * from the test as root, with private ports, a private munge socket and key, and state, spool and logs in a
 * temporary folder; stopped by pid. Needs no systemd and no cgroups (proctrack/linuxproc, task/none).
 * Measured on the CI machines: the daemons are up in about a second.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SlurmCluster {
  dir: string;
  /** Environment for Slurm's clients (SLURM_CONF) and the jobs they submit. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client (sbatch, squeue, scancel, scontrol...) against this cluster; its stdout. */
  client(cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<string>;
  /** Submits a batch script; the job id. */
  sbatch(args: string[], env?: NodeJS.ProcessEnv): Promise<string>;
  /** Each task's state ("RUNNING", "COMPLETED", ...) by array index, from scontrol. */
  taskStates(jobId: string): Promise<Map<number, string>>;
  /** Resolves once no job of this cluster is pending or running. */
  idle(timeoutMs: number): Promise<void>;
  /** The daemons' logs, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

/** A TCP port free on this machine right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function slurmInstalled(): boolean {
  return ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch'].every((f) => existsSync(f));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

export async function startSlurm(): Promise<SlurmCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-slurm-'));
  const node = hostname().split('.')[0]!;
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const socket = path.join(dir, 'munge.sock');
  const key = path.join(dir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  for (const d of ['state', 'spool', 'log']) mkdirSync(path.join(dir, d));
  writeFileSync(path.join(dir, 'plugstack.conf'), '');
  const conf = path.join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=batchlabeltest',
      `SlurmctldHost=${node}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'MpiDefault=none',
      'ReturnToService=2',
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      `PlugStackConfig=${dir}/plugstack.conf`,
      // Finished jobs stay visible to scontrol for the test's checks.
      'MinJobAge=600',
      `NodeName=${node} CPUs=${cpus().length} State=UNKNOWN`,
      `PartitionName=test Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const daemons: { name: string; child: ChildProcess }[] = [];
  const start = (name: string, cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('exit', (code, sig) => {
      if (!stopping) startupError ??= `${name} exited (${code ?? sig}): ${err.trim()}`;
    });
    daemons.push({ name, child });
  };
  let stopping = false;
  let startupError: string | undefined;

  const client = async (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}, cwd?: string) => (await run(cmd, args, { env: { ...env, ...extra }, cwd })).stdout;
  const logs = () =>
    ['slurmctld.log', 'slurmd.log', 'munged.log']
      .map((f) => path.join(dir, 'log', f))
      .filter((f) => existsSync(f))
      .map((f) => `--- ${path.basename(f)}\n${readFileSync(f, 'utf8').split('\n').slice(-40).join('\n')}`)
      .join('\n');
  const stop = async () => {
    stopping = true;
    await client('scancel', ['--user=root']).catch(() => {});
    await waitFor(async () => (await client('squeue', ['-h', '-o', '%i']).catch(() => '')).trim() === '', 15_000, () => '').catch(() => {});
    for (const d of [...daemons].reverse()) await stopDaemon(d.child);
    // A job step outlives slurmd if it was still running: its processes carry this cluster's SLURM_CONF.
    for (const pid of processesOf(conf)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    start('munged', '/usr/sbin/munged', ['--foreground', '--force', `--socket=${socket}`, `--key-file=${key}`, `--pid-file=${dir}/munged.pid`, `--log-file=${dir}/log/munged.log`, `--seed-file=${dir}/munged.seed`]);
    await waitFor(() => existsSync(socket), 10_000, () => startupError ?? 'munged did not create its socket');
    start('slurmctld', '/usr/sbin/slurmctld', ['-D', '-i', '-f', conf]);
    start('slurmd', '/usr/sbin/slurmd', ['-D', '-f', conf]);
    await waitFor(
      async () => {
        if (startupError) return false;
        const out = await client('sinfo', ['-h', '-o', '%T']).catch(() => '');
        return /^idle/m.test(out);
      },
      30_000,
      () => startupError ?? `the node did not come up idle:\n${logs()}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    dir,
    env,
    client,
    sbatch: async (args, extra) => {
      const out = await client('sbatch', ['--parsable', ...args], extra);
      return out.trim().split(';')[0]!;
    },
    taskStates: async (jobId) => {
      const out = await client('scontrol', ['-o', 'show', 'job', jobId]).catch(() => '');
      const states = new Map<number, string>();
      for (const line of out.split('\n')) {
        const task = /ArrayTaskId=(\d+)\b/.exec(line);
        const state = /JobState=(\S+)/.exec(line);
        if (task && state) states.set(Number(task[1]), state[1]!);
      }
      return states;
    },
    idle: (timeoutMs) =>
      waitFor(async () => (await client('squeue', ['-h', '-o', '%i'])).trim() === '', timeoutMs, () => `jobs still queued or running after ${timeoutMs} ms:\n${logs()}`),
    logs,
    stop,
  };
}

/** Pids of the processes started with SLURM_CONF=conf: the daemons' children, jobs included. */
function processesOf(conf: string): number[] {
  const mark = Buffer.from(`\0SLURM_CONF=${conf}\0`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`), Buffer.from([0])]).includes(mark)) pids.push(Number(name));
    } catch {
      // exited, or not ours to read
    }
  }
  return pids;
}

/** Polls `ok` every 100 ms until it is true; throws `message()` after `timeoutMs`. */
export async function waitFor(ok: () => boolean | Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await ok()) return;
    if (Date.now() > end) throw new Error(message());
    await sleep(100);
  }
}

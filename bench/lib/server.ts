/** Starts bench/lib/fast-server.js as a child process and reads its counters and CPU time. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { procCpuMs } from './proc.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ServerStats {
  requests: number;
  texts: number;
  errors: number;
  connections: number;
}

export interface FastServer {
  url: string;
  pid: number;
  /** user + system CPU the server has used so far, ms. */
  cpuMs(): number;
  stats(): Promise<ServerStats>;
  close(): Promise<void>;
}

export function startFastServer(): Promise<FastServer> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(path.join(here, 'fast-server.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('fast server did not start within 10 s'));
    }, 10_000);
    child.on('error', reject);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const pid = child.pid!;
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        pid,
        cpuMs: () => procCpuMs(pid) ?? 0,
        stats: () =>
          new Promise((res) => {
            const on = (msg: ServerStats & { type: string }) => {
              if (msg.type !== 'stats') return;
              child.off('message', on);
              res(msg);
            };
            child.on('message', on);
            child.send({ type: 'stats' });
          }),
        close: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res();
            child.once('exit', () => res());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}

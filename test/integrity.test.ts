/**
 * Data integrity through the CLI as users run it: a full disk or a file-size limit, outputs that would
 * overwrite the input, two runs on one job. Real files, a real tmpfs (as root), servers on loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CLI, collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { startHfServer } from './support/hf-server.js';

function reviews(file: string, n: number, width = 40): void {
  const rows = Array.from({ length: n }, (_, i) => `${i},"review ${i} ${'x'.repeat(width)}"`);
  writeFileSync(file, `id,text\n${rows.join('\n')}\n`);
}

const isRoot = process.getuid?.() === 0;

test('an export that hits the file-size limit is an error: exit 1, one line, no temp file; the rerun writes it', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  reviews(input, 3000, 2000); // ~6 MB of output; the checkpoint and its WAL stay far smaller
  const out = path.join(dir, 'out', 'labeled.csv');
  const checkpoint = path.join(dir, 'job.sqlite');
  const args = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--output', out, '--checkpoint', checkpoint, '--json'];
  const limited = await collect(
    spawn('bash', ['-c', `ulimit -f 3000; exec "${process.execPath}" "${CLI}" "$@"`, 'bash', ...args], { env: { ...process.env, BATCHLABEL_PROGRESS_INTERVAL_MS: '60000' }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  assert.equal(limited.code, 1, limited.stderr);
  assert.match(limited.stderr, /^batchlabel: cannot write .*labeled\.csv: the file is over the size limit/m);
  assert.doesNotMatch(limited.stderr, /at .*\.js:\d+|EFBIG:/, 'no stack trace');
  const summary = JSON.parse(limited.stdout.trim()) as { state: string; error: { code: string }; exitCode: number };
  assert.equal(summary.state, 'failed');
  assert.equal(summary.error.code, 'E_EXPORT');
  assert.equal(existsSync(out), false);
  assert.deepEqual(readdirSync(path.dirname(out)), [], 'the temporary file is removed');
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 3001);
});

test('a checkpoint on a full disk stops the run with one line; after freeing space the resume finishes every row', { skip: !isRoot && 'needs root to mount a tmpfs' }, async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const small = mkdtempSync(path.join(tmpdir(), 'batchlabel-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=400k', 'tmpfs', small]);
  t.after(() => {
    execFileSync('umount', ['-l', small]);
    rmSync(small, { recursive: true, force: true });
  });
  const input = path.join(dir, 'in.csv');
  reviews(input, 20_000, 10);
  const checkpoint = path.join(small, 'job.sqlite');
  const args = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--batch-size', '8'];
  const full = await runCli(args);
  assert.equal(full.code, 1, full.stderr);
  assert.match(full.stderr, /cannot write the checkpoint .*job\.sqlite: the disk is full/);
  assert.doesNotMatch(full.stderr, /SqliteError|internal error/);
  // Room again: move the checkpoint (and its WAL) to a roomy disk, as a user freeing space would.
  const roomy = path.join(dir, 'job.sqlite');
  for (const name of readdirSync(small)) if (name.startsWith('job.sqlite') && !name.endsWith('.lock')) writeFileSync(path.join(dir, name), readFileSync(path.join(small, name)));
  const resumed = await runCli([...args.slice(0, -4), '--checkpoint', roomy, '--batch-size', '8', '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout.trim()) as { rows: { labeled: number; total: number } };
  assert.equal(summary.rows.total, 20_000);
  assert.equal(summary.rows.labeled, 20_000);
});

test('an output that is the input, the checkpoint, a folder or under a file is refused before any work', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  reviews(input, 5);
  const before = readFileSync(input);
  const link = path.join(dir, 'link.csv');
  symlinkSync(input, link);
  const hard = path.join(dir, 'hard.csv');
  linkSync(input, hard);
  const base = ['run', '--input', input, '--endpoint', 'http://127.0.0.1:9/models/m'];
  for (const [output, message] of [
    [input, /--output .* is the input file/],
    [link, /--output .* is the input file/],
    [hard, /--output .* is the input file/],
    [dir, /--output .* is a folder: name a file/],
    [path.join(input, 'out.csv'), /cannot be written: .*in\.csv is a file, not a folder/],
  ] as const) {
    const r = await runCli([...base, '--output', output]);
    assert.equal(r.code, 2, `${output}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const clash = await runCli([...base, '--output', path.join(dir, 'o.csv'), '--checkpoint', path.join(dir, 'o.csv')]);
  assert.equal(clash.code, 2, clash.stderr);
  assert.match(clash.stderr, /is the checkpoint file/);
  const onInput = await runCli([...base, '--checkpoint', input]);
  assert.match(onInput.stderr, /--checkpoint .* is the input file/);
  assert.deepEqual(readFileSync(input), before);
  assert.deepEqual(readdirSync(dir).sort(), ['hard.csv', 'in.csv', 'link.csv']);
});

test('a second run on the same job is refused, naming the first; a dead holder is taken over; status reads meanwhile', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer({ delayMs: 30 });
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  reviews(input, 400);
  const checkpoint = path.join(dir, 'job.sqlite');
  const args = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--concurrency', '2'];
  const first = spawnCli(args);
  const firstDone = collect(first);
  for (const deadline = Date.now() + 20_000; server.requests.length < 5 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  assert.ok(server.requests.length >= 5, 'the first run started');
  const second = await runCli(args);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, new RegExp(`another batchlabel run \\(pid ${first.pid}, started .*\\) is working on .*job\\.sqlite`));
  const restart = await runCli([...args, '--restart']);
  assert.equal(restart.code, 1, 'a --restart is refused too');
  const status = await runCli(['status', checkpoint, '--json']);
  assert.equal(status.code, 3, status.stderr);
  const r = await firstDone;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.requests.length, 400, 'every text sent once');
  assert.equal(existsSync(`${checkpoint}.lock`), false, 'released');

  // A holder that died (kill -9) left its lock: the next run takes it over.
  writeFileSync(`${checkpoint}.lock`, JSON.stringify({ pid: 2 ** 22 + 17, host: (await import('node:os')).hostname(), startedAt: '2026-01-01T00:00:00Z', nonce: 'dead' }));
  const taken = await runCli(args);
  assert.equal(taken.code, 0, taken.stderr);
});

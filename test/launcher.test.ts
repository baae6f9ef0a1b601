/**
 * The batchlabel command, bin/batchlabel: a POSIX sh script that fixes glibc's mmap threshold and execs
 * node on the CLI. Run as npm installs it (node_modules/.bin/batchlabel, a relative link to the package's
 * bin/batchlabel, the package itself a link to the folder, as `npm install <folder>` makes it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliEnv, collect, REPO, tempDir } from './support/cli.js';

const LAUNCHER = path.join(REPO, 'bin/batchlabel');

/** dir/node_modules/.bin/batchlabel → ../batchlabel/bin/batchlabel, dir/node_modules/batchlabel → the repository. */
function npmInstall(dir: string): string {
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, '.bin'), { recursive: true });
  symlinkSync(REPO, path.join(modules, 'batchlabel'));
  const bin = path.join(modules, '.bin', 'batchlabel');
  symlinkSync('../batchlabel/bin/batchlabel', bin);
  return bin;
}

/** A `node` on the PATH that prints what it was started with: the threshold, the launcher's note, its arguments. */
function fakeNode(dir: string): string {
  const fake = path.join(dir, 'fake-node');
  mkdirSync(fake);
  writeFileSync(path.join(fake, 'node'), '#!/bin/sh\nprintf \'%s\\n\' "$MALLOC_MMAP_THRESHOLD_" "$BATCHLABEL_LAUNCHER" "$@"\n');
  chmodSync(path.join(fake, 'node'), 0o755);
  return fake;
}

/** The tests' CLI environment without what would say how the command was started or set the threshold. */
const env = (extra: Record<string, string | undefined>) => cliEnv({ npm_command: undefined, BATCHLABEL_LAUNCHER: undefined, MALLOC_MMAP_THRESHOLD_: undefined, ...extra });

test('the batchlabel command through npm\'s links: node runs the CLI with every argument as given, under a fixed mmap threshold unless one is set', async (t) => {
  const dir = tempDir(t);
  const bin = npmInstall(dir);
  const PATH = `${fakeNode(dir)}${path.delimiter}${process.env.PATH}`;
  const r = await collect(spawn(bin, ['run', 'a file.csv', '--text-column', '', '$HOME'], { env: env({ PATH }) }));
  assert.equal(r.code, 0, r.stderr);
  const [threshold, launcher, cli, ...args] = r.stdout.trimEnd().split('\n');
  assert.equal(threshold, '131072');
  assert.equal(launcher, bin);
  assert.equal(realpathSync(cli!), path.join(REPO, 'dist/src/cli/main.js'));
  assert.deepEqual(args, ['run', 'a file.csv', '--text-column', '', '$HOME']);

  const kept = await collect(spawn(bin, ['--version'], { env: env({ PATH, MALLOC_MMAP_THRESHOLD_: '65536' }) }));
  assert.equal(kept.stdout.split('\n')[0], '65536');
});

test('the real CLI through the command: --version, and hints name `batchlabel` when it is on the PATH, its path when not', async (t) => {
  const dir = tempDir(t);
  const bin = npmInstall(dir);
  const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const v = await collect(spawn(bin, ['--version'], { env: env({}) }));
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), version);

  const job = path.join(dir, 'job.json');
  writeFileSync(job, JSON.stringify({ input: 'reviews.csv', model: 'org/m', checkpoint: 'none.sqlite' }));
  const onPath = await collect(spawn('batchlabel', ['status', job], { env: env({ PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH}` }) }));
  assert.match(onPath.stderr, /Start the job with `batchlabel run` first/);
  const byPath = await collect(spawn(LAUNCHER, ['status', job], { cwd: REPO, env: env({}) }));
  assert.match(byPath.stderr, /Start the job with `bin\/batchlabel run` first/);
});

/**
 * batchlabel used from code: label(), status() and exportJob() in process against a loopback server that
 * answers as Hugging Face does, and the package installed from the repository folder into another
 * project, imported by name, with its types.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BatchlabelError, ErrorCode, ExitCode, exportJob, label, status, UsageError, type RunStats } from '../src/index.js';
import { REPO } from './support/cli.js';
import { optionWording } from '../src/api/wording.js';
import { BOW, sharedModel } from './support/onnx-models.js';
import { expectedScores, startHfServer, type HfServer } from './support/hf-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-library-'));
let server: HfServer;
before(async () => {
  server = await startHfServer({ delayMs: 2 });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function input(name: string, n: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, `id,text\n${Array.from({ length: n }, (_, i) => `${i},review ${i} of the library test`).join('\n')}\n`);
  return file;
}

test('label() runs a job, reports progress and notices, and resolves to the run --json summary', async () => {
  const file = input('a.csv', 300);
  const output = path.join(dir, 'a-out.csv');
  const progress: RunStats[] = [];
  const notices: string[] = [];
  const summary = await label(
    { input: file, model: 'acme/sentiment', endpoint: `${server.url}/models/acme/sentiment`, output, concurrency: 4 },
    { onProgress: (s) => progress.push({ ...s }), progressIntervalMs: 20, onNotice: (m) => notices.push(m) },
  );
  assert.equal(summary.state, 'completed');
  assert.equal(summary.exitCode, ExitCode.ok);
  assert.deepEqual(summary.rows, { total: 300, labeled: 300, failed: 0, skipped: 0, thisRun: 300, reused: 0, truncated: 0 });
  assert.equal(summary.output, output);
  assert.equal(summary.outputRows, 300);
  assert.ok(progress.length >= 1 && progress.at(-1)!.done === 300, `last progress ${JSON.stringify(progress.at(-1))}`);
  const lines = readFileSync(output, 'utf8').trim().split('\n');
  assert.equal(lines.length, 301);
  assert.ok(lines[1]!.startsWith(`0,review 0 of the library test,${expectedScores('review 0 of the library test')[0]!.label},`), lines[1]);

  const again = await label({ input: file, model: 'acme/sentiment', endpoint: `${server.url}/models/acme/sentiment`, output }, { onNotice: (m) => notices.push(m) });
  assert.equal(again.rows.thisRun, 0);
  assert.ok(notices.some((m) => m.startsWith('resuming: 300 rows already finished')), notices.join('\n'));

  const report = await status(summary.checkpoint);
  assert.equal(report.rows.done, 300);
  assert.equal(report.finished, true);
  const jsonl = path.join(dir, 'a-out.jsonl');
  const exported = await exportJob({ checkpoint: summary.checkpoint, output: jsonl });
  assert.equal(exported.rows, 300);
  assert.equal(readFileSync(jsonl, 'utf8').trim().split('\n').length, 300);
});

test('an aborted signal ends the run as Ctrl-C does: interrupted, committed, resumable', async () => {
  const file = input('b.csv', 3000);
  const slow = await startHfServer({ delayMs: 25 });
  try {
    const stop = new AbortController();
    const options = { input: file, endpoint: `${slow.url}/models/x`, concurrency: 2 };
    const first = await label(options, {
      signal: stop.signal,
      onRun: (run) => {
        const t = setInterval(() => {
          if (run.stats.done >= 50) {
            clearInterval(t);
            stop.abort();
          }
        }, 5);
      },
    });
    assert.equal(first.state, 'interrupted');
    assert.equal(first.exitCode, ExitCode.interrupted);
    assert.ok(first.rows.labeled >= 50 && first.rows.labeled < 3000, JSON.stringify(first.rows));
    const second = await label(options);
    assert.equal(second.state, 'completed');
    assert.equal(second.rows.labeled, 3000);
    assert.equal(first.rows.thisRun + second.rows.thisRun, 3000, 'no row done twice');
  } finally {
    await slow.close();
  }
});

test('errors are coded: bad options, a refused token', async () => {
  await assert.rejects(label({}), (err: unknown) => err instanceof UsageError && err.code === ErrorCode.usage && /no input/.test(err.message));
  await assert.rejects(label({ input: 'x.csv', concurrency: 'eight' as unknown as number }), (err: unknown) => err instanceof UsageError && /"concurrency" must be a number/.test(err.message));
  const locked = await startHfServer({ token: 'hf_right' });
  try {
    process.env.BATCHLABEL_TEST_TOKEN = 'hf_wrong';
    await assert.rejects(
      label({ input: input('c.csv', 5), endpoint: `${locked.url}/models/x`, tokenEnv: 'BATCHLABEL_TEST_TOKEN' }),
      (err: unknown) => err instanceof BatchlabelError && err.code === ErrorCode.auth && err.checkpoint?.finishedRows === 0 && !err.message.includes('hf_wrong'),
    );
  } finally {
    delete process.env.BATCHLABEL_TEST_TOKEN;
    await locked.close();
  }
});

test('errors and notices name options as label() takes them, not as command-line flags', async () => {
  const file = input('d.csv', 5);
  const endpoint = `${server.url}/models/x`;
  await assert.rejects(label({ input: file, endpoint, textColumn: 'body' }), (err: unknown) => {
    assert.ok(err instanceof BatchlabelError && err.code === ErrorCode.input, String(err));
    assert.match(err.message, /no column "body" .* Pass the right one with `textColumn`\./);
    assert.doesNotMatch(err.message, /--text-column/);
    return true;
  });
  await assert.rejects(label({ input: file, endpoint, task: 'zero-shot-classification' }), /needs `candidateLabels`, e\.g\. `candidateLabels` "shipping,fit,price,quality"/);
  await label({ input: file, endpoint });
  const notices: string[] = [];
  await label({ input: file, endpoint, restart: true }, { onNotice: (m) => notices.push(m) });
  assert.ok(notices.some((m) => m.startsWith('`restart`: discarding 5 finished rows')), notices.join('\n'));
  assert.ok(!notices.some((m) => /--[a-z]/.test(m.replace(/`[^`]*`/g, ''))), notices.join('\n'));
});

test('a folder as input is refused, and a local model folder runs on the local backend, as on the command line', async () => {
  await assert.rejects(label({ input: dir, model: 'x' }), (err: unknown) => err instanceof UsageError && /is a folder: `input` takes one CSV, TSV, JSONL or Parquet file \(e\.g\. `input` .*\.csv; \d+ such files there\)/.test(err.message));
  const model = sharedModel(BOW);
  const file = input('e.csv', 4);
  await assert.rejects(label({ input: file, model, backend: 'hf' }), (err: unknown) => err instanceof UsageError && /is a local folder, but `backend` hf takes a Hub model id/.test(err.message));
  const notices: string[] = [];
  const summary = await label({ input: file, model }, { onNotice: (m) => notices.push(m) });
  assert.equal(summary.rows.labeled, 4);
  assert.ok(notices.includes(`\`model\` ${model} is a local folder: running it with the local backend (\`backend\` onnx).`), notices.join('\n'));
});

test('optionWording: flags of settings become options; commands in backticks and other dashes stay', () => {
  assert.equal(optionWording('pick one with --onnx-file, or --no-cache; --restart'), 'pick one with `onnxFile`, or `cache: false`; `restart`');
  assert.equal(optionWording('label it with `batchlabel run --restart` (see --help)'), 'label it with `batchlabel run --restart` (see --help)');
  assert.equal(optionWording('--shards must be 2 -- not --frobnicate'), '`shards` must be 2 -- not --frobnicate');
});

test('the package installs from the repository folder and is imported by name, with types', () => {
  const project = path.join(dir, 'consumer');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  // --ignore-scripts: npm runs a linked folder's `prepare` (our build) otherwise, rewriting dist/ under the
  // tests running beside this one.
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts', REPO], { cwd: project, stdio: 'pipe', env: { ...process.env, npm_config_loglevel: 'error' } });
  writeFileSync(
    path.join(project, 'use.ts'),
    `import { label, status, exportJob, ErrorCode, type LabelOptions, type RunSummary } from 'batchlabel';
const options: LabelOptions = { input: 'reviews.csv', model: 'org/model', concurrency: 4 };
const run: (o: LabelOptions) => Promise<RunSummary> = label;
export const used = [run, status, exportJob, ErrorCode.auth, options] as const;
`,
  );
  writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['use.ts'] }));
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, stdio: 'pipe' });
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import * as b from 'batchlabel'; console.log(Object.keys(b).sort().join(','))"], { cwd: project, encoding: 'utf8' });
  for (const name of ['label', 'status', 'exportJob', 'ErrorCode', 'BatchlabelError']) assert.ok(out.split(',').map((s) => s.trim()).includes(name), out);
});

test('label({ shard: { index, count } }) labels one shard into its own checkpoint, like --shard I/N', async () => {
  const file = input('shard.csv', 600);
  const summary = await label({ input: file, endpoint: `${server.url}/models/acme/sentiment`, shard: { index: 0, count: 2 } });
  assert.deepEqual(summary.shard, { index: 0, count: 2 });
  // Blocks of 256 rows alternate between the shards: rows 0-255 and 512-599 are shard 0's.
  assert.equal(summary.rows.labeled, 256 + 88);
  assert.match(summary.checkpoint, /\.shard-0-of-2\.batchlabel\.sqlite$/);
  assert.equal(summary.output, undefined, 'a shard never writes the export');
});

/**
 * Hub datasets as input, against a loopback server that answers like the Hub: hf:// globs of shards read
 * as one input, a split of the Parquet conversion, the HF cache layout, tokens that never follow a redirect
 * to another host, gated datasets, a download cut half way, and offline runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { startHfServer, expectedScores } from './support/hf-server.js';
import { runCli, tempDir } from './support/cli.js';
import { reviewColumns, writeReviewsParquet, type ReviewColumns } from './support/parquet-data.js';
import { revision, startDatasetHub, type DatasetHub, type DatasetRepo } from './support/hub-datasets-server.js';
import { globRegExp, parseDatasetUri } from '../src/hub/datasets.js';

const TOKEN = 'hf_DatasetSecretToken0987654321';
type T = Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void };

function slice(cols: ReviewColumns, from: number, to: number): ReviewColumns {
  return Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, (v as unknown[]).slice(from, to)])) as unknown as ReviewColumns;
}

/** Two shards of 400 and 300 reviews, as Parquet bytes. */
function shards(dir: string): { cols: ReviewColumns; bytes: Buffer[] } {
  const cols = reviewColumns(700);
  const bytes = [slice(cols, 0, 400), slice(cols, 400, 700)].map((c, i) => {
    const f = path.join(dir, `shard${i}.parquet`);
    writeReviewsParquet(f, c, 150);
    return readFileSync(f);
  });
  return { cols, bytes };
}

async function fixture(t: T, repo: Partial<DatasetRepo> = {}, options: Parameters<typeof startDatasetHub>[1] = {}) {
  const dir = tempDir(t);
  const { cols, bytes } = shards(dir);
  const repos = new Map<string, DatasetRepo>([
    ['acme/reviews', {
      revisions: new Map([
        ['main', revision('main', { 'README.md': Buffer.from('# reviews\n'), 'data/train-00000-of-00002.parquet': bytes[0]!, 'data/train-00001-of-00002.parquet': bytes[1]!, 'data/notes.txt': Buffer.from('x') })],
        ['refs/convert/parquet', revision('parquet', { 'default/test/0000.parquet': bytes[0]!, 'default/test/0001.parquet': bytes[1]!, 'default/train/0000.parquet': bytes[1]! })],
      ]),
      ...repo,
    }],
  ]);
  const hub = await startDatasetHub(repos, { token: TOKEN, cdn: true, pageSize: 2, ...options });
  t.after(() => hub.close());
  const hf = await startHfServer({});
  t.after(() => hf.close());
  const cache = path.join(dir, 'hf-cache');
  const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache, HF_INFERENCE_ENDPOINT: hf.url, HF_TOKEN: TOKEN };
  return { dir, cols, hub, cache, env };
}

async function labels(file: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
}

function assertLabeled(rows: Record<string, unknown>[], cols: ReviewColumns): void {
  assert.equal(rows.length, cols.id.length);
  rows.forEach((r, i) => {
    assert.equal(r.id, cols.id[i]);
    const want = expectedScores(cols.review[i]!.body!).reduce((a, b) => (b.score > a.score ? b : a));
    assert.equal(r.predicted_label, want.label);
  });
}

function tokenOnlyOnHub(hub: DatasetHub): void {
  assert.ok(hub.requests.some((r) => r.authorization === `Bearer ${TOKEN}`), 'the Hub got the token');
  assert.ok(hub.cdnRequests.length > 0, 'bytes came from the second host');
  assert.ok(hub.cdnRequests.every((r) => r.authorization === undefined), 'the token never reached the second host');
}

test('hf:// addresses parse as huggingface_hub writes them; globs match as fsspec does', () => {
  assert.deepEqual(parseDatasetUri('hf://datasets/acme/reviews@v1.0/data/*.parquet'), { repoId: 'acme/reviews', revision: 'v1.0', path: 'data/*.parquet' });
  assert.deepEqual(parseDatasetUri('hf://datasets/acme/reviews@refs%2Fconvert%2Fparquet/default/test/0000.parquet').revision, 'refs/convert/parquet');
  assert.deepEqual(parseDatasetUri('hf://datasets/acme/reviews@refs/convert/parquet/default').path, 'default');
  assert.deepEqual(parseDatasetUri('hf://datasets/acme/reviews'), { repoId: 'acme/reviews', revision: undefined, path: '' });
  assert.throws(() => parseDatasetUri('hf://models/acme/x'), /not a Hub dataset address/);
  assert.throws(() => parseDatasetUri('hf://datasets/acme/reviews/../x'), /must not contain/);
  assert.ok(globRegExp('data/*.parquet').test('data/train-0.parquet'));
  assert.ok(!globRegExp('data/*.parquet').test('data/sub/train-0.parquet'));
  assert.ok(globRegExp('**/*.parquet').test('a/b/c.parquet'));
  assert.ok(globRegExp('**/*.parquet').test('c.parquet'));
  assert.ok(globRegExp('data/train-0000[0-1]-*.parquet').test('data/train-00001-of-00002.parquet'));
});

test('a glob of shards is one input, read through the HF cache; the token stays on the Hub; offline reruns need no network', async (t) => {
  const f = await fixture(t);
  const out = path.join(f.dir, 'out.parquet');
  const uri = 'hf://datasets/acme/reviews/data/*.parquet';
  const r = await runCli(['run', '--input', uri, '--text-column', 'review.body', '--model', 'm', '--output', out, '--batch-size', '8'], f.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /downloaded acme\/reviews\/data\/train-00000-of-00002\.parquet/);
  assert.match(r.stderr, /done: 700 rows labeled/);
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(TOKEN));
  assertLabeled(await labels(out), f.cols);
  tokenOnlyOnHub(f.hub);
  assert.ok(f.hub.requests.some((q) => q.url.includes('cursor=')), 'the listing was paged');

  // huggingface_hub's layout: refs/main, snapshots/<commit>/<path> → ../../blobs/<sha256>.
  const repoDir = path.join(f.cache, 'datasets--acme--reviews');
  const commit = readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8');
  assert.equal(commit, f.hub.repos.get('acme/reviews')!.revisions.get('main')!.commit);
  const link = readlinkSync(path.join(repoDir, 'snapshots', commit, 'data', 'train-00001-of-00002.parquet'));
  assert.match(link, /^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);

  f.hub.requests.length = 0;
  f.hub.cdnRequests.length = 0;
  const offline = await runCli(['run', '--input', uri, '--text-column', 'review.body', '--model', 'm', '--output', path.join(f.dir, 'again.parquet')], { ...f.env, HF_HUB_OFFLINE: '1' });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(f.hub.requests.length + f.hub.cdnRequests.length, 0, 'offline: no request at all');
  assertLabeled(await labels(path.join(f.dir, 'again.parquet')), f.cols);
});

test('--split reads the Parquet conversion (refs/convert/parquet), its shards in order', async (t) => {
  const f = await fixture(t);
  const out = path.join(f.dir, 'test.parquet');
  const r = await runCli(['run', '--input', 'hf://datasets/acme/reviews', '--split', 'test', '--text-column', 'review.body', '--model', 'm', '--output', out], f.env);
  assert.equal(r.code, 0, r.stderr);
  assertLabeled(await labels(out), f.cols);
  assert.ok(f.hub.requests.some((q) => q.url === '/api/datasets/acme/reviews/parquet'));
  assert.ok(existsSync(path.join(f.cache, 'datasets--acme--reviews', 'refs', 'refs', 'convert', 'parquet')));

  const missing = await runCli(['run', '--input', 'hf://datasets/acme/reviews', '--split', 'validation', '--model', 'm', '--checkpoint', path.join(f.dir, 'v.sqlite')], f.env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /dataset acme\/reviews has no split "validation" in config "default"/);
});

test('a gated dataset without a token: one line saying what to do; with the token it is read', async (t) => {
  const f = await fixture(t, { gated: true });
  const args = ['run', '--input', 'hf://datasets/acme/reviews/data/train-00000-of-00002.parquet', '--text-column', 'review.body', '--model', 'm'];
  const r = await runCli([...args, '--checkpoint', path.join(f.dir, 'a.sqlite')], { ...f.env, HF_TOKEN: undefined });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /dataset acme\/reviews is gated or private: accept its terms on http:\/\/127\.0\.0\.1:\d+\/datasets\/acme\/reviews and set HF_TOKEN/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(f.hub.requests.some((q) => q.authorization === undefined));
  const ok = await runCli([...args, '--checkpoint', path.join(f.dir, 'b.sqlite'), '--output', path.join(f.dir, 'b.parquet')], f.env);
  assert.equal(ok.code, 0, ok.stderr);
  assertLabeled(await labels(path.join(f.dir, 'b.parquet')), slice(f.cols, 0, 400));
});

test('a download cut half way is retried; no partial file is ever used or left behind', async (t) => {
  const f = await fixture(t, {}, { dropDownloads: new Map([['data/train-00001-of-00002.parquet', 1]]) });
  const out = path.join(f.dir, 'out.parquet');
  const r = await runCli(['run', '--input', 'hf://datasets/acme/reviews/data/*.parquet', '--text-column', 'review.body', '--model', 'm', '--output', out], f.env);
  assert.equal(r.code, 0, r.stderr);
  assertLabeled(await labels(out), f.cols);
  const gets = f.hub.cdnRequests.filter((q) => q.method === 'GET' && q.url.includes('train-00001'));
  assert.equal(gets.length, 2, 'the cut download was asked for again');
  const blobs = readdirSync(path.join(f.cache, 'datasets--acme--reviews', 'blobs'));
  assert.equal(blobs.length, 2);
  assert.ok(blobs.every((b) => /^[0-9a-f]{64}$/.test(b)), `only complete blobs: ${blobs.join(', ')}`);
});

test('--push-to-hub: a file over the storage\'s single-upload limit goes up in parts, the token never with them', async (t) => {
  const chunk = 4_000;
  const f = await fixture(t, {}, { multipartChunk: chunk });
  const out = path.join(f.dir, 'scored.parquet');
  const r = await runCli(['run', '--input', 'hf://datasets/acme/reviews/data/*.parquet', '--text-column', 'review.body', '--model', 'org/sentiment', '--output', out, '--push-to-hub', 'me/big'], f.env, f.dir);
  assert.equal(r.code, 0, r.stderr);
  const size = statSync(out).size;
  const parts = f.hub.cdnRequests.filter((q) => q.method === 'PUT');
  assert.ok(size > 3 * chunk, `an export of ${size} bytes makes several parts`);
  assert.deepEqual(parts.map((q) => q.url.replace(/\?.*$/, '').split('/').pop()), Array.from({ length: Math.ceil(size / chunk) }, (_, i) => String(i + 1)));
  assert.ok(parts.every((q) => q.authorization === undefined), 'the token never went to the storage host');
  const files = f.hub.repos.get('me/big')!.revisions.get('main')!.files;
  assert.ok(files.get('data/scored.parquet')!.equals(readFileSync(out)), 'the parts put together are the export, byte for byte');
});

test('offline with nothing cached: one line naming the cache and how to fill it', async (t) => {
  const f = await fixture(t);
  const r = await runCli(['run', '--input', 'hf://datasets/acme/reviews/data/*.parquet', '--model', 'm', '--checkpoint', path.join(f.dir, 'c.sqlite')], { ...f.env, HF_HUB_OFFLINE: '1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /dataset acme\/reviews \(revision "main"\) is not in the Hugging Face cache \(looked in .*datasets--acme--reviews\), and HF_HUB_OFFLINE=1 forbids downloading it/);
  assert.equal(f.hub.requests.length, 0);
});

test('--push-to-hub: the Parquet export and a dataset card in one commit; LFS bytes to the storage host without the token', async (t) => {
  const f = await fixture(t);
  const out = path.join(f.dir, 'scored.parquet');
  const args = ['run', '--input', 'hf://datasets/acme/reviews/data/*.parquet', '--text-column', 'review.body', '--model', 'org/sentiment', '--output', out, '--push-to-hub', 'me/reviews-scored', '--private'];
  const r = await runCli(args, f.env, f.dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /pushed to http:\/\/127\.0\.0\.1:\d+\/datasets\/me\/reviews-scored\/commit\/[0-9a-f]{40}/);
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(TOKEN));
  assert.deepEqual(f.hub.created, [{ name: 'me/reviews-scored', private: true, type: 'dataset' }]);
  assert.equal(f.hub.commits.length, 1);
  assert.deepEqual(f.hub.commits[0]!.files, [{ path: 'README.md', kind: 'file' }, { path: 'data/scored.parquet', kind: 'lfsFile' }]);
  const files = f.hub.repos.get('me/reviews-scored')!.revisions.get('main')!.files;
  assert.ok(files.get('data/scored.parquet')!.equals(readFileSync(out)), 'the pushed file is the export, byte for byte');
  const card = files.get('README.md')!.toString();
  assert.match(card, /^---\ntask_categories:\n- text-classification\n[\s\S]*configs:\n- config_name: default\n  data_files:\n  - split: train\n    path: "data\/scored\.parquet"\n---\n/);
  assert.match(card, /- Model: `org\/sentiment`/);
  assert.match(card, /- Labels: `NEGATIVE`, `POSITIVE`/);
  assert.match(card, /- Rows: 700 \(700 labeled, 0 failed\)/);
  assert.match(card, /- Date: \d{4}-\d\d-\d\dT/);
  assert.match(card, /batchlabel run --input 'hf:\/\/datasets\/acme\/reviews\/data\/\*\.parquet' .*--push-to-hub me\/reviews-scored --private/);
  assert.doesNotMatch(card, new RegExp(TOKEN));
  const puts = f.hub.cdnRequests.filter((q) => q.method === 'PUT');
  assert.equal(puts.length, 1);
  assert.equal(puts[0]!.authorization, undefined, 'the token never went to the storage host');

  // `export --push-to-hub` to a repo that exists already: a second commit, no error.
  const again = await runCli(['export', path.join(f.dir, 'scored.batchlabel.sqlite'), '--output', path.join(f.dir, 'scored.csv'), '--push-to-hub', 'me/reviews-scored'], f.env, f.dir);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(f.hub.commits.length, 2);
  assert.deepEqual(f.hub.commits[1]!.files.map((x) => x.path), ['README.md', 'data/scored.csv']);

  const noToken = await runCli([...args.slice(0, -3), '--push-to-hub', 'me/other'], { ...f.env, HF_TOKEN: undefined }, f.dir);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /--push-to-hub needs a token with write access: set HF_TOKEN/);
});

test('from code and from a job file: a Hub split labeled and its export pushed back, as on the command line', async (t) => {
  const f = await fixture(t);
  // label() reads the Hub's and the inference endpoint's addresses, the cache and the token from the environment, as the CLI does.
  const saved = Object.fromEntries(Object.keys(f.env).map((k) => [k, process.env[k]]));
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  Object.assign(process.env, f.env);
  const { label } = await import('../src/index.js');
  const out = path.join(f.dir, 'from-code.parquet');
  const summary = await label({ input: 'hf://datasets/acme/reviews', split: 'test', textColumn: 'review.body', model: 'org/sentiment', output: out, pushToHub: 'me/from-code' });
  assert.equal(summary.state, 'completed');
  assert.equal(summary.rows.labeled, 700);
  assert.match(summary.pushed ?? '', /\/datasets\/me\/from-code\/commit\/[0-9a-f]{40}$/);
  assertLabeled(await labels(out), f.cols);
  const pushed = f.hub.repos.get('me/from-code')!.revisions.get('main')!.files;
  assert.ok(pushed.get('data/from-code.parquet')!.equals(readFileSync(out)), 'the pushed file is the export, byte for byte');
  assert.match(pushed.get('README.md')!.toString(), /label\(\) from code/);

  const job = path.join(f.dir, 'hub-job.yaml');
  writeFileSync(job, 'input: hf://datasets/acme/reviews\nsplit: test\ntextColumn: review.body\nmodel: org/sentiment\noutput: from-job.parquet\npushToHub: me/from-job\n');
  const r = await runCli(['run', job], f.env, f.dir);
  assert.equal(r.code, 0, r.stderr);
  const fromJob = path.join(f.dir, 'from-job.parquet');
  assertLabeled(await labels(fromJob), f.cols);
  assert.ok(f.hub.repos.get('me/from-job')!.revisions.get('main')!.files.get('data/from-job.parquet')!.equals(readFileSync(fromJob)));
  assert.doesNotMatch(r.stderr + r.stdout, new RegExp(TOKEN));
});

test('job files: an hf:// input stays an address (not a path), split and config are settings', async (t) => {
  const dir = tempDir(t);
  const job = path.join(dir, 'job.yaml');
  writeFileSync(job, 'input: hf://datasets/acme/reviews\nsplit: test\nconfig: default\nmodel: m\npushToHub: me/scored\nprivate: true\n');
  const { loadJobFile, resolveSettings } = await import('../src/job/resolve.js');
  const s = resolveSettings(loadJobFile(job));
  assert.equal(s.input, 'hf://datasets/acme/reviews');
  assert.deepEqual([s.split, s.config, s.format, s.pushToHub, s.private], ['test', 'default', 'parquet', 'me/scored', true]);
  assert.equal(path.basename(s.output!), 'scored.parquet');
  assert.equal(s.outputFormat, 'parquet');
  assert.throws(() => resolveSettings({ input: 'x.csv', split: 'test', model: 'm' }), /--split and --config pick a split of a Hub dataset/);
});

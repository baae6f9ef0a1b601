/**
 * Mistakes a new user makes, and the command line as Unix users expect it: each answered by one line
 * that says what is wrong and how to fix it (never a stack trace), through the CLI as a child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { startHfServer } from './support/hf-server.js';
import { CLI, REPO, collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { spawn } from 'node:child_process';

const MODEL = path.resolve(REPO, '../shared/models/selftrained-bow-bigram-sst2-imdb');
const CSV_IN = path.join(REPO, 'data/reviews.csv');

function oneLine(stderr: string): void {
  assert.doesNotMatch(stderr, /internal error|\n\s+at /, stderr);
}

function inputCopy(dir: string): string {
  const input = path.join(dir, 'reviews.csv');
  copyFileSync(CSV_IN, input);
  return input;
}

test('--output - writes the export to stdout (CSV by default for CSV input, JSONL by --output-format), the summary on stderr, the checkpoint beside the input', async (t) => {
  const dir = tempDir(t);
  const input = inputCopy(dir);
  const r = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', '-', '--limit', '5'], {}, dir);
  assert.equal(r.code, 0, r.stderr);
  const rows = parse(r.stdout) as string[][];
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[0]!.slice(-4), ['predicted_label', 'predicted_score', 'truncated', 'error']);
  assert.ok(rows.slice(1).every((row) => row.at(-4) === 'POSITIVE' || row.at(-4) === 'NEGATIVE'));
  assert.match(r.stderr, /wrote 5 rows to standard output\./);
  assert.deepEqual(readdirSync(dir).sort(), ['reviews.csv', 'reviews.csv.batchlabel.sqlite'], 'no file named "-", the checkpoint next to the input');

  const j = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', '-', '--output-format', 'jsonl', '--limit', '5', '--checkpoint', path.join(dir, 'j.sqlite')], {}, dir);
  assert.equal(j.code, 0, j.stderr);
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 5);
  assert.ok(lines.every((l) => typeof l.predicted_label === 'string' && typeof l.text === 'string'));

  const e = await runCli(['export', path.join(dir, 'reviews.csv.batchlabel.sqlite'), '--output', '-', '--partial'], {}, dir);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.stdout, r.stdout, 'the export of the job: the same bytes the run wrote');

  const both = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', '-', '--json'], {}, dir);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--output - and --json both write to standard output/);
});

test('an output that is a folder (./ or an existing one) is refused before any work', async (t) => {
  const dir = tempDir(t);
  const input = inputCopy(dir);
  for (const output of ['./', dir]) {
    const r = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', output], {}, dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^batchlabel: --output .* is a folder: name a file/);
    oneLine(r.stderr);
  }
  assert.deepEqual(readdirSync(dir), ['reviews.csv'], 'no checkpoint left anywhere');
});

test('a folder as --input, with or without --format, is named as a folder with a file in it to pass', async (t) => {
  const dir = tempDir(t);
  inputCopy(dir);
  for (const extra of [[], ['--format', 'csv']]) {
    const r = await runCli(['run', '--input', dir, '--model', 'org/m', ...extra]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `batchlabel: ${dir} is a folder: --input takes one CSV, TSV, JSONL or Parquet file (e.g. --input ${path.join(dir, 'reviews.csv')}).\n`);
  }
});

test('a CSV given as the job file is pointed to --input', async () => {
  const r = await runCli(['run', 'data/reviews.csv']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'batchlabel: data/reviews.csv looks like a data file: pass it with --input data/reviews.csv (the argument after `run` is a job file, JSON or YAML).\n');
});

test('misspelled flags get a suggestion, a long flag with one dash is named, non-numbers are echoed as typed, a repeated flag is named', async () => {
  const cases: [string[], RegExp][] = [
    [['--text-colum', 'body'], /^batchlabel: Unknown argument --text-colum \(did you mean --text-column\?\)\.\n/],
    [['--inptu', 'x.csv'], /^batchlabel: Unknown argument --inptu \(did you mean --input\?\)\.\n/],
    [['-input', 'data/reviews.csv'], /^batchlabel: -input has one dash: long options take two, --input\.\n/],
    [['--concurrency', 'abc'], /^batchlabel: --concurrency must be a number, got "abc"\.\n/],
    [['--concurrency'], /^batchlabel: --concurrency needs a number after it, e\.g\. --concurrency 4\.\n/],
    [['--batch-size', '1', '--batch-size', '32'], /^batchlabel: --batch-size is given twice \("1" and "32"\): give it once\.\n/],
  ];
  for (const [args, expected] of cases) {
    const r = await runCli(['run', '--input', CSV_IN, '--model', 'org/m', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /NaN|\[1,32\]/);
  }
});

test('an unclosed quote is reported at the line where its row starts, with advice that works (not --relax-quotes)', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'q.csv');
  writeFileSync(input, 'id,text\n1,"fine, ""quoted"""\n2,"never closed\n3,good\n4,bad\n');
  for (const extra of [[], ['--relax-quotes']]) {
    const r = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', path.join(dir, 'o.csv'), '--restart', ...extra]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /q\.csv line 3: cannot parse CSV: a quoted field that starts in the row at line 3 is never closed .* Close the quote there, or double it \(""\) if it is part of the text\./);
    assert.doesNotMatch(r.stderr, /pass --relax-quotes|line 6/);
  }
  // The advice works: the row fixed, the file parses.
  writeFileSync(input, 'id,text\n1,"fine, ""quoted"""\n2,"never closed"\n3,good\n4,bad\n');
  const fixed = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--output', path.join(dir, 'o.csv'), '--restart']);
  assert.equal(fixed.code, 0, fixed.stderr);
});

test('a local model folder without --backend runs on the local backend (said in one line); with --backend hf it is refused', async (t) => {
  const dir = tempDir(t);
  const input = inputCopy(dir);
  const r = await runCli(['run', '--input', input, '--model', MODEL, '--limit', '3', '--output', path.join(dir, 'o.csv')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`--model ${MODEL} is a local folder: running it with the local backend \\(--backend onnx\\)\\.`));
  assert.equal((parse(readFileSync(path.join(dir, 'o.csv'))) as string[][]).length, 4);
  const hf = await runCli(['run', '--input', input, '--model', MODEL, '--backend', 'hf', '--output', path.join(dir, 'p.csv')]);
  assert.equal(hf.code, 2);
  assert.match(hf.stderr, /is a local folder, but --backend hf takes a Hub model id \(or --endpoint URL\): pass --backend onnx/);
});

test('status piped into a reader that closed (| head) exits quietly', async (t) => {
  const dir = tempDir(t);
  const input = inputCopy(dir);
  assert.equal((await runCli(['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--limit', '3'])).code, 0);
  for (const args of [['status', `${input}.batchlabel.sqlite`], ['export', `${input}.batchlabel.sqlite`, '--output', '-', '--partial']]) {
    const child = spawnCli(args);
    child.stdout!.destroy(); // the reader is gone before the first line is written
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.doesNotMatch(stderr, /EPIPE|error|\n\s+at /, `${args[0]}: ${stderr}`);
    assert.notEqual(code, 1, args[0]);
  }
});

test('the output folder removed mid-run: one line, no stack trace, the checkpoint kept', async (t) => {
  const s = await startHfServer({ delayMs: 150 });
  t.after(() => s.close());
  const dir = tempDir(t);
  const input = inputCopy(dir);
  const outDir = path.join(dir, 'out');
  mkdirSync(outDir);
  const checkpoint = path.join(dir, 'job.sqlite');
  const child = spawnCli(['run', '--input', input, '--model', 'org/m', '--output', path.join(outDir, 'labeled.csv'), '--checkpoint', checkpoint, '--concurrency', '1', '--limit', '40'], { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: 'hf_x' });
  const done = collect(child);
  while (s.requests.length < 3) await new Promise((r) => setTimeout(r, 20));
  rmSync(outDir, { recursive: true, force: true });
  const r = await done;
  assert.equal(r.code, 1, r.stderr);
  oneLine(r.stderr);
  assert.match(r.stderr, /batchlabel: cannot write .*labeled\.csv: its folder no longer exists\./);
  assert.ok(existsSync(checkpoint));
  assert.match(r.stderr, /finished rows are safe in .*job\.sqlite/);

  // The default checkpoint lives in the output's folder: removed with it, it is not called safe.
  mkdirSync(outDir);
  const again = spawnCli(['run', '--input', input, '--model', 'org/m', '--output', path.join(outDir, 'labeled.csv'), '--concurrency', '1', '--limit', '40'], { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: 'hf_x' });
  const sent = s.requests.length;
  const ended = collect(again);
  while (s.requests.length < sent + 3) await new Promise((r) => setTimeout(r, 20));
  rmSync(outDir, { recursive: true, force: true });
  const r2 = await ended;
  assert.equal(r2.code, 1, r2.stderr);
  oneLine(r2.stderr);
  assert.match(r2.stderr, /its folder no longer exists\..*\(the checkpoint .*labeled\.batchlabel\.sqlite is gone too, with the rows it held: the same command starts over\.\)/);
  assert.doesNotMatch(r2.stderr, /are safe in/);
});

test('hints print the command the way it was invoked: node <script>, an installed `batchlabel`, npx', async (t) => {
  const dir = tempDir(t);
  const input = inputCopy(dir);
  const args = ['run', '--input', input, '--backend', 'onnx', '--model', MODEL, '--limit', '2'];
  const byPath = await runCli(args);
  assert.match(byPath.stderr, /export with `node dist\/src\/cli\/main\.js export /);
  const npx = await runCli([...args, '--restart'], { npm_command: 'exec' });
  assert.match(npx.stderr, /export with `npx batchlabel export /);
  // An installed command is a link named batchlabel (npm install -g, npm link).
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(CLI, path.join(bin, 'batchlabel'));
  const installed = await collect(spawn(process.execPath, [path.join(bin, 'batchlabel'), ...args, '--restart'], { cwd: REPO, env: { ...process.env, npm_command: undefined } }));
  assert.match(installed.stderr, /export with `batchlabel export /);
  // A library message's hint too.
  const job = path.join(dir, 'job.json');
  writeFileSync(job, JSON.stringify({ input: 'reviews.csv', model: 'org/m', checkpoint: 'none.sqlite' }));
  const status = await runCli(['status', job], { npm_command: 'exec' });
  assert.match(status.stderr, /no checkpoint there\. Start the job with `npx batchlabel run` first/);
});

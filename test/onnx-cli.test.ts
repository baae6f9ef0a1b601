import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { REPO, collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { BOW, modelFiles, readImdb, sharedModel } from './support/onnx-models.js';

const CSV_IN = path.join(REPO, 'data/reviews.csv');

test('the local backend labels the sample data end to end from the CLI, and a rerun sends nothing again', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'local.csv');
  const args = ['run', '--backend', 'onnx', '--model', sharedModel(BOW), '--input', CSV_IN, '--output', out];
  const r = await runCli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /done: 300 rows labeled, 0 failed/);
  const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 300);
  assert.ok(rows.every((row) => ['NEGATIVE', 'POSITIVE'].includes(row.predicted_label!) && Number(row.predicted_score) >= 0.5));
  // A trained model (a small one): on reviews whose wording is clearly good or bad it is mostly right.
  const good = ['works perfectly', 'great value', 'exceeded my expectations', 'sturdy and well made', 'best purchase'];
  const bad = ['broke after', 'waste of money', 'stopped working', 'cheap and flimsy', 'never arrived'];
  let right = 0;
  let clear = 0;
  for (const row of rows) {
    const g = good.some((w) => row.text!.includes(w));
    if (g === bad.some((w) => row.text!.includes(w))) continue;
    clear++;
    if (row.predicted_label === (g ? 'POSITIVE' : 'NEGATIVE')) right++;
  }
  assert.ok(clear > 150 && right / clear > 0.7, `${right} of ${clear} clear reviews right`);
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /this run: 0 rows/);
});

test('resuming with a model folder whose chosen ONNX file changed is refused, naming the change', async (t) => {
  const dir = tempDir(t);
  // A model folder that has only the fp32 file, as a first export might.
  const folder = path.join(dir, 'model');
  mkdirSync(path.join(folder, 'onnx'), { recursive: true });
  for (const f of modelFiles(sharedModel(BOW))) symlinkSync(path.join(sharedModel(BOW), f), path.join(folder, f));
  const args = ['run', '--backend', 'onnx', '--model', folder, '--input', CSV_IN, '--output', path.join(dir, 'o.csv')];
  const first = await runCli([...args, '--limit', '50']);
  assert.equal(first.code, 0, first.stderr);
  // The folder gains a quantized file, which the CPU default prefers: the answers would come from another file.
  symlinkSync(path.join(sharedModel(BOW), 'onnx/model.onnx'), path.join(folder, 'onnx/model_quantized.onnx'));
  const second = await runCli(args);
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /was labeled by another model: onnxFile onnx\/model\.onnx → onnx\/model_quantized\.onnx.*--onnx-file/);
  const pinned = await runCli([...args, '--restart']);
  assert.equal(pinned.code, 0, pinned.stderr);
});

test('a tokenizer.json the tokenizer library rejects stops the run in one line naming the file', async (t) => {
  const dir = tempDir(t);
  const folder = path.join(dir, 'model');
  mkdirSync(path.join(folder, 'onnx'), { recursive: true });
  for (const f of modelFiles(sharedModel(BOW))) {
    if (f !== 'tokenizer.json') symlinkSync(path.join(sharedModel(BOW), f), path.join(folder, f));
  }
  writeFileSync(path.join(folder, 'tokenizer.json'), '{"model": {"type": "NoSuchModel"}}');
  const r = await runCli(['run', '--backend', 'onnx', '--model', folder, '--input', CSV_IN, '--output', path.join(dir, 'o.csv')]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => l.includes('tokenizer.json'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /tokenizer\.json cannot be loaded/);
});

test('Ctrl-C during a local run exits 130 promptly: the tokenizer threads do not keep the process alive', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'imdb.csv');
  writeFileSync(input, stringify(readImdb(6000), { header: true, columns: ['id', 'text'] }));
  const child = spawnCli(['run', '--backend', 'onnx', '--model', sharedModel(BOW), '--input', input, '--output', path.join(dir, 'o.csv')]);
  const done = collect(child);
  // Stop once labeling is under way (the progress line is off in tests; the notice comes after loading).
  await new Promise<void>((resolve) => child.stderr!.on('data', (d: Buffer) => d.toString().includes('onnx:') && resolve()));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = Date.now();
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted after/);
  assert.ok(Date.now() - t0 < 5000, `exit took ${Date.now() - t0} ms`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { plan, type PlanResult } from '../src/plan/index.js';
import { locateModel, readModelFiles } from '../src/backends/onnx/model-folder.js';
import { readClassifierConfig } from '../src/backends/onnx/config.js';
import { createTextEncoder } from '../src/backends/onnx/tokenize.js';
import { startHfServer } from './support/hf-server.js';
import { REPO, runCli, tempDir } from './support/cli.js';
import { BOW, sharedModel } from './support/onnx-models.js';

const TOKEN = 'hf_PlanSecretToken1234567890';

/** The sample reviews plus an empty text and a row of the wrong width. */
function planInput(dir: string, extra: string[][] = []): { input: string; texts: string[] } {
  const sample = readFileSync(path.join(REPO, 'data/reviews.csv'), 'utf8');
  const input = path.join(dir, 'reviews.csv');
  writeFileSync(input, sample + stringify([['x1', 'kettle', '1', ''], ...extra]) + 'x2,lamp,3\n');
  const rows = parse(readFileSync(input), { columns: true, relax_column_count: true }) as { text?: string }[];
  return { input, texts: rows.map((r) => r.text ?? '').filter((t) => t.trim() !== '') };
}

const files = (dir: string) => readdirSync(dir).sort();

test('plan against the HF API: counts from the whole input, at most 50 requests, x-compute-time, nothing written', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer({ token: TOKEN, delayMs: 5, answerHeaders: { 'x-compute-time': '0.012', 'x-compute-type': 'cpu' } });
  t.after(() => server.close());
  const { input, texts } = planInput(dir);
  const before = files(dir);
  const env = { HF_INFERENCE_ENDPOINT: server.url, HF_TOKEN: TOKEN };
  const r = await runCli(['plan', '--input', input, '--model', 'org/sentiment', '--batch-size', '4', '--output', path.join(dir, 'out.csv'), '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as PlanResult;
  const unique = new Set(texts).size;
  assert.equal(p.rows, 302);
  assert.equal(p.emptyRows, 1);
  assert.equal(p.badRows, 1);
  assert.match(p.badExamples.find((e) => e.reason.startsWith('expected'))!.reason, /expected 4 fields/);
  assert.equal(p.uniqueTexts, unique);
  assert.ok(p.uniqueExact);
  assert.equal(p.duplicateRows, texts.length - unique);
  assert.equal(p.requests, Math.ceil(unique / 4));
  assert.equal(p.chars!.max, Math.max(...texts.map((x) => x.length)));
  assert.equal(p.tokens, null);
  // 300 texts in batches of 4 would be 75 requests: the probe stops at 50.
  assert.equal(server.requests.length, 50);
  assert.ok(server.requests.every((q) => q.texts.length === 4 && q.headers.authorization === `Bearer ${TOKEN}`));
  assert.ok(p.estimate.seconds! > 0 && p.estimate.low! <= p.estimate.seconds! && p.estimate.seconds! <= p.estimate.high!);
  assert.equal(p.estimate.probe!.okCalls, 50);
  assert.ok(Math.abs(p.billing!.computeSecondsPerRequest! - 0.012) < 1e-12);
  assert.ok(Math.abs(p.billing!.computeSecondsTotal! - 0.012 * p.requests) < 1e-6);
  assert.match(p.billing!.note, /x-compute-time on 50 of 50 probe requests \(cpu\); serverless inference is billed by compute time/);
  assert.deepEqual(files(dir), before, 'no checkpoint, no output');
  assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));

  // The human form, a smaller probe, and none.
  const human = await runCli(['plan', '--input', input, '--model', 'org/sentiment', '--probe-requests', '10'], env);
  assert.equal(human.code, 0, human.stderr);
  assert.equal(server.requests.length, 60);
  assert.match(human.stdout, new RegExp(`unique +${unique} texts: ${texts.length - unique} rows repeat a text`));
  assert.match(human.stdout, /^estimate +\S+ \(95%: \S+–\S+\), from 10 timed requests of up to 1 texts at concurrency 8$/m);
  assert.match(human.stdout, /0\.012 s of compute per request/);
  const none = await runCli(['plan', '--input', input, '--model', 'org/sentiment', '--no-probe', '--json'], env);
  assert.equal(server.requests.length, 60, '--no-probe sends nothing');
  assert.equal((JSON.parse(none.stdout) as PlanResult).estimate.seconds, null);
  assert.deepEqual(files(dir), before);

  // A token the server refuses: the plan says so at once, as the run would, in one line.
  const bad = await runCli(['plan', '--input', input, '--model', 'org/sentiment'], { ...env, HF_TOKEN: 'hf_WrongToken000000000000000' });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^batchlabel: .*401/);
  assert.ok(!bad.stderr.includes('    at '));
});

test('plan with the local model: token counts and truncation from its own tokenizer, a timed probe, nothing written', async (t) => {
  const dir = tempDir(t);
  const long = Array.from({ length: 3 }, (_, i) => ['l' + i, 'book', '2', `A very long review number ${i}. ` + 'word '.repeat(2000)]);
  const { input, texts } = planInput(dir, long);
  const model = sharedModel(BOW);
  const before = files(dir);
  const p = await plan({ input, backend: 'onnx', model, output: path.join(dir, 'out.csv') });
  assert.deepEqual(files(dir), before, 'no checkpoint, no output');

  const modelFiles = await readModelFiles(await locateModel(model));
  const config = readClassifierConfig(modelFiles.config, modelFiles.tokenizerConfig);
  const encoder = createTextEncoder(modelFiles.tokenizer, modelFiles.tokenizerConfig, { maxLength: config.maxLength, typeIds: false });
  const encoded = texts.map((x) => encoder.encode(x));
  assert.equal(p.rows, 305);
  assert.ok(p.tokens!.exact, 'the sample holds every text');
  assert.equal(p.tokens!.sampled, texts.length);
  assert.equal(p.tokens!.truncatedRows, 3);
  assert.equal(p.tokens!.truncatedRows, encoded.filter((e) => e.truncated).length);
  assert.equal(p.tokens!.tokens.max, config.maxLength);
  assert.equal(p.tokens!.tokens.min, Math.min(...encoded.map((e) => e.ids.length)));
  assert.equal(p.requestsAre, 'model runs');
  assert.ok(p.requests >= Math.ceil(p.uniqueTexts / 32) && p.requests <= p.uniqueTexts);
  const probe = p.estimate.probe!;
  assert.equal(probe.backend, 'onnx');
  assert.ok(probe.okCalls >= 2 && probe.texts > 0 && probe.loadMs! > 0);
  assert.ok(p.estimate.seconds! > probe.loadMs! / 1000);
  assert.equal(p.billing, null);
});

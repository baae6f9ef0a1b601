/**
 * A changed model is noticed on resume: an ONNX file replaced in place (same name), a changed
 * $HF_INFERENCE_ENDPOINT. The CLI as users run it, the shared NLI models (copied to a temp folder to be
 * replaced there), loopback servers.
 */
import assert from 'node:assert/strict';
import { cpSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from './support/cli.js';
import { startHfServer } from './support/hf-server.js';
import { sharedModel } from './support/onnx-models.js';

test('an ONNX file replaced in place is refused on resume; the same bytes written again (new mtime) resume', async (t) => {
  const dir = tempDir(t);
  const folder = path.join(dir, 'model');
  cpSync(sharedModel('selftrained-bow-pair-nli'), folder, { recursive: true });
  const onnx = path.join(folder, 'onnx', 'model.onnx');
  const original = readFileSync(onnx);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 120 }, (_, i) => `${i},this film was ${i % 2 ? 'great' : 'dull'} ${i}`).join('\n')}\n`);
  const env = { XDG_CACHE_HOME: path.join(dir, 'cache') };
  const args = ['run', '--input', input, '--backend', 'onnx', '--model', folder, '--task', 'zero-shot-classification', '--candidate-labels', 'positive,negative', '--checkpoint', path.join(dir, 'job.sqlite'), '--quiet'];
  const first = await runCli([...args, '--limit', '60'], env);
  assert.equal(first.code, 0, first.stderr);
  assert.ok(existsSync(path.join(dir, 'cache', 'batchlabel', 'model-digests.json')), 'digests cached outside the model folder');
  copyFileSync(sharedModel('selftrained-bow-pair-nli-entail-first') + '/onnx/model.onnx', onnx);
  const refused = await runCli(args, env);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /was labeled by another model: content [0-9a-f]{64} → [0-9a-f]{64}/);
  writeFileSync(onnx, original);
  const resumed = await runCli(args, env);
  assert.equal(resumed.code, 0, resumed.stderr);
});

test('a changed HF_INFERENCE_ENDPOINT is refused on resume, as a changed --endpoint is', async (t) => {
  const dir = tempDir(t);
  const a = await startHfServer();
  const b = await startHfServer();
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 100 }, (_, i) => `${i},review ${i}`).join('\n')}\n`);
  const args = ['run', '--input', input, '--model', 'm', '--checkpoint', path.join(dir, 'job.sqlite')];
  const first = await runCli([...args, '--limit', '50'], { HF_INFERENCE_ENDPOINT: a.url, HF_TOKEN: 'hf_test' });
  assert.equal(first.code, 0, first.stderr);
  assert.ok(a.requests.length > 0);
  const refused = await runCli(args, { HF_INFERENCE_ENDPOINT: b.url, HF_TOKEN: 'hf_test' });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /was labeled by another model: endpoint http:\/\/127\.0\.0\.1:\d+\/models\/m → http:\/\/127\.0\.0\.1:\d+\/models\/m/);
  assert.equal(b.requests.length, 0, 'no row labeled by the other server');
  const same = await runCli(args, { HF_INFERENCE_ENDPOINT: `${a.url}/`, HF_TOKEN: 'hf_test' });
  assert.equal(same.code, 0, same.stderr);
});

test('a model revision that changes between runs (the router\'s x-sha) is refused on resume; the same revision resumes', async (t) => {
  const dir = tempDir(t);
  const headers: Record<string, string> = { 'x-sha': 'a'.repeat(40) };
  const server = await startHfServer({ answerHeaders: headers });
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `text\n${Array.from({ length: 60 }, (_, i) => `review ${i}`).join('\n')}\n`);
  const args = (limit: number) => ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', path.join(dir, 'job.sqlite'), '--limit', String(limit)];
  const first = await runCli(args(20));
  assert.equal(first.code, 0, first.stderr);
  const same = await runCli(args(40));
  assert.equal(same.code, 0, same.stderr);
  headers['x-sha'] = 'b'.repeat(40);
  const requestsBefore = server.requests.length;
  const changed = await runCli(args(60));
  assert.equal(changed.code, 1, changed.stderr);
  assert.match(changed.stderr, new RegExp(`was labeled by revision ${'a'.repeat(40)} of the model, but the endpoint now answers with revision ${'b'.repeat(40)}`));
  const status = await runCli(['status', path.join(dir, 'job.sqlite'), '--json']);
  const rows = (JSON.parse(status.stdout) as { rows: { done: number } }).rows;
  assert.equal(rows.done, 40, 'no row of the other revision was committed');
  assert.ok(server.requests.length - requestsBefore <= 8, 'the run stopped at the first answers');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { BackendFatalError } from '../src/errors.js';
import { expectedScores, hfTestSettings, recordingContext, startHfServer } from './support/hf-server.js';

const TOKEN = 'hf_testTokenDoNotLeak1234567890';

test('POSTs one text with only the parameters the user set, and the headers the job asks for', async (t) => {
  const server = await startHfServer();
  t.after(() => server.close());
  const ctx = recordingContext();
  const settings = hfTestSettings(server, {
    topK: 2,
    functionToApply: 'softmax',
    hf: { useCache: false, waitForModel: true },
  });
  const clf = createHfClassifier(settings, ctx, { HF_TOKEN: TOKEN });
  t.after(() => clf.close());
  const out = await clf.classify(['great movie', 'awful movie']);
  assert.deepEqual(out, [
    { ok: true, predictions: expectedScores('great movie') },
    { ok: true, predictions: expectedScores('awful movie') },
  ]);
  assert.equal(server.requests.length, 2);
  const [req] = server.requests;
  assert.equal(req!.method, 'POST');
  assert.equal(req!.url, '/models/org/model');
  assert.equal(req!.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(req!.headers['content-type'], 'application/json');
  assert.equal(req!.headers['x-use-cache'], 'false');
  assert.equal(req!.headers['x-wait-for-model'], 'true');
  assert.deepEqual(req!.body, { inputs: 'great movie', parameters: { function_to_apply: 'softmax', top_k: 2 } });
});

test('sends no parameters, no token and no optional headers when none are set', async (t) => {
  const server = await startHfServer();
  t.after(() => server.close());
  const clf = createHfClassifier(hfTestSettings(server), recordingContext(), {});
  t.after(() => clf.close());
  await clf.classify(['x']);
  const [req] = server.requests;
  assert.deepEqual(req!.body, { inputs: 'x' });
  assert.equal(req!.headers.authorization, undefined);
  assert.equal(req!.headers['x-use-cache'], undefined);
  assert.equal(req!.headers['x-wait-for-model'], undefined);
});

test('accepts the flat answer shape as well as the router one', async (t) => {
  const server = await startHfServer({ shape: 'flat', labels: ['a', 'b', 'c'] });
  t.after(() => server.close());
  const clf = createHfClassifier(hfTestSettings(server), recordingContext(), {});
  t.after(() => clf.close());
  assert.deepEqual(await clf.classify(['hello']), [{ ok: true, predictions: expectedScores('hello', ['a', 'b', 'c']) }]);
});

test('without --endpoint, calls HF_INFERENCE_ENDPOINT/models/<model>', async (t) => {
  const server = await startHfServer();
  t.after(() => server.close());
  const settings = hfTestSettings(undefined, { model: 'distilbert/sst2' });
  const clf = createHfClassifier(settings, recordingContext(), { HF_INFERENCE_ENDPOINT: `${server.url}/` });
  t.after(() => clf.close());
  await clf.classify(['x']);
  assert.equal(server.requests[0]!.url, '/models/distilbert/sst2');
});

test('without a model or an endpoint, says to pass one', () => {
  const settings = hfTestSettings(undefined, { model: undefined });
  assert.throws(
    () => createHfClassifier(settings, recordingContext(), {}),
    (err: unknown) => err instanceof BackendFatalError && /--model/.test(err.message) && /--endpoint/.test(err.message),
  );
});

test('a rejected token stops the run with one line naming the variable, never the token', async (t) => {
  const server = await startHfServer({ token: 'hf_theRightOne123456789' });
  t.after(() => server.close());
  const clf = createHfClassifier(hfTestSettings(server), recordingContext(), { HF_TOKEN: TOKEN });
  t.after(() => clf.close());
  await assert.rejects(clf.classify(['x']), (err: unknown) => {
    assert.ok(err instanceof BackendFatalError);
    assert.equal(err.code, 'E_AUTH');
    assert.match(err.message, /HF_TOKEN/);
    assert.ok(!err.message.includes(TOKEN));
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('without HF_TOKEN, the token of `hf auth login` is used; HF_TOKEN wins over it; --token-env ignores it', async (t) => {
  const home = mkdtempSync(path.join(tmpdir(), 'batchlabel-home-'));
  t.after(() => rmSync(home, { recursive: true, force: true }));
  const loginToken = 'hf_fromTheLoginFile1234567';
  const file = path.join(home, '.cache', 'huggingface', 'token');
  const sent = async (env: NodeJS.ProcessEnv, tokenEnv?: string) => {
    const server = await startHfServer();
    t.after(() => server.close());
    const clf = createHfClassifier(hfTestSettings(server, tokenEnv ? { hf: { tokenEnv } } : {}), recordingContext(), env);
    await clf.classify(['x']);
    await clf.close();
    return server.requests[0]!.headers.authorization;
  };
  assert.equal(await sent({ HOME: home }), undefined, 'no login yet');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${loginToken}\n`);
  assert.equal(await sent({ HOME: home }), `Bearer ${loginToken}`);
  assert.equal(await sent({ HOME: home, HF_TOKEN: TOKEN }), `Bearer ${TOKEN}`);
  assert.equal(await sent({ HOME: home, MY_TOKEN: '' }, 'MY_TOKEN'), undefined);
  writeFileSync(path.join(home, 'elsewhere'), loginToken);
  assert.equal(await sent({ HF_TOKEN_PATH: path.join(home, 'elsewhere') }), `Bearer ${loginToken}`);
  assert.equal(await sent({ HOME: '/nonexistent', HF_HOME: path.join(home, '.cache', 'huggingface') }), `Bearer ${loginToken}`);

  // Rejected: the message says which file, never the token.
  const server = await startHfServer({ token: 'hf_theRightOne123456789' });
  t.after(() => server.close());
  const clf = createHfClassifier(hfTestSettings(server), recordingContext(), { HOME: home });
  t.after(() => clf.close());
  await assert.rejects(clf.classify(['x']), (err: unknown) => {
    assert.ok(err instanceof BackendFatalError);
    assert.ok(err.message.includes(`the token in the token file ${file} is invalid`), err.message);
    assert.ok(!err.message.includes(loginToken));
    return true;
  });
});

test('reads an answer sent after early hints, behind a byte order mark, in pieces', async (t) => {
  const answer = Buffer.from(`\uFEFF${JSON.stringify([expectedScores('hello')])}`);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      const third = Math.ceil(answer.length / 3);
      res.write(answer.subarray(0, third));
      setTimeout(() => res.write(answer.subarray(third, 2 * third)), 20);
      setTimeout(() => res.end(answer.subarray(2 * third)), 40);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clf = createHfClassifier(hfTestSettings({ url }), recordingContext(), {});
  t.after(() => clf.close());
  assert.deepEqual(await clf.classify(['hello']), [{ ok: true, predictions: expectedScores('hello') }]);
});

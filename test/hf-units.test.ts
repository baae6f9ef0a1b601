import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, hintedWaitMs, loadingWaitMs } from '../src/backends/hf/backoff.js';
import { judgeStatus, parseErrorBody, tooLongRatio, truncateText, type ErrorContext } from '../src/backends/hf/classify-error.js';
import { createConcurrencyLimit, createQuotaBudget, createRejectionWatch, parseRateLimitReset, parseRetryAfter, serverWaitMs } from '../src/backends/hf/rate.js';
import { createRedactor } from '../src/backends/hf/redact.js';
import { bodyBuilder, jsonString, needsNoEscapeButQuotes, resolveTarget } from '../src/backends/hf/request.js';
import { parseAnswer } from '../src/backends/hf/response.js';
import { hfTestSettings, recordingContext } from './support/hf-server.js';
import { seededRandom } from './support/random.js';

const now = Date.parse('2025-01-01T00:00:00Z');

test('Retry-After: delay-seconds and HTTP-date', () => {
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter('0.25', now), 250);
  assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now), 7000);
  assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('-1', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('RateLimit: the t of an exhausted policy, in every form the header comes in', () => {
  assert.equal(parseRateLimitReset({ ratelimit: '"api";r=0;t=42' }), 42_000);
  assert.equal(parseRateLimitReset({ ratelimit: '"api";r=3;t=42' }), undefined);
  assert.equal(parseRateLimitReset({ ratelimit: '"a";r=5;t=10, "b";r=0;t=30' }), 30_000);
  assert.equal(parseRateLimitReset({ ratelimit: 'limit=100, remaining=0, reset=12' }), 12_000);
  assert.equal(parseRateLimitReset({ 'ratelimit-remaining': '0', 'ratelimit-reset': '5' }), 5_000);
  assert.equal(parseRateLimitReset({}), undefined);
  // Retry-After wins over RateLimit.
  assert.equal(serverWaitMs({ 'retry-after': '2', ratelimit: '"api";r=0;t=42' }, now), 2000);
});

test('waits never exceed the cap', () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    assert.ok(backoffMs(attempt, 1000, () => 0.999) <= 1000);
  }
  assert.equal(backoffMs(0, 60_000, () => 1), 500);
  assert.equal(backoffMs(3, 60_000, () => 1), 4000);
  assert.equal(hintedWaitMs(120_000, 60_000, () => 1), 60_000);
  assert.ok(hintedWaitMs(1000, 60_000, () => 0) >= 1000, 'a server hint is never shortened');
  assert.equal(loadingWaitMs(300_000, 60_000, () => 1), 60_000);
  const w = loadingWaitMs(20_000, 60_000, () => 0);
  assert.ok(w >= 15_000 && w <= 25_000);
});

test('concurrency limit: once slow start ends, two round trips at 4 in flight re-measure the unloaded latency the cold first round trips overstated', () => {
  const ctx = recordingContext(32);
  const limit = createConcurrencyLimit(ctx.queue, ctx.signal);
  let clock = performance.now();
  /** `n` requests sent now, each answered `ms` later. */
  const roundTrip = (n: number, ms: number) => {
    const sentAt = clock;
    for (let i = 0; i < n; i++) limit.start();
    clock += ms;
    for (let i = 0; i < n; i++) {
      limit.end();
      limit.answered({ sentAt, epoch: 0 }, clock);
    }
  };
  limit.admit();
  roundTrip(4, 25); // cold: a server answering in 15 ms unloaded
  roundTrip(8, 25);
  assert.equal(limit.limit, 16);
  roundTrip(16, 50);
  assert.equal(limit.limit, 4, 'slow start ended (cut to 15): the probe runs at 4');
  for (let i = 0; i < 16; i++) limit.answered({ sentAt: clock - 10, epoch: 0 }, clock);
  assert.equal(limit.limit, 4, 'answers to requests sent before the probe are not its round trip');
  roundTrip(4, 40); // the machine stalled in this one
  assert.equal(limit.limit, 4, 'a second round trip at 4');
  roundTrip(4, 15);
  assert.equal(limit.limit, 15, 'the limit from before the probe');
  // 15 in flight at 30 ms against 15 unloaded (the better probe round trip) is a queue of 7.5 (beta
  // 7.1): cut. Read against the cold 25 ms, or the stalled 40, the limit would grow.
  roundTrip(15, 30);
  assert.equal(limit.limit, 14);
  roundTrip(14, 28);
  assert.equal(limit.limit, 14, 'no second probe within 30 s');
});

test('concurrency limit: starts low, doubles while unloaded, cuts to 0.9x once per overload epoch, floor 1', () => {
  const ctx = recordingContext(32);
  const limit = createConcurrencyLimit(ctx.queue, ctx.signal);
  const answerAll = (n: number) => {
    const samples = Array.from({ length: n }, () => limit.start());
    for (const s of samples) {
      limit.end();
      limit.answered(s);
    }
  };
  assert.equal(limit.admit(), undefined);
  limit.start();
  limit.end();
  assert.equal(ctx.queue.concurrency, 4, 'slow start from 4');
  answerAll(4);
  assert.equal(ctx.queue.concurrency, 8, 'doubled after a round trip with no queueing');
  const burst = Array.from({ length: 8 }, () => limit.start());
  limit.overloaded(burst[0]!);
  assert.equal(limit.limit, 8, 'one refusal a round trip is tolerated');
  for (const s of burst.slice(1)) limit.overloaded(s); // the whole burst is refused: one cut
  for (let i = 0; i < 8; i++) limit.end();
  assert.equal(limit.limit, 7, '0.9 × 8, once');
  for (let i = 0; i < 80; i++) {
    const s = limit.start();
    limit.end();
    limit.overloaded(s);
  }
  assert.equal(limit.limit, 1);
  answerAll(1);
  assert.equal(limit.limit, 2, 'additive increase after slow start: +1 a round trip');
});

test('quota budget: counts requests against RateLimit r, narrows the reset from whole seconds, waits for it', () => {
  let now = 10_000;
  const quota = createQuotaBudget(() => now);
  assert.equal(quota.take(), 0, 'nothing known: send');
  quota.observe('"inference";r=2;t=2'); // reset in (11 000, 12 000]
  now += 400;
  quota.observe('"inference";r=2;t=1'); // (10 400, 11 400]: together (11 000, 11 400]
  assert.equal(quota.take(), 0);
  assert.equal(quota.take(), 0);
  assert.equal(quota.take(), 11_400 + 25 - now, 'spent: wait for the narrowed reset, plus a margin');
  now = 11_500;
  assert.equal(quota.take(), 0, 'a new window');
});

test('rejection watch: a few 429s among many answers are isolated, most answers 429 is a crowd', () => {
  const watch = createRejectionWatch();
  for (let i = 0; i < 40; i++) watch.answered(i % 20 === 0);
  assert.equal(watch.crowded(), false);
  for (let i = 0; i < 8; i++) watch.answered(true);
  assert.equal(watch.crowded(), true);
});

test('error bodies: string, list of strings, anything else', () => {
  assert.deepEqual(parseErrorBody('{"error":"Model x is currently loading","estimated_time":20.5}'), {
    message: 'Model x is currently loading',
    estimatedTime: 20.5,
  });
  assert.equal(parseErrorBody('{"error":["a","b"]}').message, 'a; b');
  assert.equal(parseErrorBody('<html>\n<h1>502</h1></html>').message, '<html> <h1>502</h1></html>');
  assert.equal(parseErrorBody('').message, '(empty body)');
});

test('too-long messages give the fraction to keep', () => {
  const r = tooLongRatio(422, 'Input validation error: `inputs` must have less than 512 tokens. Given: 1024');
  assert.ok(r !== undefined && Math.abs(r - 0.45) < 1e-9);
  const torch = tooLongRatio(400, 'The size of tensor a (2048) must match the size of tensor b (512) at non-singleton dimension 1');
  assert.ok(torch !== undefined && Math.abs(torch - 0.225) < 1e-9);
  assert.equal(tooLongRatio(400, 'Input is too long for this model'), 0.5);
  assert.equal(tooLongRatio(413, 'Payload Too Large'), 0.5);
  assert.equal(tooLongRatio(400, 'Input should be a valid string'), undefined);
  assert.equal(truncateText('héllo wörld', 0.5), 'héllo');
  assert.equal(truncateText('😀😀😀😀', 0.5), '😀😀');
});

test('410 from the retired api-inference host says to use the router', () => {
  const settings = hfTestSettings(undefined, { hf: { endpoint: 'https://api-inference.huggingface.co/models/org/model' } });
  const ctx: ErrorContext = { target: resolveTarget(settings, {}), tokenEnv: 'HF_TOKEN', tokenSource: 'HF_TOKEN', redact: (s) => s };
  const verdict = judgeStatus({ status: 410, headers: {}, rateLimit: undefined, text: '{"error":"gone"}' }, ctx);
  assert.equal(verdict.type, 'fatal');
  if (verdict.type !== 'fatal') return;
  assert.equal(verdict.error.code, 'E_ENDPOINT_GONE');
  assert.match(verdict.error.message, /https:\/\/router\.huggingface\.co\/hf-inference/);
  assert.match(verdict.error.message, /--endpoint/);
});

test('answers: both shapes, batches, and everything that is not an answer', () => {
  const p = [{ label: 'A', score: 0.2 }, { label: 'B', score: 0.8 }];
  const best = [{ label: 'B', score: 0.8 }, { label: 'A', score: 0.2 }];
  const shaping = { probabilities: true };
  assert.deepEqual(parseAnswer(JSON.stringify(p), 1, shaping), { ok: true, lists: [best] });
  assert.deepEqual(parseAnswer(JSON.stringify([p]), 1, shaping), { ok: true, lists: [best] });
  assert.deepEqual(parseAnswer(JSON.stringify([p, p]), 2, shaping), { ok: true, lists: [best, best] });
  assert.deepEqual(parseAnswer(JSON.stringify([p]), 1, { probabilities: true, topK: 1 }), { ok: true, lists: [[best[0]]] });
  const many = Array.from({ length: 20 }, (_, i) => ({ label: `L${i}`, score: (20 - i) / 100 }));
  assert.deepEqual(parseAnswer(JSON.stringify([many]), 1, { probabilities: true, topK: 3 }), { ok: true, lists: [many.slice(0, 3)] });
  const tied = [{ label: 'X', score: 0.5, extra: 1 }, { label: 'Y', score: 0.5 }, { label: 'Z', score: 0.6 }];
  assert.deepEqual(
    parseAnswer(JSON.stringify(tied), 1, shaping),
    { ok: true, lists: [[{ label: 'Z', score: 0.6 }, { label: 'X', score: 0.5 }, { label: 'Y', score: 0.5 }]] },
    'ties keep the order they came in; fields other than label and score are dropped',
  );
  const bad = (text: string, count = 1) => {
    const a = parseAnswer(text, count, shaping);
    return a.ok ? 'ok' : a.reason;
  };
  assert.equal(bad('not json'), 'malformed');
  assert.equal(bad('{"label":"A","score":1}'), 'malformed');
  assert.equal(bad('[]'), 'malformed');
  assert.equal(bad('[{"label":"A"}]'), 'malformed');
  assert.equal(bad('[{"label":"A","score":1},{"label":"A","score":0}]'), 'malformed');
  assert.equal(bad(JSON.stringify([...many, { label: 'L3', score: 0 }])), 'malformed', 'a repeated label in a long list');
  assert.equal(bad('[{"label":"","score":1}]'), 'malformed');
  assert.equal(bad('[{"label":"A","score":7}]'), 'malformed');
  assert.equal(bad(JSON.stringify(p), 2), 'count', 'a flat list for a batch is not one list per text');
  assert.equal(bad(JSON.stringify([p, p, p]), 2), 'count');
  assert.equal(bad(JSON.stringify([p, [{ label: 'A' }]]), 2), 'malformed');
});

test('TEI: logits turned into the asked function locally', () => {
  const logits = [{ label: 'A', score: Math.log(0.25) }, { label: 'B', score: Math.log(0.75) }];
  const a = parseAnswer(JSON.stringify(logits), 1, { probabilities: false, applyLocally: 'softmax' });
  assert.ok(a.ok);
  assert.equal(a.lists[0]![0]!.label, 'B');
  assert.ok(Math.abs(a.lists[0]![0]!.score - 0.75) < 1e-12);
});

test('request bodies: hf and TEI, single and batched', () => {
  const hf = (texts: string[]) => bodyBuilder(hfTestSettings(undefined, { topK: 3 }))(texts).toString();
  assert.equal(hf(['a']), JSON.stringify({ inputs: 'a', parameters: { top_k: 3 } }));
  assert.equal(hf(['a', 'b']), JSON.stringify({ inputs: ['a', 'b'], parameters: { top_k: 3 } }));
  assert.equal(bodyBuilder(hfTestSettings(undefined))(['a"b']).toString(), JSON.stringify({ inputs: 'a"b' }));
  // Each text is encoded into its place; non-ASCII and escapes come out as JSON.stringify writes them.
  const texts = ['é "q" \\ 😀', 'line\nbreak', '\ud83d lone', ''];
  assert.equal(bodyBuilder(hfTestSettings(undefined))(texts).toString(), JSON.stringify({ inputs: texts }));
  const teiSettings = hfTestSettings(undefined, { functionToApply: 'sigmoid', hf: { endpointType: 'tei', endpoint: 'http://127.0.0.1:1' } });
  const tei = (texts: string[]) => bodyBuilder(teiSettings)(texts).toString();
  assert.equal(tei(['a']), JSON.stringify({ inputs: 'a', truncate: true, raw_scores: true }));
  assert.equal(tei(['a', 'b']), JSON.stringify({ inputs: [['a'], ['b']], truncate: true, raw_scores: true }));
  assert.deepEqual(resolveTarget(teiSettings, {}).path, '/predict');
});

test('texts are serialised exactly as JSON.stringify does, whatever they contain', () => {
  const random = seededRandom(20260101);
  // Quotes, backslashes, control characters, U+2028, Latin-1, a surrogate pair, lone surrogates of both halves.
  const pieces = ['a', ' ', '"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', '\u2028', 'é', '😀', '\ud83d', '\ude00', '<br />', '/'];
  for (let i = 0; i < 5000; i++) {
    let text = '';
    const n = Math.floor(random() * 12);
    for (let j = 0; j < n; j++) text += pieces[Math.floor(random() * (random() < 0.7 ? 3 : pieces.length))];
    assert.equal(jsonString(text), JSON.stringify(text), `text ${JSON.stringify(text)}`);
  }
});

test('bodies built from the bytes in the file equal bodies built from the strings', () => {
  const random = seededRandom(20260102);
  const pieces = ['a', ' ', '"', '"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', '\u2028', 'é', '😀', '<br />', 'xyzw'];
  const build = { hf: bodyBuilder(hfTestSettings(undefined)), tei: bodyBuilder(hfTestSettings(undefined, { hf: { endpointType: 'tei', endpoint: 'http://127.0.0.1:1' } })) };
  let copied = 0;
  for (let i = 0; i < 3000; i++) {
    const texts: string[] = [];
    for (let t = 1 + Math.floor(random() * 4); t > 0; t--) {
      let text = '';
      // Mostly plain text, so most texts take the copy; long enough to cover the four-byte steps.
      for (let n = Math.floor(random() * 40); n > 0; n--) text += pieces[Math.floor(random() * (random() < 0.9 ? 4 : pieces.length))];
      texts.push(text);
    }
    // Each text's bytes as a reader holds them: a view at any offset into a larger buffer.
    const withBytes = texts.map((text) => {
      const pad = Math.floor(random() * 7);
      const file = Buffer.concat([Buffer.alloc(pad, 0x0a), Buffer.from(text), Buffer.alloc(3, 0x00)]);
      const bytes = file.subarray(pad, pad + Buffer.byteLength(text));
      if (needsNoEscapeButQuotes(bytes)) copied++;
      return bytes;
    });
    for (const [kind, body] of Object.entries(build)) {
      assert.equal(body(withBytes).toString(), body(texts).toString(), `${kind} ${JSON.stringify(texts)}`);
    }
    assert.equal(build.hf(withBytes).toString(), JSON.stringify({ inputs: texts.length === 1 ? texts[0] : texts }));
  }
  assert.ok(copied > 3000, `only ${copied} texts took the copy`);
});

test('a text needs escaping beyond quotes exactly when it has a backslash or a control character', () => {
  for (let len = 0; len < 12; len++) {
    for (let at = 0; at < len; at++) {
      for (const c of [0x00, 0x09, 0x0a, 0x1f, 0x5c, 0x20, 0x22, 0x7f, 0x80, 0xff]) {
        for (let pad = 0; pad < 4; pad++) {
          const buf = Buffer.alloc(pad + len + 4, 0x61);
          buf[pad + at] = c;
          buf[pad + len] = 0x00; // just past the text: must not be looked at
          assert.equal(needsNoEscapeButQuotes(buf.subarray(pad, pad + len)), c >= 0x20 && c !== 0x5c, `len ${len} byte ${c} at ${at}, offset ${pad}`);
        }
      }
    }
  }
});

test('redaction: the token, any hf_ token, any bearer credential; one line', () => {
  const redact = createRedactor('s3cr3t-token');
  assert.equal(redact('bad s3cr3t-token here'), 'bad [redacted] here');
  assert.equal(redact('leaked hf_abcdefghijklmnop'), 'leaked [redacted]');
  assert.equal(redact('Authorization: Bearer xyz'), 'Authorization: Bearer [redacted]');
  assert.equal(redact('a\n  b\n'), 'a b');
});

/**
 * --text-pair-column: a row's input is its text and its pair, sent as {"text", "text_pair"} to the HF API
 * and encoded [CLS] a [SEP] b [SEP] (longest_first truncation) on the local backend; the pair as a whole is
 * the row's identity for dedupe and resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { createOnnxClassifier } from '../src/backends/onnx/index.js';
import { longestFirst, onlyFirst } from '../src/backends/onnx/pair-encoding.js';
import { hashPair, hashText } from '../src/job/fingerprint.js';
import { expectedPairScores, hfTestSettings, recordingContext, startHfServer } from './support/hf-server.js';
import { runCli, tempDir } from './support/cli.js';
import { onnxSettings, readImdb, sharedModel, testContext } from './support/onnx-models.js';

const TOKEN = 'hf_PairSecret1234567890';
const NLI = sharedModel('selftrained-bow-pair-nli');

test("longest_first cuts as tokenizers' truncation.rs does (its own test table, max_length 7)", () => {
  // truncate_encodings_longest_first: (n1, n2) → (kept1, kept2).
  const table: [number, number, number, number][] = [
    [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
    [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
    [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
    [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
  ];
  for (const [n1, n2, k1, k2] of table) assert.deepEqual(longestFirst(n1, n2, 7, 0), { first: k1, second: k2 }, `${n1}, ${n2}`);
  // Special tokens come off the budget first: 512 - 3 for BERT's pair template.
  assert.deepEqual(longestFirst(600, 700, 512, 3), { first: 254, second: 255 });
  assert.deepEqual(longestFirst(700, 600, 512, 3), { first: 255, second: 254 }, "the longer text gets the odd token");
  assert.deepEqual(onlyFirst(600, 5, 512, 3), { first: 504, second: 5 });
  assert.deepEqual(onlyFirst(2, 600, 512, 3), { first: 2, second: 600 }, 'too short to cut: Python retries without truncation');
});

test('a pair is one key: not its first text alone, not another split of the same characters', () => {
  assert.notEqual(hashPair('ab', 'c'), hashPair('a', 'bc'));
  assert.notEqual(hashPair('ab', 'c'), hashText('ab'));
  assert.equal(hashPair('é', 'x'), hashPair(Buffer.from('é'), 'x'), 'bytes and string hash alike');
});

test('HF: a pair goes alone, as {"inputs": {"text", "text_pair"}}', async (t) => {
  const s = await startHfServer();
  t.after(() => s.close());
  const clf = createHfClassifier(hfTestSettings(s, { textPairColumn: 'hypothesis', batchSize: 8 }), recordingContext(), {});
  t.after(() => clf.close());
  assert.equal(clf.batchSize, 1);
  const out = await clf.classify([{ text: 'A man sleeps.', pair: 'Someone rests.' }, { text: Buffer.from('A "quoted" cat'), pair: 'An animal' }]);
  assert.deepEqual(out, [
    { ok: true, predictions: expectedPairScores('A man sleeps.', 'Someone rests.') },
    { ok: true, predictions: expectedPairScores('A "quoted" cat', 'An animal') },
  ]);
  assert.deepEqual(s.requests.map((r) => r.body), [{ inputs: { text: 'A man sleeps.', text_pair: 'Someone rests.' } }, { inputs: { text: 'A "quoted" cat', text_pair: 'An animal' } }]);
});

test('CLI (hf): pairs from two columns; the same pair is sent once, the same first text with another pair is not', async (t) => {
  const s = await startHfServer({ token: TOKEN });
  t.after(() => s.close());
  const dir = tempDir(t);
  const input = path.join(dir, 'pairs.csv');
  const pairs = [['The cat sat.', 'A cat is sitting.'], ['The cat sat.', 'A dog runs.'], ['The cat sat.', 'A cat is sitting.'], ['Rain all day.', 'It was sunny.'], ['x', '']];
  writeFileSync(input, stringify([['premise', 'hypothesis'], ...pairs]));
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--text-column', 'premise', '--text-pair-column', 'hypothesis', '--model', 'org/cross', '--output', out, '--quiet', '--empty', 'fail'], { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN });
  assert.equal(r.code !== 2, true, r.stderr);
  const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
  for (let i = 0; i < 4; i++) {
    const want = expectedPairScores(pairs[i]![0]!, pairs[i]![1]!)[0]!;
    assert.equal(rows[i]!.predicted_label, want.label);
    assert.equal(Number(rows[i]!.predicted_score), want.score);
  }
  assert.match(rows[4]!.error!, /empty text in column "hypothesis"/, JSON.stringify(rows[4]));
  assert.equal(s.requests.length, 3, 'three distinct pairs');
});

/** The pair encoded whole by the tokenizer itself, run alone: the local backend must give the same scores. */
async function referenceScores(pairs: [string, string][]): Promise<number[][]> {
  const read = (f: string) => JSON.parse(readFileSync(path.join(NLI, f), 'utf8')) as object;
  const tok = new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json')) as unknown as { encode(t: string, o: object): { ids: number[]; token_type_ids: number[] } };
  const session = await ort.InferenceSession.create(path.join(NLI, 'onnx/model.onnx'));
  const out: number[][] = [];
  for (const [a, b] of pairs) {
    const e = tok.encode(a, { text_pair: b, return_token_type_ids: true });
    const tensor = (x: number[]) => new ort.Tensor('int64', BigInt64Array.from(x, BigInt), [1, x.length]);
    const r = await session.run({ input_ids: tensor(e.ids), attention_mask: tensor(e.ids.map(() => 1)), token_type_ids: tensor(e.token_type_ids) });
    const logits = Array.from(r.logits!.data as Float32Array);
    const m = Math.max(...logits);
    const ex = logits.map((x) => Math.exp(x - m));
    out.push(ex.map((x) => x / ex.reduce((p, q) => p + q, 0)));
  }
  await session.release();
  return out;
}

test('ONNX: the NLI model used directly on pairs gives the scores of the pair encoded whole; long pairs are cut and marked', async () => {
  const reviews = readImdb(300).map((r) => r.text);
  const short = reviews.filter((r) => r.length < 1200).slice(0, 12);
  const pairs: [string, string][] = short.map((r, i) => [r, i % 2 ? 'This example is positive.' : 'The movie was terrible.']);
  const long = reviews.filter((r) => r.length > 3000).slice(0, 3);
  const c = await createOnnxClassifier(onnxSettings({ model: NLI, textPairColumn: 'b', allScores: true }), testContext());
  try {
    const out = await c.classify([...pairs, [long[0]!, long[1]!] as [string, string], [long[2]!, 'short hypothesis'] as [string, string]].map(([text, pair]) => ({ text, pair })));
    const ref = await referenceScores(pairs);
    const labels = ['contradiction', 'neutral', 'entailment'];
    pairs.forEach((_, i) => {
      const o = out[i]!;
      assert.ok(o.ok && !o.truncated, JSON.stringify(o));
      for (const p of o.predictions) assert.ok(Math.abs(p.score - ref[i]![labels.indexOf(p.label)]!) < 1e-6, `pair ${i} ${p.label}`);
    });
    assert.ok(out.slice(-2).every((o) => o.ok && o.truncated), 'over-long pairs are cut (longest_first) and marked');
  } finally {
    await c.close();
  }
});

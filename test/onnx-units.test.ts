/**
 * The local backend's pure parts: batching plan, post-processing rules, sequence limits, padding and
 * Python-style truncation with the real bert-base-uncased tokenizer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { planBatches } from '../src/backends/onnx/batching.js';
import { maxSequenceLength, parseId2label, readClassifierConfig } from '../src/backends/onnx/config.js';
import { onnxCandidates } from '../src/backends/onnx/model-folder.js';
import { applyFunction, defaultFunctionToApply, postprocessLogits, toPredictions } from '../src/backends/onnx/postprocess.js';
import { padBatch } from '../src/backends/onnx/tensors.js';
import { createTextEncoder } from '../src/backends/onnx/tokenize.js';
import { BOW, readImdb, sharedModel } from './support/onnx-models.js';

const json = (file: string) => JSON.parse(fs.readFileSync(path.join(sharedModel(BOW), file), 'utf8')) as Record<string, unknown>;

test('planBatches: every row once, sorted by length, bounded by rows and padded tokens', () => {
  const lengths = [500, 12, 40, 8, 130, 128, 9, 512, 64, 66];
  const batches = planBatches(lengths, { maxRows: 3, maxTokens: 1024 });
  assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  for (const b of batches) {
    assert.ok(b.length <= 3);
    const longest = Math.max(...b.map((i) => lengths[i]!));
    assert.ok(b.length === 1 || b.length * longest <= 1024, `batch ${JSON.stringify(b)} over budget`);
  }
  const flat = batches.flat().map((i) => lengths[i]!);
  assert.deepEqual(flat, [...flat].sort((a, b) => a - b));
  // A row longer than the whole budget still gets a batch of its own.
  assert.deepEqual(planBatches([5000, 3], { maxRows: 8, maxTokens: 100 }), [[1], [0]]);
  assert.deepEqual(planBatches([], { maxRows: 8, maxTokens: 100 }), []);
  assert.deepEqual(planBatches([4, 4, 4], { maxRows: 1, maxTokens: 4096 }), [[0], [1], [2]]);
});

test("default function_to_apply follows Python's pipeline", () => {
  assert.equal(defaultFunctionToApply('regression', 1), 'none');
  assert.equal(defaultFunctionToApply('multi_label_classification', 6), 'sigmoid');
  assert.equal(defaultFunctionToApply(undefined, 1), 'sigmoid');
  assert.equal(defaultFunctionToApply('single_label_classification', 2), 'softmax');
  assert.equal(defaultFunctionToApply(undefined, 5), 'softmax');
});

test('softmax, sigmoid and none on a logits row', () => {
  const out = [0, 0];
  applyFunction('softmax', [1, 3], 0, 2, out);
  assert.ok(Math.abs(out[1]! - 1 / (1 + Math.exp(-2))) < 1e-15);
  assert.ok(Math.abs(out[0]! + out[1]! - 1) < 1e-15);
  applyFunction('softmax', [1000, 1001], 0, 2, out); // no overflow
  assert.ok(Number.isFinite(out[0]!) && Number.isFinite(out[1]!));
  applyFunction('sigmoid', [9, 0, -2], 1, 2, out);
  assert.deepEqual(out, [0.5, 1 / (1 + Math.exp(2))]);
  applyFunction('none', [9, -1.5, 2], 1, 2, out);
  assert.deepEqual(out, [-1.5, 2]);
});

test('predictions: best first, top-k, ties keep label order, unnamed columns LABEL_i', () => {
  const labels = ['a', 'b'];
  assert.deepEqual(toPredictions([0.2, 0.5, 0.3], { fn: 'none', labels, topK: Infinity }), [
    { label: 'b', score: 0.5 },
    { label: 'LABEL_2', score: 0.3 },
    { label: 'a', score: 0.2 },
  ]);
  assert.deepEqual(toPredictions([0.5, 0.5], { fn: 'none', labels, topK: 1 }), [{ label: 'a', score: 0.5 }]);
  assert.deepEqual(toPredictions([0.4, 0.5, 0.1], { fn: 'none', labels, topK: 2 }).map((p) => p.label), ['b', 'a']);
  const rows = postprocessLogits(new Float32Array([0, 2, 3, -1]), 2, 2, { fn: 'softmax', labels: ['N', 'P'], topK: 1 });
  assert.deepEqual(rows.map((r) => r[0]!.label), ['P', 'N']);
});

test('config: id2label, limits from tokenizer and position table', () => {
  assert.deepEqual(parseId2label({ '1': 'POS', '0': 'NEG' }), ['NEG', 'POS']);
  assert.deepEqual(parseId2label({ '2': 'x' }), ['LABEL_0', 'LABEL_1', 'x']);
  assert.equal(maxSequenceLength({ max_position_embeddings: 512 }, { model_max_length: 1e30 }), 512);
  assert.equal(maxSequenceLength({ max_position_embeddings: 514, model_type: 'roberta' }, {}), 512);
  assert.equal(maxSequenceLength({ max_position_embeddings: 2048 }, { model_max_length: 128 }), 128);
  assert.equal(maxSequenceLength({}, {}), 512);
  const c = readClassifierConfig(json('config.json'), json('tokenizer_config.json'));
  assert.deepEqual(c.id2label, ['NEGATIVE', 'POSITIVE']);
  assert.equal(c.problemType, 'single_label_classification');
  assert.equal(c.maxLength, 512);
});

test('ONNX file preference: quantized first on CPU, fp32 first on CUDA', () => {
  assert.equal(onnxCandidates('cpu')[0], 'onnx/model_quantized.onnx');
  assert.equal(onnxCandidates('cuda')[0], 'onnx/model.onnx');
  assert.ok(onnxCandidates('cpu').includes('model.onnx'));
});

test('tokenize: over-long text keeps [CLS] … [SEP] and the first 510 text tokens, like Python', () => {
  const enc = createTextEncoder(json('tokenizer.json'), json('tokenizer_config.json'), { maxLength: 512, typeIds: true });
  assert.equal(enc.truncation, 'python');
  assert.equal(enc.padId, 0);
  const short = enc.encode('I love this movie');
  assert.deepEqual(short, { ids: [101, 1045, 2293, 2023, 3185, 102], typeIds: [0, 0, 0, 0, 0, 0], truncated: false });
  const long = readImdb(200).find((r) => r.id === 'train_neg_35') ?? readImdb(200).sort((a, b) => b.text.length - a.text.length)[0]!;
  const e = enc.encode(long.text);
  assert.equal(e.truncated, true);
  assert.equal(e.ids.length, 512);
  assert.equal(e.ids[0], 101);
  assert.equal(e.ids[511], 102);
  assert.equal(e.typeIds?.length, 512);
  // Exactly 512 tokens is not truncated.
  const body = createTextEncoder(json('tokenizer.json'), json('tokenizer_config.json'), { maxLength: 10, typeIds: false });
  assert.deepEqual(body.encode('one two three four five six seven eight'), { ids: [101, 2028, 2048, 2093, 2176, 2274, 2416, 2698, 2809, 102], typeIds: undefined, truncated: false });
  assert.deepEqual(body.encode('one two three four five six seven eight nine').ids, [101, 2028, 2048, 2093, 2176, 2274, 2416, 2698, 2809, 102]);
  assert.equal(body.encode('one two three four five six seven eight nine').truncated, true);
  assert.deepEqual(body.encode(''), { ids: [101, 102], typeIds: undefined, truncated: false });
});

test('tokenize: a huge cell is cut before tokenizing with the same result as tokenizing it all', () => {
  const enc = createTextEncoder(json('tokenizer.json'), json('tokenizer_config.json'), { maxLength: 64, typeIds: false });
  const review = readImdb(50).map((r) => r.text).join(' ');
  const huge = (review + ' ').repeat(Math.ceil((64 * 70) / review.length) + 1);
  assert.ok(huge.length > 64 * 64);
  const cut = enc.encode(huge);
  // The reference: tokenize everything (no limit in sight), then truncate the Python way.
  const all = createTextEncoder(json('tokenizer.json'), json('tokenizer_config.json'), { maxLength: 1e6, typeIds: false }).encode(huge).ids;
  assert.ok(all.length > 64 * 8);
  assert.deepEqual(cut.ids, [...all.slice(0, 63), all[all.length - 1]]);
  assert.equal(cut.truncated, true);
  // No whitespace at all: falls back to tokenizing everything.
  assert.equal(enc.encode('x'.repeat(64 * 70)).ids.length, 3);
});

test('padBatch: right padding with the pad id, mask, token types, only the declared inputs', () => {
  const rows = [
    { ids: [101, 7, 102], typeIds: [0, 0, 0], truncated: false },
    { ids: [101, 102], typeIds: [0, 1], truncated: false },
  ];
  const feeds = padBatch(
    rows,
    [
      { name: 'input_ids', type: 'int64' },
      { name: 'attention_mask', type: 'int64' },
      { name: 'token_type_ids', type: 'int32' },
    ],
    { padId: 9, padSide: 'right' },
  );
  assert.deepEqual(feeds.input_ids!.dims, [2, 3]);
  assert.deepEqual(Array.from(feeds.input_ids!.data as BigInt64Array, Number), [101, 7, 102, 101, 102, 9]);
  assert.deepEqual(Array.from(feeds.attention_mask!.data as BigInt64Array, Number), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(feeds.token_type_ids!.data as Int32Array), [0, 0, 0, 0, 1, 0]);
  const left = padBatch(rows, [{ name: 'input_ids', type: 'int64' }, { name: 'attention_mask', type: 'int64' }], { padId: 0, padSide: 'left' });
  assert.deepEqual(Object.keys(left), ['input_ids', 'attention_mask']);
  assert.deepEqual(Array.from(left.input_ids!.data as BigInt64Array, Number), [101, 7, 102, 0, 101, 102]);
  assert.deepEqual(Array.from(left.attention_mask!.data as BigInt64Array, Number), [1, 1, 1, 0, 1, 1]);
  // int64 is written as two int32 words: the high word must carry the sign.
  const negative = padBatch(rows, [{ name: 'input_ids', type: 'int64' }], { padId: -1, padSide: 'right' });
  assert.deepEqual(Array.from(negative.input_ids!.data as BigInt64Array), [101n, 7n, 102n, 101n, 102n, -1n]);
});

/**
 * The tokenizer threads give exactly what the main thread's encoder gives, in order, and fail loudly once
 * closed rather than hanging.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startTokenizerPool } from '../src/backends/onnx/tokenizer-pool.js';
import { createTextEncoder, type EncoderOptions } from '../src/backends/onnx/tokenize.js';
import { BackendFatalError } from '../src/errors.js';
import { BOW, readImdb, sharedModel } from './support/onnx-models.js';

const json = (file: string) => JSON.parse(fs.readFileSync(path.join(sharedModel(BOW), file), 'utf8')) as Record<string, unknown>;

test('pool encodings equal the main-thread encoder, in input order, token types and truncation included', async () => {
  const tokenizer = json('tokenizer.json');
  const tokenizerConfig = json('tokenizer_config.json');
  const options: EncoderOptions = { maxLength: 128, typeIds: true };
  const encoder = createTextEncoder(tokenizer, tokenizerConfig, options);
  const texts = readImdb(97).map((r) => r.text);
  texts.splice(5, 0, '', 'ok', 'x '.repeat(10_000));
  const pool = await startTokenizerPool({ tokenizer, tokenizerConfig, options }, 3);
  try {
    const [a, b] = await Promise.all([pool.encode(texts), pool.encode(texts.slice(0, 7))]);
    for (const [got, from] of [[a, texts] as const, [b, texts.slice(0, 7)] as const]) {
      assert.equal(got.length, from.length);
      got.forEach((g, i) => {
        assert.ok(!('error' in g), `row ${i}`);
        const want = encoder.encode(from[i]!);
        assert.deepEqual(Array.from(g.ids), want.ids, `row ${i} ids`);
        assert.deepEqual(Array.from(g.typeIds!), want.typeIds, `row ${i} types`);
        assert.equal(g.truncated, want.truncated, `row ${i} truncated`);
      });
    }
    assert.deepEqual(await pool.encode([]), []);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.encode(['after close']), BackendFatalError);
});

/**
 * The local path's ceiling: a hand-written onnxruntime-node loop with the same session settings batchlabel
 * uses (intra-op threads = cores, one run at a time, all graph optimisations), over texts tokenized with
 * the model's own tokenizer (Python-style truncation to the model's maximum), sorted by length over the
 * whole set and cut into batches of at most `maxRows` rows and `maxTokens` padded tokens.
 *
 *   node dist/bench/lib/onnx-raw.js <model-folder> <onnx-file> <texts.json> <maxRows> <maxTokens> <pretokenized|tokenize>
 *
 * pretokenized: tokenizing and building the tensors happen before the clock starts (the baseline:
 * model time only). tokenize: tokenizing is timed too (for a model so small that tokenizing dominates).
 * Prints one JSON line: {"rows", "ms", "tokens", "padded", "batches", "loadMs"}.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';

const [folder, onnxFile, textsFile, maxRowsArg, maxTokensArg, mode] = process.argv.slice(2);
if (!folder || !onnxFile || !textsFile || !maxRowsArg || !maxTokensArg || (mode !== 'pretokenized' && mode !== 'tokenize')) {
  process.stderr.write('usage: onnx-raw <model-folder> <onnx-file> <texts.json> <maxRows> <maxTokens> <pretokenized|tokenize>\n');
  process.exit(2);
}
const maxRows = Number(maxRowsArg);
const maxTokens = Number(maxTokensArg);
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
const config = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8')) as { max_position_embeddings?: number };
const maxLength = Math.min(512, config.max_position_embeddings ?? 512);

interface HfTokenizer {
  encode(text: string): { ids: number[] };
}
const tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(path.join(folder, 'tokenizer_config.json'), 'utf8'))) as unknown as HfTokenizer;

const t0 = performance.now();
const session = await ort.InferenceSession.create(path.join(folder, onnxFile), {
  executionProviders: ['cpu'],
  intraOpNumThreads: os.availableParallelism(),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const loadMs = performance.now() - t0;
const wantsMask = session.inputNames.includes('attention_mask');
const wantsTypes = session.inputNames.includes('token_type_ids');

/** [CLS] text [SEP], right-truncated inside the special tokens (what Python's pipeline does for BERT). */
function encode(text: string): number[] {
  const ids = tokenizer.encode(text).ids;
  return ids.length <= maxLength ? ids : [...ids.slice(0, maxLength - 1), ids[ids.length - 1]!];
}

function plan(encoded: number[][]): number[][] {
  const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
  const batches: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    const len = encoded[i]!.length;
    if (cur.length && (cur.length >= maxRows || (cur.length + 1) * len > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

function feeds(encoded: number[][], batch: number[]): Record<string, ort.Tensor> {
  const width = Math.max(...batch.map((i) => encoded[i]!.length));
  const ids = new BigInt64Array(batch.length * width);
  const mask = new BigInt64Array(batch.length * width);
  batch.forEach((i, r) => {
    const row = encoded[i]!;
    for (let c = 0; c < row.length; c++) {
      ids[r * width + c] = BigInt(row[c]!);
      mask[r * width + c] = 1n;
    }
  });
  const dims = [batch.length, width];
  const out: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, dims) };
  if (wantsMask) out.attention_mask = new ort.Tensor('int64', mask, dims);
  if (wantsTypes) out.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch.length * width), dims);
  return out;
}

// Warm-up outside the clock: the first runs allocate and pick kernels.
for (let k = 0; k < 2; k++) await session.run(feeds([encode(texts[0]!)], [0]));

let padded = 0;
let tokens = 0;
let batches = 0;
let checksum = 0;
async function runAll(encoded: number[][], prepared?: Record<string, ort.Tensor>[]) {
  const plan_ = plan(encoded);
  batches = plan_.length;
  for (let b = 0; b < plan_.length; b++) {
    const f = prepared ? prepared[b]! : feeds(encoded, plan_[b]!);
    const out = await session.run(f);
    const logits = out[session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!]!;
    checksum += (logits.data as Float32Array)[0]!;
  }
  for (const b of plan_) {
    const width = Math.max(...b.map((i) => encoded[i]!.length));
    padded += width * b.length;
    for (const i of b) tokens += encoded[i]!.length;
  }
}

let ms: number;
if (mode === 'pretokenized') {
  const encoded = texts.map(encode);
  const prepared = plan(encoded).map((b) => feeds(encoded, b));
  const start = performance.now();
  await runAll(encoded, prepared);
  ms = performance.now() - start;
} else {
  const start = performance.now();
  const encoded = texts.map(encode);
  await runAll(encoded);
  ms = performance.now() - start;
}
await session.release();
if (!Number.isFinite(checksum)) throw new Error('non-finite logits');
process.stdout.write(`${JSON.stringify({ rows: texts.length, ms, tokens, padded, batches, loadMs })}\n`);

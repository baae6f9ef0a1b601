/**
 * The zero-shot ceiling: a hand-written onnxruntime-node loop over (review, hypothesis) pairs tokenized
 * before the clock starts (the tokenizer's own pair encoding, premise cut `only_first` as Python does),
 * sorted by length over the whole set and cut into batches of at most `maxRows` pairs and `maxTokens`
 * padded tokens, tensors built before the clock. Only session.run is timed, with batchlabel's session
 * settings (spinning off included). Then the same softmax over each review's entailment logits, so the work is the same.
 *
 *   node dist/bench/lib/zero-shot-raw.js <model-folder> <onnx-file> <texts.json> <labels,comma,separated> <maxRows> <maxTokens> <pretokenized|tokenize>
 *
 * pretokenized: the baseline of the target (model time only). tokenize: the clock also covers the
 * tokenizing this loop needs at least, on this one thread: each review once and each hypothesis once
 * (without special tokens), pairs assembled as [CLS] review [SEP] hypothesis [SEP], and the tensors.
 * Prints one JSON line: {"rows", "pairs", "ms", "batches", "padded"}.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import ort from 'onnxruntime-node';

const [folder, onnxFile, textsFile, labelsArg, maxRowsArg, maxTokensArg, mode] = process.argv.slice(2);
if (!folder || !onnxFile || !textsFile || !labelsArg || !maxRowsArg || !maxTokensArg || (mode !== 'pretokenized' && mode !== 'tokenize')) {
  process.stderr.write('usage: zero-shot-raw <model-folder> <onnx-file> <texts.json> <labels> <maxRows> <maxTokens> <pretokenized|tokenize>\n');
  process.exit(2);
}
const texts = JSON.parse(readFileSync(textsFile, 'utf8')) as string[];
const labels = labelsArg.split(',');
const maxRows = Number(maxRowsArg);
const maxTokens = Number(maxTokensArg);
const read = (name: string) => JSON.parse(readFileSync(path.join(folder, name), 'utf8')) as Record<string, unknown>;
const tokenizerConfig = read('tokenizer_config.json');
const tokenizer = new Tokenizer(read('tokenizer.json'), tokenizerConfig) as unknown as {
  encode(t: string, o?: Record<string, unknown>): { ids: number[]; token_type_ids?: number[] };
  token_to_id(t: string): number | undefined;
};
const max = tokenizerConfig.model_max_length as number;
const sep = tokenizer.token_to_id(tokenizerConfig.sep_token as string)!;
const label2id = read('config.json').label2id as Record<string, number>;
const entailName = Object.keys(label2id).find((l) => l.toLowerCase().startsWith('entail'));

const session = await ort.InferenceSession.create(path.join(folder, onnxFile), {
  executionProviders: ['cpu'],
  intraOpNumThreads: os.availableParallelism(),
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  // Idle pool threads sleep, as in batchlabel's session: with spinning this loop took 487-799 ms for 2,400
  // pairs against 265-427 ms without (interleaved runs, load ~10 on the shared 2 cores), so the stronger
  // baseline is this one.
  extra: { session: { intra_op: { allow_spinning: '0' } } },
});

interface Pair {
  text: number;
  ids: number[];
  types: number[];
}

/** The tokenizer's own pair encoding, premise cut only_first (before the first [SEP]). */
function encodePairs(): Pair[] {
  const pairs: Pair[] = [];
  texts.forEach((text, t) => {
    for (const label of labels) {
      const e = tokenizer.encode(text, { text_pair: `This example is ${label}.`, return_token_type_ids: true });
      let { ids } = e;
      let types = e.token_type_ids!;
      if (ids.length > max) {
        const s = ids.indexOf(sep);
        const cut = ids.length - max;
        ids = [...ids.slice(0, s - cut), ...ids.slice(s)];
        types = [...types.slice(0, s - cut), ...types.slice(s)];
      }
      pairs.push({ text: t, ids, types });
    }
  });
  return pairs;
}

/** The least tokenizing zero-shot needs: each review once, each hypothesis once, pairs assembled. */
function assemblePairs(): Pair[] {
  const cls = tokenizer.token_to_id(tokenizerConfig.cls_token as string)!;
  const hyps = labels.map((l) => tokenizer.encode(`This example is ${l}.`, { add_special_tokens: false }).ids);
  const pairs: Pair[] = [];
  texts.forEach((text, t) => {
    const premise = tokenizer.encode(text, { add_special_tokens: false }).ids;
    for (const h of hyps) {
      const keep = Math.min(premise.length, max - 3 - h.length);
      const ids = [cls, ...premise.slice(0, keep), sep, ...h, sep];
      const types = ids.map((_, i) => (i < keep + 2 ? 0 : 1));
      pairs.push({ text: t, ids, types });
    }
  });
  return pairs;
}

function planBatches(pairs: Pair[]): number[][] {
  const order = pairs.map((_, i) => i).sort((a, b) => pairs[a]!.ids.length - pairs[b]!.ids.length);
  const batches: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    const len = pairs[i]!.ids.length;
    if (cur.length && (cur.length >= maxRows || (cur.length + 1) * len > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

let padded = 0;
function feedsOf(pairs: Pair[], b: number[]): Record<string, ort.Tensor> {
  const width = Math.max(...b.map((i) => pairs[i]!.ids.length));
  padded += width * b.length;
  const ids = new BigInt64Array(b.length * width);
  const mask = new BigInt64Array(b.length * width);
  const types = new BigInt64Array(b.length * width);
  b.forEach((i, r) => {
    const p = pairs[i]!;
    for (let c = 0; c < p.ids.length; c++) {
      ids[r * width + c] = BigInt(p.ids[c]!);
      mask[r * width + c] = 1n;
      types[r * width + c] = BigInt(p.types[c]!);
    }
  });
  const dims = [b.length, width];
  const all: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, dims), attention_mask: new ort.Tensor('int64', mask, dims), token_type_ids: new ort.Tensor('int64', types, dims) };
  return Object.fromEntries(session.inputNames.map((name) => [name, all[name]!]));
}

{
  // Warm-up outside the clock: the first runs allocate and pick kernels.
  const warm = encodePairs().slice(0, 4);
  for (let k = 0; k < 2; k++) await session.run(feedsOf(warm, [0, 1, 2, 3]));
  padded = 0;
}

async function runAll(pairs: Pair[], batches: number[][], prepared: Record<string, ort.Tensor>[] | undefined): Promise<number> {
  const entail = new Float64Array(pairs.length);
  for (let b = 0; b < batches.length; b++) {
    const out = await session.run(prepared ? prepared[b]! : feedsOf(pairs, batches[b]!));
    const data = out[session.outputNames[0]!]!.data as Float32Array;
    const n = data.length / batches[b]!.length;
    const entailment = entailName === undefined ? n - 1 : label2id[entailName]!;
    batches[b]!.forEach((i, r) => (entail[i] = data[r * n + entailment]!));
  }
  let checksum = 0;
  for (let t = 0; t < texts.length; t++) {
    let sum = 0;
    for (let j = 0; j < labels.length; j++) sum += Math.exp(entail[t * labels.length + j]!);
    checksum += Math.exp(entail[t * labels.length]!) / sum;
  }
  return checksum;
}

let ms: number;
let checksum: number;
let pairCount: number;
let batchCount: number;
if (mode === 'pretokenized') {
  const pairs = encodePairs();
  const batches = planBatches(pairs);
  const prepared = batches.map((b) => feedsOf(pairs, b));
  const start = performance.now();
  checksum = await runAll(pairs, batches, prepared);
  ms = performance.now() - start;
  pairCount = pairs.length;
  batchCount = batches.length;
} else {
  const start = performance.now();
  const pairs = assemblePairs();
  const batches = planBatches(pairs);
  checksum = await runAll(pairs, batches, undefined);
  ms = performance.now() - start;
  pairCount = pairs.length;
  batchCount = batches.length;
}
await session.release();
if (!Number.isFinite(checksum)) throw new Error('non-finite scores');
process.stdout.write(`${JSON.stringify({ rows: texts.length, pairs: pairCount, ms, batches: batchCount, padded })}\n`);

/**
 * Two references for zero-shot on a local NLI folder, both one text and one label at a time, with no
 * batching or padding:
 *
 * - pythonZeroShot: Python transformers' ZeroShotClassificationPipeline semantics, written independently of
 *   src/: each pair is encoded whole by the tokenizer (its own pair template), then cut `only_first` by
 *   dropping premise tokens before the first [SEP]; onnxruntime on batches of one; postprocess as numpy
 *   writes it (`np.exp(x) / np.exp(x).sum()`, no max subtracted).
 * - transformersJsZeroShot: @huggingface/transformers' zero-shot-classification pipeline, offline, as a user
 *   would call it. It truncates differently on long texts (it cuts the encoded pair at the end, hypothesis
 *   included), so it is compared on texts that fit only.
 */
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import type { Prediction } from '../../src/backends/classifier.js';

export interface ZeroShotReferenceRow {
  predictions: Prediction[];
  truncated: boolean;
  /** Tokens of the longest pair before truncation. */
  fullLength: number;
}

export interface ZeroShotCall {
  labels: readonly string[];
  template?: string;
  multiLabel?: boolean;
}

interface RefTokenizer {
  encode(t: string, o?: Record<string, unknown>): { ids: number[]; token_type_ids?: number[] };
  token_to_id(t: string): number | undefined;
}

const readJson = (folder: string, name: string) => JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')) as Record<string, unknown>;

export async function pythonZeroShot(folder: string, texts: readonly string[], call: ZeroShotCall): Promise<ZeroShotReferenceRow[]> {
  const tokenizerConfig = readJson(folder, 'tokenizer_config.json');
  const tokenizer = new Tokenizer(readJson(folder, 'tokenizer.json'), tokenizerConfig) as unknown as RefTokenizer;
  const config = readJson(folder, 'config.json') as { label2id: Record<string, number> };
  const max = tokenizerConfig.model_max_length as number;
  const sep = tokenizer.token_to_id(tokenizerConfig.sep_token as string)!;
  const session = await ort.InferenceSession.create(path.join(folder, 'onnx', 'model.onnx'));
  // entailment_id: the first label2id name starting with "entail", else -1; contradiction_id = -1 if entailment_id == 0 else 0.
  const entailName = Object.keys(config.label2id).find((l) => l.toLowerCase().startsWith('entail'));
  const entailmentId = entailName === undefined ? -1 : config.label2id[entailName]!;
  const contradictionId = entailmentId === 0 ? -1 : 0;
  const template = call.template ?? 'This example is {}.';
  const out: ZeroShotReferenceRow[] = [];
  try {
    for (const text of texts) {
      const logits: number[][] = [];
      let truncated = false;
      let fullLength = 0;
      for (const label of call.labels) {
        const e = tokenizer.encode(text, { text_pair: template.replace('{}', label), return_token_type_ids: true });
        let ids = e.ids;
        let types = e.token_type_ids!;
        fullLength = Math.max(fullLength, ids.length);
        if (ids.length > max) {
          const firstSep = ids.indexOf(sep);
          const toRemove = ids.length - max;
          ids = [...ids.slice(0, firstSep - toRemove), ...ids.slice(firstSep)];
          types = [...types.slice(0, firstSep - toRemove), ...types.slice(firstSep)];
          truncated = true;
        }
        const t = (a: number[]) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [1, a.length]);
        const feeds: Record<string, ort.Tensor> = { input_ids: t(ids), attention_mask: t(ids.map(() => 1)) };
        if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = t(types);
        const result = await session.run(feeds);
        logits.push(Array.from(result[session.outputNames[0]!]!.data as Float32Array));
      }
      const at = (row: number[], i: number) => row[i < 0 ? row.length + i : i]!;
      let scores: number[];
      if (call.multiLabel || call.labels.length === 1) {
        scores = logits.map((row) => {
          const c = Math.exp(at(row, contradictionId));
          const en = Math.exp(at(row, entailmentId));
          return en / (c + en);
        });
      } else {
        const ex = logits.map((row) => Math.exp(at(row, entailmentId)));
        const sum = ex.reduce((a, b) => a + b, 0);
        scores = ex.map((x) => x / sum);
      }
      // top_inds = list(reversed(scores[0].argsort())): ascending stable sort, reversed.
      const order = scores.map((_, j) => j).sort((a, b) => scores[a]! - scores[b]! || a - b).reverse();
      out.push({ predictions: order.map((j) => ({ label: call.labels[j]!, score: scores[j]! })), truncated, fullLength });
    }
  } finally {
    await session.release();
  }
  return out;
}

/** transformers.js' zero-shot pipeline on the folder (loaded as a BERT model: it refuses unknown model types). */
export async function transformersJsZeroShot(folder: string, texts: readonly string[], call: ZeroShotCall): Promise<Prediction[][]> {
  const pipe = await loadTransformersJsZeroShot(folder);
  try {
    const out: Prediction[][] = [];
    for (const text of texts) {
      const r = (await pipe(text, [...call.labels], { hypothesis_template: call.template ?? 'This example is {}.', multi_label: call.multiLabel === true })) as { labels: string[]; scores: number[] };
      out.push(r.labels.map((label, i) => ({ label, score: r.scores[i]! })));
    }
    return out;
  } finally {
    await pipe.dispose();
  }
}

export type TjsZeroShot = ((text: string | string[], labels: string[], o: Record<string, unknown>) => Promise<unknown>) & { dispose(): Promise<void> };

export async function loadTransformersJsZeroShot(folder: string): Promise<TjsZeroShot> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.logLevel = tjs.LogLevel.ERROR;
  tjs.env.localModelPath = path.dirname(folder) + path.sep;
  const name = path.basename(folder);
  const config = await tjs.AutoConfig.from_pretrained(name);
  // The BoW pair graph takes BERT's inputs (ids, mask, token types): same ONNX file, same tokenizer.
  Object.assign(config, { model_type: 'bert', architectures: ['BertForSequenceClassification'] });
  return (await tjs.pipeline('zero-shot-classification', name, { dtype: 'fp32', config } as never)) as unknown as TjsZeroShot;
}

/** Largest score difference between two runs' predictions, label by label; undefined if the label sets differ. */
export function maxScoreDiff(a: readonly Prediction[], b: readonly Prediction[]): number | undefined {
  if (a.length !== b.length) return undefined;
  const other = new Map(b.map((p) => [p.label, p.score]));
  let max = 0;
  for (const p of a) {
    const s = other.get(p.label);
    if (s === undefined) return undefined;
    max = Math.max(max, Math.abs(p.score - s));
  }
  return max;
}

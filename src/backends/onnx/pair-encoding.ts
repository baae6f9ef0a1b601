/**
 * Two texts in one sequence, BERT-style: `[CLS] first [SEP] second [SEP]`, with token_type_ids 0 for the
 * first part and 1 for the second (whatever the model's tokenizer.json post-processor says: learned once by
 * probing it, as tokenize.ts learns the single-text wrap). Each text is tokenized once without special
 * tokens (a zero-shot hypothesis once per run, a premise once for all its labels); a pair is then only
 * lengths, and its ids are written straight into the batch tensors.
 *
 * Truncation is Python's (tokenizers' `truncate_encodings`, tokenizers/src/utils/truncation.rs, applied
 * to `max_length - added_tokens` as `TokenizerImpl::post_process` does).
 */
import type ort from 'onnxruntime-node';
import { InputBuffer, type GraphInput, type PadSpec } from './tensors.js';

/** Special tokens at one place of the pair, with their segment ids. */
export interface SpecialTokens {
  ids: number[];
  types: number[];
}

export interface PairLayout {
  prefix: SpecialTokens;
  middle: SpecialTokens;
  suffix: SpecialTokens;
  /** Segment id of the first and of the second text's tokens. */
  firstType: number;
  secondType: number;
  /** Special tokens in all: prefix + middle + suffix. */
  special: number;
}

interface PairTokenizer {
  encode(text: string, options?: { text_pair?: string; add_special_tokens?: boolean; return_token_type_ids?: boolean }): { ids: number[]; token_type_ids?: number[] };
}

function indexOfRun(haystack: readonly number[], needle: readonly number[], from: number): number {
  for (let p = from; p + needle.length <= haystack.length; p++) {
    if (needle.every((id, i) => haystack[p + i] === id)) return p;
  }
  return -1;
}

/** Where the post-processor puts its special tokens around two texts; undefined if it is not such a wrap. */
export function learnPairLayout(tokenizer: PairTokenizer): PairLayout | undefined {
  const a = 'hello world, this is the first probe';
  const b = 'and this one is the second';
  let full: { ids: number[]; token_type_ids?: number[] };
  try {
    full = tokenizer.encode(a, { text_pair: b, return_token_type_ids: true });
  } catch {
    return undefined;
  }
  const bareA = tokenizer.encode(a, { add_special_tokens: false }).ids;
  const bareB = tokenizer.encode(b, { add_special_tokens: false }).ids;
  const types = full.token_type_ids ?? new Array<number>(full.ids.length).fill(0);
  const p = indexOfRun(full.ids, bareA, 0);
  if (p < 0) return undefined;
  const q = indexOfRun(full.ids, bareB, p + bareA.length);
  if (q < 0) return undefined;
  const part = (from: number, to: number): SpecialTokens => ({ ids: full.ids.slice(from, to), types: types.slice(from, to) });
  const prefix = part(0, p);
  const middle = part(p + bareA.length, q);
  const suffix = part(q + bareB.length, full.ids.length);
  return { prefix, middle, suffix, firstType: types[p]!, secondType: types[q]!, special: prefix.ids.length + middle.ids.length + suffix.ids.length };
}

/** Tokens kept of each text. */
export interface PairCut {
  first: number;
  second: number;
}

/**
 * `only_first`: the first text is cut, the second always survives (zero-shot: the premise is cut, the
 * hypothesis kept). truncation.rs: `if target_len > to_remove { target.truncate(target_len - to_remove) }
 * else { Err(SequenceTooShort) }`; on that error the Python pipeline tokenizes again with
 * DO_NOT_TRUNCATE (zero_shot_classification.py `_parse_and_tokenize`, `if "too short" in str(e)`), so then
 * nothing is cut.
 */
export function onlyFirst(first: number, second: number, maxLength: number, special: number): PairCut {
  const toRemove = first + second + special - maxLength;
  if (toRemove <= 0 || first <= toRemove) return { first, second };
  return { first: first - toRemove, second };
}

/**
 * `longest_first` (the text-classification pipeline's default for pairs), as truncation.rs computes it:
 * with n1 the shorter, n2 = max(n1, max - n1) (n1 itself if n1 > max); if both still exceed, each gets half
 * (the longer one the odd token).
 */
export function longestFirst(first: number, second: number, maxLength: number, special: number): PairCut {
  const max = maxLength - special;
  if (first + second <= max) return { first, second };
  const swap = first > second;
  let n1 = swap ? second : first;
  let n2 = n1 > max ? n1 : Math.max(n1, max - n1);
  if (n1 + n2 > max) {
    n1 = Math.floor(max / 2);
    n2 = n1 + (max % 2);
  }
  const [a, b] = swap ? [n2, n1] : [n1, n2];
  return { first: Math.min(first, a), second: Math.min(second, b) };
}

/** One pair of a batch: the two texts' ids (without special tokens) and how many of each are kept. */
export interface PairRow {
  first: ArrayLike<number>;
  second: ArrayLike<number>;
  cut: PairCut;
}

export function pairLength(layout: PairLayout, cut: PairCut): number {
  return layout.special + cut.first + cut.second;
}

/**
 * The feeds of one batch of pairs, padded to its longest pair: each pair's ids and segment ids written in
 * place (no per-pair array), the same tensors padBatch would build from the encoded pairs.
 */
export function padPairs(rows: readonly PairRow[], inputs: readonly GraphInput[], pad: PadSpec, layout: PairLayout): Record<string, ort.Tensor> {
  const n = rows.length;
  let width = 0;
  for (const r of rows) width = Math.max(width, pairLength(layout, r.cut));
  const { prefix, middle, suffix, firstType, secondType } = layout;
  const starts = rows.map((r, i) => i * width + (pad.padSide === 'left' ? width - pairLength(layout, r.cut) : 0));
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of inputs) {
    const values = new InputBuffer(input.type, n * width);
    rows.forEach((r, i) => {
      const at = starts[i]!;
      if (input.name === 'attention_mask') return values.fill(1, at, at + pairLength(layout, r.cut));
      const ids = input.name === 'input_ids';
      // prefix, first text, middle, second text, suffix
      let p = at;
      const special = (s: SpecialTokens) => {
        values.write(p, ids ? s.ids : s.types, 0, s.ids.length);
        p += s.ids.length;
      };
      const text = (t: ArrayLike<number>, count: number, type: number) => {
        if (ids) values.write(p, t, 0, count);
        else if (type !== 0) values.fill(type, p, p + count);
        p += count;
      };
      special(prefix);
      text(r.first, r.cut.first, firstType);
      special(middle);
      text(r.second, r.cut.second, secondType);
      special(suffix);
    });
    if (input.name === 'input_ids' && pad.padId !== 0) {
      rows.forEach((r, i) => {
        const length = pairLength(layout, r.cut);
        const row = i * width;
        if (pad.padSide === 'left') values.fill(pad.padId, row, row + width - length);
        else values.fill(pad.padId, row + length, row + width);
      });
    }
    feeds[input.name] = values.tensor([n, width]);
  }
  return feeds;
}

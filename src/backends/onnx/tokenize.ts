/**
 * Text → token ids with the model's own tokenizer.json, truncated the way Python's tokenizers do it.
 *
 * @huggingface/tokenizers neither truncates nor pads. Python truncates the text's tokens first and then adds
 * the special tokens, so an over-long review still ends with [SEP]; transformers.js instead cuts the final
 * ids and loses the [SEP]. We want Python's answer, so we learn once where the post-processor puts its
 * special tokens (a prefix and a suffix around the text, e.g. [CLS] … [SEP]) and cut between them.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { BackendFatalError } from '../../errors.js';
import { lazyFastBertEncoder } from './bert-fast.js';
import { learnPairLayout, type PairLayout } from './pair-encoding.js';

/** Plain arrays from encode(); views into one shared Int32Array when they come from a tokenizer worker. */
export interface Encoded<A extends ArrayLike<number> = ArrayLike<number>> {
  ids: A;
  /** Segment ids, only when the model takes token_type_ids. */
  typeIds: A | undefined;
  /** The text had more tokens than the model takes, and its end was dropped. */
  truncated: boolean;
}

export interface TextEncoder {
  readonly maxLength: number;
  readonly padId: number;
  readonly padSide: 'right' | 'left';
  /** 'python': cut inside the special tokens; 'cut': the post-processor is not a plain wrap, ids are cut at the end. */
  readonly truncation: 'python' | 'cut';
  encode(text: string): Encoded<number[]>;
  /**
   * A text's tokens without special tokens, for one side of a pair (see pair-encoding.ts). Not cut, but for a
   * pathological cell: then only a prefix already longer than the model takes (truncated: true).
   */
  encodeSegment(text: string): Encoded<number[]>;
  /** How the tokenizer puts two texts in one sequence; undefined if its post-processor is not such a wrap. */
  readonly pair: PairLayout | undefined;
  /** 'bert-fast': ids from bert-fast.ts (the same ids, faster); 'library': @huggingface/tokenizers for everything. */
  readonly tokenizerPath: 'bert-fast' | 'library';
  /**
   * Get ready for a stream of texts: build the fast path's tables now and tokenize a sample paragraph until
   * the JIT has compiled the hot loops. A tokenizer thread does this at start, while the main thread is
   * still loading; without it its first window of 64 IMDB reviews took ~38 ms against ~3-8 ms for the
   * next ones (zero-shot, BoW NLI model, where a window's model runs take ~10 ms).
   */
  warmUp(): void;
}

/**
 * The warm-up sample; each round suffixes every word with the round number, so that the words are new to
 * the fast path's word cache and WordPiece itself runs (a repeated text would only exercise cache hits).
 */
const WARM_UP_WORDS = (
  "I watched this film twice: the first time in 1998, and again last week. It's a quiet, well-acted drama (Ms. O'Hara " +
  'is superb, the café scenes in Zürich naïvely charming) whose second half drags -- but the ending, with its long ' +
  'single take, is worth the wait!<br /><br />8/10, would recommend to anyone patient.'
).split(' ');
const WARM_UP_ROUNDS = 60;

export interface EncoderOptions {
  /** Tokens per sequence, special tokens included. */
  maxLength: number;
  /** Produce token_type_ids (only if the graph declares that input). */
  typeIds: boolean;
  /** config.json pad_token_id, used when the tokenizer names no pad token. */
  padTokenId?: number;
}

/**
 * The part of @huggingface/tokenizers we use. Its published .d.ts files use extensionless relative imports,
 * which NodeNext resolution cannot follow (the class arrives as `any`), so the shape is spelled out here.
 */
interface HfTokenizer {
  encode(text: string, options?: { text_pair?: string; add_special_tokens?: boolean; return_token_type_ids?: boolean }): { ids: number[]; token_type_ids?: number[] };
  token_to_id(token: string): number | undefined;
}

/** How the post-processor wraps a single sequence: `prefix ++ text ++ suffix`. */
interface Wrap {
  prefix: number;
  suffix: number;
  /** The probe's full encoding, from which a static wrap's ids and segment ids are copied. */
  ids: number[];
  types: number[];
}

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

function findWrap(tokenizer: HfTokenizer): Wrap | undefined {
  const probe = 'hello world, this is a probe';
  const encoded = tokenizer.encode(probe, { return_token_type_ids: true });
  const full = encoded.ids;
  const types = encoded.token_type_ids ?? new Array<number>(full.length).fill(0);
  const bare = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  if (bare.length === 0) return undefined;
  for (let p = 0; p + bare.length <= full.length; p++) {
    if (bare.every((id, i) => full[p + i] === id)) return { prefix: p, suffix: full.length - p - bare.length, ids: full, types };
  }
  return undefined;
}

/** Texts the library tokenizes before the fast path's tables are built (see lazyFastBertEncoder). */
const FAST_AFTER_TEXTS = 16;

/** Beyond this many characters per allowed token a text is surely over-long; see encodeHuge. */
const HUGE_CHARS_PER_TOKEN = 64;
const PROBE_CHARS_PER_TOKEN = 32;

export function createTextEncoder(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, options: EncoderOptions): TextEncoder {
  let tokenizer: HfTokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig) as HfTokenizer;
  } catch (err) {
    throw new BackendFatalError(`tokenizer.json cannot be loaded: ${(err as Error).message}`, 'E_MODEL_FILES');
  }
  const wrap = findWrap(tokenizer);
  const special = wrap ? wrap.prefix + wrap.suffix : 0;
  const maxLength = options.maxLength;
  if (special >= maxLength) {
    throw new BackendFatalError(`the tokenizer adds ${special} special tokens but the model takes only ${maxLength}`, 'E_MODEL_FILES');
  }
  const padName = tokenName(tokenizerConfig.pad_token);
  const padId = (padName !== undefined ? tokenizer.token_to_id(padName) : undefined) ?? options.padTokenId ?? 0;
  const padSide = tokenizerConfig.padding_side === 'left' ? 'left' : 'right';
  const wantTypes = options.typeIds;

  function truncate(ids: number[], types: number[] | undefined): Encoded<number[]> {
    if (!wrap) {
      return { ids: ids.slice(0, maxLength), typeIds: types?.slice(0, maxLength), truncated: true };
    }
    // Keep prefix, the first (max - special) text tokens, and the suffix: Python's right truncation.
    const keep = maxLength - special;
    const cut = <T>(a: T[]) => [...a.slice(0, wrap.prefix + keep), ...a.slice(a.length - wrap.suffix)];
    return { ids: cut(ids), typeIds: types && cut(types), truncated: true };
  }

  // Ids without special tokens: the BERT fast path where the tokenizer is exactly that (bert-fast.ts).
  const lazy = wrap ? lazyFastBertEncoder(tokenizerJson, tokenizerConfig, tokenizer, FAST_AFTER_TEXTS) : undefined;
  const fast = lazy?.encode;
  const bare = fast ?? ((text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids);

  /**
   * The fast path's ids wrapped as the post-processor wraps them (it only runs for TemplateProcessing and
   * BertProcessing, whose single-sequence wrap is the same for every text).
   */
  function encodeWrapped(text: string): { ids: number[]; token_type_ids: number[] } {
    const w = wrap!;
    const body = fast!(text);
    const n = body.length;
    const ids = new Array<number>(w.prefix + n + w.suffix);
    const types = new Array<number>(ids.length);
    const bodyType = w.types[w.prefix] ?? 0;
    for (let k = 0; k < w.prefix; k++) {
      ids[k] = w.ids[k]!;
      types[k] = w.types[k]!;
    }
    for (let k = 0; k < n; k++) {
      ids[w.prefix + k] = body[k]!;
      types[w.prefix + k] = bodyType;
    }
    const from = w.ids.length - w.suffix;
    for (let k = 0; k < w.suffix; k++) {
      ids[w.prefix + n + k] = w.ids[from + k]!;
      types[w.prefix + n + k] = w.types[from + k]!;
    }
    return { ids, token_type_ids: types };
  }

  const encodeSpecial = (text: string) => (fast ? encodeWrapped(text) : tokenizer.encode(text, { return_token_type_ids: wantTypes }));

  function encodeFull(text: string): Encoded<number[]> {
    const e = encodeSpecial(text);
    const types = wantTypes ? (e.token_type_ids ?? new Array<number>(e.ids.length).fill(0)) : undefined;
    if (e.ids.length <= maxLength) return { ids: e.ids, typeIds: types, truncated: false };
    return truncate(e.ids, types);
  }

  /**
   * A pathological cell (megabytes of text) would cost seconds to tokenize only to keep 512 tokens. Cut it
   * at a whitespace boundary (after a non-space), tokenize that prefix, and use it only if it alone already
   * exceeds the limit: pre-tokenizers split at whitespace, so the prefix's tokens are exactly the first
   * tokens of the whole text. Otherwise tokenize everything, as usual.
   */
  function encodeHuge(text: string): Encoded<number[]> {
    let c = maxLength * PROBE_CHARS_PER_TOKEN;
    while (c > 0 && !(/\s/.test(text[c]!) && !/\s/.test(text[c - 1]!))) c--;
    if (c > 0) {
      const e = encodeSpecial(text.slice(0, c));
      if (e.ids.length > maxLength) {
        const types = wantTypes ? (e.token_type_ids ?? new Array<number>(e.ids.length).fill(0)) : undefined;
        return truncate(e.ids, types);
      }
    }
    return encodeFull(text);
  }

  /** As encodeHuge, for a segment: the prefix's own tokens when they already exceed what any pair keeps. */
  function encodeSegment(text: string): Encoded<number[]> {
    if (text.length > maxLength * HUGE_CHARS_PER_TOKEN) {
      let c = maxLength * PROBE_CHARS_PER_TOKEN;
      while (c > 0 && !(/\s/.test(text[c]!) && !/\s/.test(text[c - 1]!))) c--;
      if (c > 0) {
        const ids = bare(text.slice(0, c));
        if (ids.length > maxLength) return { ids, typeIds: undefined, truncated: true };
      }
    }
    return { ids: bare(text), typeIds: undefined, truncated: false };
  }

  return {
    maxLength,
    padId,
    padSide,
    truncation: wrap ? 'python' : 'cut',
    encode: (text) => (wrap && text.length > maxLength * HUGE_CHARS_PER_TOKEN ? encodeHuge(text) : encodeFull(text)),
    encodeSegment,
    pair: learnPairLayout(tokenizer),
    tokenizerPath: fast ? 'bert-fast' : 'library',
    warmUp: () => {
      lazy?.build();
      for (let k = 0; k < WARM_UP_ROUNDS; k++) bare(WARM_UP_WORDS.map((w) => w + k).join(' '));
    },
  };
}

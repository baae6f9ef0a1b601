/**
 * A faster path to exactly the ids @huggingface/tokenizers gives (without special tokens) for a tokenizer.json
 * that is BertNormalizer + BertPreTokenizer + WordPiece, the bert-base-uncased family. The library costs
 * ~0.55 ms per IMDB review (regexes and arrays per word); on the BoW NLI model that is more than the model
 * time of the review's four zero-shot pairs.
 *
 * Why splitting helps without changing a single id: every step of that pipeline is local to the runs of
 * text between ASCII whitespace (space, tab, CR, LF). clean_text maps each of them to a space; the CJK
 * spacing, the NFD decomposition and the removal of combining marks work per character or within a run of
 * combining marks, which a space (a starter) ends; lowercasing looks at context only for a final sigma, whose
 * context never crosses a space; the pre-tokenizer splits at every space; WordPiece works per pre-token.
 * So the ids of a text are the ids of its whitespace-separated words, concatenated, and a word's ids can be
 * cached (reviews share most of their words). A word of printable ASCII is encoded here (lowercase, one
 * pre-token per punctuation character, greedy longest-match WordPiece, as the library does); any other word
 * is handed to the library alone. A text that contains an added token (e.g. "[SEP]") goes to the library
 * whole, since added tokens are matched in the raw text before anything else.
 * test/bert-fast.test.ts compares the ids with the library's on thousands of real reviews and odd strings.
 */

/** The library's encode, as tokenize.ts uses it, and its token → id table when it can be read. */
interface LibraryTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  model?: { tokens_to_ids?: unknown };
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
}

/** What one ASCII code unit is to BertNormalizer (clean_text) + BertPreTokenizer. */
const enum Ascii {
  /** Removed by clean_text (a control character other than tab, CR, LF). */
  Dropped = 0,
  /** Ends a word (clean_text makes it a space). */
  Space = 1,
  /** A pre-token of its own (the library's PUNCTUATION_REGEX holds every printable ASCII non-alphanumeric). */
  Punct = 2,
  /** Part of a pre-token. */
  Word = 3,
}

/** The Dropped class (tab, CR and LF end words before this is used). */
const DROPPED_ALL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

const ASCII_CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) t[c] = Ascii.Space;
    else if (c < 0x20 || c === 0x7f) t[c] = Ascii.Dropped;
    else if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) t[c] = Ascii.Word;
    else t[c] = Ascii.Punct;
  }
  return t;
})();

/**
 * Words cached per encoder. ~30k distinct words cover most of IMDB's running text; when the cache is full it
 * starts again (cheaper than keeping an LRU order on every hit). Long words are rare and not cached.
 */
const CACHE_WORDS = 1 << 17;
const CACHE_WORD_CHARS = 48;

const OTHER_WORDS = 1 << 14;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/**
 * ASCII word → ids, an open-addressing table over the text's own characters: a hit costs no substring and
 * no Map hashing (a Map keyed by sliced words cost ~120 ns a word here, most of the fast path's time).
 */
class WordCache {
  private readonly slots = new Int32Array(CACHE_WORDS * 2);
  private readonly mask = CACHE_WORDS * 2 - 1;
  /** Entries from 1 (0 marks an empty slot). */
  private keys: string[] = [''];
  private readonly hashes = new Int32Array(CACHE_WORDS);
  private readonly starts = new Int32Array(CACHE_WORDS);
  private readonly counts = new Int32Array(CACHE_WORDS);
  private readonly pool = new Int32Array(CACHE_WORDS * 4);
  private used = 0;

  /** Appends the ids of `s[from, to)` (whose FNV-1a hash is `hash`) if cached. */
  read(s: string, from: number, to: number, hash: number, out: number[]): boolean {
    const len = to - from;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot]!;
      if (e === 0) return false;
      if (this.hashes[e] !== hash) continue;
      const key = this.keys[e]!;
      if (key.length !== len) continue;
      let k = 0;
      while (k < len && key.charCodeAt(k) === s.charCodeAt(from + k)) k++;
      if (k < len) continue;
      const start = this.starts[e]!;
      const end = start + this.counts[e]!;
      for (let j = start; j < end; j++) out.push(this.pool[j]!);
      return true;
    }
  }

  /** Caches `out[from..]` as the ids of `key`; starts over when full. */
  add(key: string, hash: number, out: readonly number[], from: number): void {
    const n = out.length - from;
    if (this.keys.length >= CACHE_WORDS || this.used + n > this.pool.length) {
      this.slots.fill(0);
      this.keys = [''];
      this.used = 0;
    }
    const e = this.keys.length;
    this.keys.push(key);
    this.hashes[e] = hash;
    this.starts[e] = this.used;
    this.counts[e] = n;
    for (let j = 0; j < n; j++) this.pool[this.used++] = out[from + j]!;
    let slot = hash & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = e;
  }
}

/**
 * The vocabulary as an open-addressing table that looks up `lead + s[from, to)` (lowercased when the
 * normalizer lowercases) by its FNV-1a hash, without building the string: WordPiece tries every length from
 * the longest down, and a substring plus a Map lookup per try was most of the cost of an unseen word.
 */
class VocabTable {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly keys: string[] = [''];
  private readonly hashes: number[] = [0];
  private readonly values: number[] = [-1];

  constructor(
    ids: ReadonlyMap<string, number>,
    private readonly lowercase: boolean,
  ) {
    let size = 1;
    while (size < ids.size * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (const [key, id] of ids) {
      const e = this.keys.length;
      const hash = fnv1a(key);
      this.keys.push(key);
      this.hashes.push(hash);
      this.values.push(id);
      let slot = hash & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = e;
    }
  }

  /** The code unit as the normalizer leaves it (ASCII only: A-Z lowercased when it lowercases). */
  fold(c: number): number {
    return this.lowercase && c >= 0x41 && c <= 0x5a ? c + 32 : c;
  }

  /** The id of `lead + fold(s[from, to))`, whose hash is `hash`; -1 if not in the vocabulary. */
  find(s: string, from: number, to: number, hash: number, lead: string): number {
    const len = lead.length + to - from;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.slots[slot]!;
      if (e === 0) return -1;
      if (this.hashes[e] !== hash) continue;
      const key = this.keys[e]!;
      if (key.length !== len) continue;
      let k = 0;
      while (k < lead.length && key.charCodeAt(k) === lead.charCodeAt(k)) k++;
      if (k < lead.length) continue;
      while (k < len && key.charCodeAt(k) === this.fold(s.charCodeAt(from + k - lead.length))) k++;
      if (k === len) return this.values[e]!;
    }
  }
}

function fnv1a(s: string): number {
  let hash = FNV_OFFSET;
  for (let k = 0; k < s.length; k++) hash = Math.imul(hash ^ s.charCodeAt(k), FNV_PRIME);
  return hash;
}

/**
 * The library's token → id table, built as it builds it: the vocabulary, then the added tokens over it.
 * The library's own table is used instead when it is there (building another costs ~40 ms per thread).
 */
function vocabulary(vocab: Record<string, number>, added: readonly AddedTokenJson[]): Map<string, number> {
  const ids = new Map<string, number>(Object.entries(vocab));
  for (const t of added) ids.set(t.content, t.id);
  return ids;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What the fast path needs from a tokenizer.json of the supported shape. */
interface BertShape {
  lowercase: boolean;
  prefix: string;
  maxChars: number;
  unkToken: string;
  vocab: Record<string, number>;
  added: AddedTokenJson[];
}

/** The tokenizer.json's parameters if it is exactly the supported shape, else undefined. */
function bertShape(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>): BertShape | undefined {
  if (!isRecord(tokenizerJson)) return undefined;
  const { normalizer, pre_tokenizer: pre, model, post_processor: post } = tokenizerJson;
  if (!isRecord(normalizer) || normalizer.type !== 'BertNormalizer' || normalizer.clean_text !== true || typeof normalizer.lowercase !== 'boolean') return undefined;
  if (!isRecord(pre) || pre.type !== 'BertPreTokenizer') return undefined;
  if (!isRecord(post) || (post.type !== 'TemplateProcessing' && post.type !== 'BertProcessing')) return undefined;
  if (!isRecord(model) || model.type !== 'WordPiece' || !isRecord(model.vocab) || model.fuse_unk === true) return undefined;
  if (typeof model.unk_token !== 'string' || typeof model.continuing_subword_prefix !== 'string') return undefined;
  // Options of the library's Tokenizer that rewrite the whole text before normalizing.
  if (tokenizerConfig.remove_space === true || tokenizerConfig.do_lowercase_and_remove_accent === true) return undefined;
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as AddedTokenJson[]) : [];
  // A normalized added token is matched in the normalized text, which a word alone does not reproduce.
  if (!added.every((t) => typeof t.content === 'string' && t.content.length > 0 && typeof t.id === 'number' && (t.normalized ?? !(t.special ?? false)) === false)) return undefined;
  const vocab = model.vocab as Record<string, number>;
  const unkToken = model.unk_token;
  if (typeof vocab[unkToken] !== 'number' && !added.some((t) => t.content === unkToken)) return undefined;
  const maxChars = typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;
  return { lowercase: normalizer.lowercase, prefix: model.continuing_subword_prefix, maxChars, unkToken, vocab, added };
}

/**
 * The fast encoder for this tokenizer.json, or undefined when it is not exactly the supported shape (then
 * the caller keeps using the library for everything).
 */
export function fastBertEncoder(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, library: LibraryTokenizer): ((text: string) => number[]) | undefined {
  const shape = bertShape(tokenizerJson, tokenizerConfig);
  return shape && buildEncoder(shape, library);
}

export interface LazyFastEncoder {
  encode(text: string): number[];
  /** Build the tables now, whatever has been tokenized so far. */
  build(): void;
}

/**
 * As fastBertEncoder, but the library answers the first `after` texts and the fast path's tables (~30-60 ms
 * to build per thread) are built only then, or on build(): a thread that tokenizes a few hypotheses, or a
 * one-row run, does not pay for them.
 */
export function lazyFastBertEncoder(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown>, library: LibraryTokenizer, after: number): LazyFastEncoder | undefined {
  const shape = bertShape(tokenizerJson, tokenizerConfig);
  if (!shape) return undefined;
  let fast: ((text: string) => number[]) | undefined;
  let seen = 0;
  const build = () => (fast ??= buildEncoder(shape, library));
  return {
    encode: (text) => {
      if (fast) return fast(text);
      if (++seen > after) return build()(text);
      return library.encode(text, { add_special_tokens: false }).ids;
    },
    build: () => void build(),
  };
}

function buildEncoder(shape: BertShape, library: LibraryTokenizer): (text: string) => number[] {
  const { lowercase, prefix, maxChars, added } = shape;
  const ids = library.model?.tokens_to_ids instanceof Map ? (library.model.tokens_to_ids as Map<string, number>) : vocabulary(shape.vocab, added);
  const unkId = ids.get(shape.unkToken)!;
  let longest = 0;
  for (const k of ids.keys()) longest = Math.max(longest, k.length);
  const addedContents = added.map((t) => t.content);
  // A word whose normalized form is exactly an added token's content would become that token alone, but not
  // inside a longer text; only contents the normalizer can output are at risk (none of BERT's: uppercase).
  const atRisk = new Set(added.filter((t) => !lowercase || t.content.toLowerCase() === t.content).map((t) => t.id));

  const words = new WordCache();
  /** Words with other than ASCII in them: rare, kept apart as whole strings. */
  const others = new Map<string, readonly number[]>();

  const vocab = new VocabTable(ids, lowercase);
  const prefixHash = fnv1a(prefix);
  /** Hashes of the candidate pieces s[start, start + k) for k = 1.. (with the prefix for a continuation). */
  const candidate = new Int32Array(longest + 1);

  /**
   * Greedy longest-match-first over the pre-token s[from, to) (ASCII), as the library's WordPiece: the
   * longest vocabulary entry at each position, "##" before all but the first; one miss makes it [UNK].
   */
  function wordPiece(s: string, from: number, to: number, out: number[]): void {
    if (to - from > maxChars) {
      out.push(unkId);
      return;
    }
    const mark = out.length;
    let start = from;
    while (start < to) {
      const lead = start > from ? prefix : '';
      const most = Math.min(to - start, longest - lead.length);
      let hash = lead ? prefixHash : FNV_OFFSET;
      for (let k = 1; k <= most; k++) {
        hash = Math.imul(hash ^ vocab.fold(s.charCodeAt(start + k - 1)), FNV_PRIME);
        candidate[k] = hash;
      }
      let id = -1;
      let k = most;
      for (; k > 0; k--) {
        id = vocab.find(s, start, start + k, candidate[k]!, lead);
        if (id >= 0) break;
      }
      if (id < 0) {
        out.length = mark;
        out.push(unkId);
        return;
      }
      out.push(id);
      start += k;
    }
  }

  // A vocabulary entry made of word characters is its own WordPiece (the longest match from the start is
  // the whole word): cached up front, so a short run starts with the common words already known.
  for (const [token, id] of ids) {
    if (token.length > CACHE_WORD_CHARS || token.length > maxChars) continue;
    let plain = token.length > 0;
    for (let k = 0; k < token.length && plain; k++) {
      const c = token.charCodeAt(k);
      plain = c < 128 && ASCII_CLASS[c] === Ascii.Word && !(lowercase && c >= 0x41 && c <= 0x5a);
    }
    if (plain) words.add(token, fnv1a(token), [id], 0);
  }

  /** Each ASCII punctuation character is a pre-token of its own: its ids, once. */
  const punctIds: (readonly number[])[] = [];
  for (let c = 0; c < 128; c++) {
    const got: number[] = [];
    if (ASCII_CLASS[c] === Ascii.Punct) wordPiece(String.fromCharCode(c), 0, 1, got);
    punctIds.push(got);
  }

  /** `s[from, to)`, letters and digits as written: the cache, or WordPiece (lowercasing as it reads). */
  function piece(s: string, from: number, to: number, hash: number, out: number[]): void {
    if (words.read(s, from, to, hash, out)) return;
    const mark = out.length;
    wordPiece(s, from, to, out);
    if (to - from <= CACHE_WORD_CHARS) words.add(s.slice(from, to), hash, out, mark);
  }

  /** `s[from, to)`, ASCII without whitespace or controls: a pre-token per punctuation character and per run between. */
  function asciiWord(s: string, from: number, to: number, out: number[]): void {
    let start = from;
    let hash = FNV_OFFSET;
    for (let i = from; i < to; i++) {
      const c = s.charCodeAt(i);
      if (ASCII_CLASS[c] === Ascii.Word) {
        hash = Math.imul(hash ^ c, FNV_PRIME);
        continue;
      }
      if (i > start) piece(s, start, i, hash, out);
      const p = punctIds[c]!;
      for (let k = 0; k < p.length; k++) out.push(p[k]!);
      start = i + 1;
      hash = FNV_OFFSET;
    }
    if (start < to) piece(s, start, to, hash, out);
  }

  /** A word with other than ASCII in it, to the library alone; false if only the whole text can be trusted to it. */
  function libraryWord(w: string, out: number[]): boolean {
    let got = others.get(w);
    if (!got) {
      got = library.encode(w, { add_special_tokens: false }).ids;
      if (got.length === 1 && atRisk.has(got[0]!)) return false;
      if (w.length <= CACHE_WORD_CHARS) {
        if (others.size >= OTHER_WORDS) others.clear();
        others.set(w, got);
      }
    }
    for (let k = 0; k < got.length; k++) out.push(got[k]!);
    return true;
  }

  const whole = (text: string) => library.encode(text, { add_special_tokens: false }).ids;
  const firstChars = [...new Set(addedContents.map((c) => c[0]!))];
  const holdsAdded = (text: string) => firstChars.some((f) => text.includes(f)) && addedContents.some((c) => text.includes(c));

  return (text: string): number[] => {
    if (holdsAdded(text)) return whole(text);
    const out: number[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      let c = text.charCodeAt(i);
      if (c < 128 && ASCII_CLASS[c] === Ascii.Space) {
        i++;
        continue;
      }
      // One word: up to the next ASCII whitespace.
      const start = i;
      let plain = true;
      let dropped = false;
      for (; i < n; i++) {
        c = text.charCodeAt(i);
        if (c >= 128) plain = false;
        else {
          const cls = ASCII_CLASS[c]!;
          if (cls === Ascii.Space) break;
          if (cls === Ascii.Dropped) dropped = true;
        }
      }
      if (!plain) {
        if (!libraryWord(text.slice(start, i), out)) return whole(text);
      } else if (dropped) {
        const w = text.slice(start, i).replace(DROPPED_ALL, '');
        asciiWord(w, 0, w.length, out);
      } else {
        asciiWord(text, start, i, out);
      }
    }
    return out;
  };
}

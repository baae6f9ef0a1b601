/**
 * The BERT fast path (src/backends/onnx/bert-fast.ts) must give exactly the ids of @huggingface/tokenizers:
 * on real IMDB reviews, on strings made to hit every branch (accents, CJK, controls, emoji, added tokens in
 * the text, words over max_input_chars_per_word, punctuation runs), and on seeded random strings over an
 * alphabet of such characters; and the encoder built on it must cut over-long texts as before.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { fastBertEncoder } from '../src/backends/onnx/bert-fast.js';
import { createTextEncoder, type TextEncoder } from '../src/backends/onnx/tokenize.js';
import { readImdb, sharedModel } from './support/onnx-models.js';
import { seededRandom } from './support/random.js';

const FOLDER = sharedModel('selftrained-bow-pair-nli');
const json = (file: string) => JSON.parse(fs.readFileSync(path.join(FOLDER, file), 'utf8')) as Record<string, unknown>;
const tokenizerJson = json('tokenizer.json');
const tokenizerConfig = json('tokenizer_config.json');

interface Library {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
}
const library = new Tokenizer(tokenizerJson, tokenizerConfig) as unknown as Library;
const libraryIds = (text: string) => library.encode(text, { add_special_tokens: false }).ids;

/** The same tokenizer with the model's `type` left out: the library infers WordPiece, the fast path stands aside. */
const untyped = () => {
  const copy = structuredClone(tokenizerJson) as { model: Record<string, unknown> };
  delete copy.model.type;
  return copy;
};

const ADVERSARIAL = [
  '',
  '   \n\t  ',
  'Café naïve résumé ÉCOLE Ångström',
  'CAFÉ À LA CRÈME',
  '我喜欢这部电影，真的！',
  'abc中文def 日本語のテキスト 한국어 텍스트',
  'a\u0000b\u0001c\u007fd\u000be\u000cf\u001fg',
  'tab\there\r\nnew\nline\rcr',
  'non\u00a0breaking\u2003em\u3000ideographic\u2028line\u2029para\u0085nel',
  'zero\u200bwidth\u200djoiner soft\u00adhyphen \ufeffbom',
  'I 😀 love 👍🏽 it 🇫🇷 👨‍👩‍👧',
  'lone \ud800 high \udc00 low surrogates',
  'replacement \ufffd char',
  'a'.repeat(100),
  'b'.repeat(101),
  'x'.repeat(99) + '!' + 'y'.repeat(150) + ' ' + 'Z'.repeat(101),
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  '!!!???...---***~~~```^^^',
  '(((hello))) [[world]] {{braces}} <<angles>>',
  '[CLS] inside [SEP] text [PAD][UNK][MASK]',
  'x[SEP]y and [cls] and [Sep] and [C\u0000LS]',
  '[CLS]',
  'ΣΑΣ ΟΔΟΣ. ΣΊΣΥΦΟΣ Σ',
  'İstanbul IĞDIR straße ß ẞ',
  'ﬁne ﬂow ﬀ ligatures Ⅻ ① ＡＢＣ ｆｕｌｌｗｉｄｔｈ',
  'e\u0301 a\u0308 combining \u0301 leading \u0301\u0301 double',
  '1,234.56 $100 50% #hashtag @mention',
  'http://example.com/a?b=c&d=e_f#frag user@example.org',
  '<br /><br />This movie was great.<br />',
  "don't can't won't it's rock'n'roll",
  '“quoted” ‘single’ — dash – en … ellipsis «guillemets» ‹›',
  'مرحبا بالعالم שלום עולם สวัสดีชาวโลก नमस्ते दुनिया',
  'x² + y³ = z⁴ ½ ¼ ™ © ®',
  'private \ue000 use \u{f0000} and tag \u{e0001}\u{e0041}',
  'MiXeD CaSe WoRdS AND UPPERCASE SHOUTING!!!',
  '   leading and trailing spaces   ',
  'under_score snake_case kebab-case dot.separated',
];

/** Random strings over characters that each take a different branch of the fast path or the library. */
function randomStrings(count: number, seed: number): string[] {
  const alphabet = [
    ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
    ...'     ',
    ...'.,;:!?\'"()[]{}<>-_/\\@#$%^&*+=~`|',
    '\t', '\n', '\r', '\u0000', '\u0001', '\u000b', '\u007f', '\u00a0', '\u200b', '\u00ad', '\ufeff', '\ufffd',
    'é', 'É', 'ñ', 'ü', 'ß', 'Σ', 'ς', 'İ', '\u0301', '\u0308', 'ﬁ',
    '中', '文', '日', 'の', '한', '😀', '👍🏽', '\ud800', '’', '—', '…',
    '[CLS]', '[SEP]', '[MASK]', '[cls]', '##', 'ing', 'un', 'the', 'movie',
  ];
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const n = Math.floor(rand() * 60);
    let s = '';
    for (let k = 0; k < n; k++) s += alphabet[Math.floor(rand() * alphabet.length)]!;
    return s;
  });
}

test('the fast path is taken for the shared BERT tokenizer and refused for other shapes', () => {
  assert.ok(fastBertEncoder(tokenizerJson, tokenizerConfig, library));
  assert.equal(fastBertEncoder(untyped(), tokenizerConfig, library), undefined);
  const other = (patch: (t: Record<string, Record<string, unknown>>) => void) => {
    const copy = structuredClone(tokenizerJson) as Record<string, Record<string, unknown>>;
    patch(copy);
    return fastBertEncoder(copy, tokenizerConfig, library);
  };
  assert.equal(other((t) => void (t.normalizer = { type: 'Lowercase' })), undefined);
  assert.equal(other((t) => void (t.normalizer!.clean_text = false)), undefined);
  assert.equal(other((t) => void (t.pre_tokenizer = { type: 'Whitespace' })), undefined);
  assert.equal(other((t) => void (t.post_processor = { type: 'ByteLevel' })), undefined);
  assert.equal(other((t) => void ((t.added_tokens as unknown as Record<string, unknown>[])[0]!.normalized = true)), undefined);
  assert.equal(fastBertEncoder(tokenizerJson, { ...tokenizerConfig, remove_space: true }, library), undefined);
  assert.equal(createTextEncoder(tokenizerJson, tokenizerConfig, { maxLength: 512, typeIds: true }).tokenizerPath, 'bert-fast');
  assert.equal(createTextEncoder(untyped(), tokenizerConfig, { maxLength: 512, typeIds: true }).tokenizerPath, 'library');
});

test('the same ids as @huggingface/tokenizers on 3,000 real IMDB reviews, twice (cold and cached)', () => {
  const fast = fastBertEncoder(tokenizerJson, tokenizerConfig, library)!;
  const reviews = readImdb().filter((_, i) => i % 8 === 0).map((r) => r.text);
  assert.equal(reviews.length, 3125);
  const expected = reviews.map(libraryIds);
  for (const pass of ['cold', 'cached']) {
    reviews.forEach((text, i) => assert.deepEqual(fast(text), expected[i], `${pass} review ${i}: ${JSON.stringify(text.slice(0, 80))}`));
  }
  // The reviews do reach the library for words outside ASCII.
  assert.ok(reviews.some((t) => /[^\x00-\x7f]/.test(t)));
});

test('the same ids on adversarial strings and on 3,000 seeded random strings', () => {
  const fast = fastBertEncoder(tokenizerJson, tokenizerConfig, library)!;
  // Also with the token table built from tokenizer.json, as when the library's own is not readable.
  const ownTable = fastBertEncoder(tokenizerJson, tokenizerConfig, { encode: (t, o) => library.encode(t, o) })!;
  const cases = [...ADVERSARIAL, ADVERSARIAL.join(' '), ADVERSARIAL.join(''), ...randomStrings(3000, 15)];
  for (const pass of ['cold', 'cached']) {
    for (const text of cases) {
      const expected = libraryIds(text);
      assert.deepEqual(fast(text), expected, `${pass}: ${JSON.stringify(text)}`);
      assert.deepEqual(ownTable(text), expected, `own table, ${pass}: ${JSON.stringify(text)}`);
    }
  }
});

test('the encoder on the fast path cuts, wraps and marks texts exactly as the library-only encoder', () => {
  const options = { maxLength: 512, typeIds: true };
  const fastEnc = createTextEncoder(tokenizerJson, tokenizerConfig, options);
  const libEnc = createTextEncoder(untyped(), tokenizerConfig, options);
  const reviews = readImdb(600).map((r) => r.text);
  const long = reviews.filter((t) => libEnc.encode(t).truncated);
  assert.ok(long.length > 50, `only ${long.length} over-long reviews`);
  // Past 512 × 64 characters the encoders tokenize a prefix only (encodeHuge / encodeSegment).
  const huge = [reviews.join(' '), 'word '.repeat(40_000), 'x'.repeat(40_000), `${'ünïcödé '.repeat(5000)}`];
  const all = [...reviews, ...ADVERSARIAL, ...huge];
  const same = (enc: TextEncoder, other: TextEncoder, text: string) => {
    assert.deepEqual(enc.encode(text), other.encode(text), JSON.stringify(text.slice(0, 80)));
    assert.deepEqual(enc.encodeSegment(text), other.encodeSegment(text), JSON.stringify(text.slice(0, 80)));
  };
  for (const text of all) same(fastEnc, libEnc, text);
  // Warmed up (as a tokenizer thread starts), the fast path answers from the first text on: the same ids.
  const warmed = createTextEncoder(tokenizerJson, tokenizerConfig, options);
  warmed.warmUp();
  for (const text of all) same(warmed, libEnc, text);
  // One 40,000-character word is a single [UNK]; the other huge texts are cut.
  assert.deepEqual(huge.map((t) => fastEnc.encode(t).truncated), [true, true, false, true]);
  // Without token_type_ids the same, and no segment ids.
  const noTypes = createTextEncoder(tokenizerJson, tokenizerConfig, { maxLength: 128, typeIds: false });
  const noTypesLib = createTextEncoder(untyped(), tokenizerConfig, { maxLength: 128, typeIds: false });
  for (const text of [...reviews.slice(0, 100), ...ADVERSARIAL]) {
    same(noTypes, noTypesLib, text);
    assert.equal(noTypes.encode(text).typeIds, undefined);
  }
  assert.deepEqual(fastEnc.pair, libEnc.pair);
});

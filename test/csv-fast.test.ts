/**
 * The CSV fast paths (src/io/csv-fast.ts in, src/export/csv-out.ts out) promise exactly what
 * csv-parse and csv-stringify produce. These tests hold them to it on fuzzed input cut into random
 * chunks, so a change to either cannot silently alter a user's data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { fastCsvRecords, fastDelimiter } from '../src/io/csv-fast.js';
import { csvRecords } from '../src/export/csv-out.js';
import { hashText } from '../src/job/fingerprint.js';
import { seededRandom } from './support/random.js';

type Rec = { record: string[]; bytes: number; empty: number };

let textBytesSeen = 0;
/** Of those, texts with quotes: their bytes are a copy with each doubled quote made one. */
let quotedTextBytesSeen = 0;
/** Records whose text was left undecoded (lazyText). */
let lazySeen = 0;

/** csv-parse with the reader's options: records and byte offsets up to its first error. */
async function reference(buf: Buffer, delimiter: string): Promise<{ records: Rec[]; failed: boolean }> {
  const p = parse({ delimiter, bom: true, info: true, relax_column_count: true, skip_empty_lines: true });
  const records: Rec[] = [];
  let failed = false;
  const done = new Promise<void>((resolve) => {
    p.on('data', (r: { record: string[]; info: { bytes: number; empty_lines: number } }) => records.push({ record: r.record, bytes: r.info.bytes, empty: r.info.empty_lines }));
    p.on('error', () => {
      failed = true;
      resolve();
    });
    p.on('end', () => resolve());
  });
  p.end(buf);
  await done;
  return { records, failed };
}

/** The fast scanner's records; every other input also asks for each record's original bytes and checks them. */
async function fast(buf: Buffer, delimiter: string, chunks: Buffer[]): Promise<{ records: Rec[]; fallback: boolean }> {
  const records: Rec[] = [];
  let fallback = false;
  const keepRaw = chunks.length % 2 === 0;
  const textField = chunks.length % 3; // 0, 1 or 2: the field whose bytes the runner hashes
  const lazyText = chunks.length % 4 < 2;
  for await (const c of fastCsvRecords(Readable.from(chunks), fastDelimiter(delimiter)!, true, keepRaw, textField, lazyText)) {
    for (const r of c.records) {
      if (lazyText && r.textBytes) {
        // Left undecoded unless it has line breaks (counted from the string); the reader decodes the bytes.
        const multiline = r.textBytes.includes(0x0a) || r.textBytes.includes(0x0d);
        if (!multiline) assert.equal(r.record[textField], '', `text decoded in ${JSON.stringify(r.record)}`);
        r.record[textField] = r.textBytes.toString('utf8');
        lazySeen++;
      }
      records.push({ record: r.record, bytes: r.info.bytes, empty: r.info.empty_lines });
      // The text's bytes, when given, are exactly the UTF-8 of the decoded text (the runner hashes either).
      if (r.textBytes) {
        assert.ok(Buffer.from(r.record[textField]!).equals(r.textBytes), `text bytes of ${JSON.stringify(r.record)}`);
        textBytesSeen++;
        if (r.record[textField]!.includes('"')) quotedTextBytesSeen++;
      } else assert.ok(r.record.length <= textField, `no text bytes for ${JSON.stringify(r.record)}`);
      // The reader numbers lines with this count: CRLF, CR or LF inside fields, one line each.
      assert.equal(r.breaks, r.record.reduce((n, f) => n + (f.match(/\r\n|\r|\n/g)?.length ?? 0), 0), `line breaks in ${JSON.stringify(r.record)}`);
      if (!keepRaw) continue;
      // The bytes just before the record's line end in the file, and they parse back to the same record.
      const end = r.info.bytes - (buf.subarray(r.info.bytes - 2, r.info.bytes).toString() === '\r\n' ? 2 : buf[r.info.bytes - 1] === 0x0a ? 1 : 0);
      assert.ok(r.raw && buf.subarray(end - r.raw.length, end).equals(r.raw), `raw bytes of ${JSON.stringify(r.record)}`);
      assert.deepEqual(parseSync(r.raw, { delimiter, relax_column_count: true }), [r.record]);
    }
    fallback ||= c.fallback;
  }
  return { records, fallback };
}

function randomCsv(r: () => number, delimiter: string): Buffer {
  const pieces = ['a', 'bc', 'é', '😀', ' ', delimiter, delimiter, '"', '""', '\n', '\r\n', '\n\n', '\r'];
  const rows: string[] = [];
  const lineEnd = r() < 0.5 ? '\n' : '\r\n';
  const nRows = 1 + Math.floor(r() * 8);
  for (let i = 0; i < nRows; i++) {
    const fields: string[] = [];
    const nFields = 1 + Math.floor(r() * 4);
    for (let j = 0; j < nFields; j++) {
      let f = '';
      const len = Math.floor(r() * 6);
      for (let k = 0; k < len; k++) f += pieces[Math.floor(r() * pieces.length)];
      // Mostly well-formed (quoted when needed), sometimes raw: the odd cases must fall back, not guess.
      fields.push(r() < 0.85 ? (/["\r\n]/.test(f) || f.includes(delimiter) || r() < 0.2 ? `"${f.replaceAll('"', '""')}"` : f) : f);
    }
    rows.push(fields.join(delimiter));
  }
  let text = rows.join(lineEnd) + (r() < 0.7 ? lineEnd : '');
  if (r() < 0.1) text = '\ufeff' + text;
  return Buffer.from(text);
}

function cut(buf: Buffer, r: () => number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 64));
    out.push(buf.subarray(i, i + n));
    i += n;
  }
  return out;
}

test('fast CSV scanner: same records, byte offsets and blank-line counts as csv-parse, on 4,000 fuzzed inputs in random chunks', async () => {
  const r = seededRandom(7);
  let fellBack = 0;
  for (let n = 0; n < 4000; n++) {
    const delimiter = n % 3 === 0 ? '\t' : n % 3 === 1 ? ',' : ';';
    const buf = randomCsv(r, delimiter);
    const ref = await reference(buf, delimiter);
    const got = await fast(buf, delimiter, cut(buf, r));
    const where = `input ${n}: ${JSON.stringify(buf.toString())}`;
    if (got.fallback) fellBack++;
    else assert.equal(ref.failed, false, `${where}: csv-parse fails but the scanner did not hand over`);
    // Up to where it hands over, every record it produced is csv-parse's, byte for byte.
    assert.deepEqual(got.records, ref.records.slice(0, got.records.length), where);
    if (!got.fallback) assert.equal(got.records.length, ref.records.length, where);
  }
  assert.ok(fellBack > 100 && fellBack < 3900, `both paths exercised (${fellBack} fell back)`);
  assert.ok(textBytesSeen > 1000 && quotedTextBytesSeen > 100 && lazySeen > 500, `text bytes checked on ${textBytesSeen} records, ${quotedTextBytesSeen} with quotes, ${lazySeen} left undecoded`);
});

test('a text hashes the same from its string and from its UTF-8 bytes (the runner uses either)', () => {
  for (const text of ['plain review', 'café, "quoted", 😀', 'line\r\nbreak']) assert.equal(hashText(Buffer.from(text)), hashText(text), text);
});

test('fast CSV writer: the same text as csv-stringify for every kind of cell an export has', () => {
  const r = seededRandom(11);
  const pieces = ['x', 'é', ' ', ',', '\t', '"', '\n', '\r', '0.5', ''];
  for (let n = 0; n < 3000; n++) {
    const delimiter = n % 2 ? ',' : '\t';
    const records: unknown[][] = [];
    for (let i = 0; i < 1 + Math.floor(r() * 4); i++) {
      const rec: unknown[] = [];
      for (let j = 0; j < 1 + Math.floor(r() * 5); j++) {
        const kind = r();
        if (kind < 0.6) {
          let s = '';
          for (let k = 0; k < Math.floor(r() * 5); k++) s += pieces[Math.floor(r() * pieces.length)];
          rec.push(s);
        } else if (kind < 0.75) rec.push(r() * 2 - 0.5);
        else if (kind < 0.85) rec.push(r() < 0.5);
        else if (kind < 0.95) rec.push(null);
        else rec.push(Math.floor(r() * 1000));
      }
      records.push(rec);
    }
    const expected = stringify(records, { delimiter, cast: { boolean: (b: boolean) => (b ? 'true' : '') } });
    assert.equal(csvRecords(records, delimiter).toString(), expected, JSON.stringify(records));
  }
  // Many lines of 2-, 3- and 4-byte characters: more bytes than characters, so the buffer must grow.
  const wide = Array.from({ length: 1000 }, (_, i) => [i, 'é'.repeat(i % 200), '€"😀'.repeat(i % 50), i % 3 === 0]);
  assert.equal(csvRecords(wide, ',').toString(), stringify(wide, { cast: { boolean: (b: boolean) => (b ? 'true' : '') } }));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isBlank, isBlankUtf8 } from '../src/io/blank.js';
import { openInput, type InputRow } from '../src/io/index.js';
import { InputError } from '../src/errors.js';
import { tempDir } from './support/cli.js';

type Opts = Parameters<typeof openInput>[0];

async function readAll(opts: Opts, from?: Parameters<typeof openInput>[1]): Promise<InputRow[]> {
  const src = await openInput(opts, from);
  const rows: InputRow[] = [];
  for await (const r of src.rows) rows.push(r);
  return rows;
}

function csv(dir: string, name: string, content: string | Buffer, extra: Partial<Opts> = {}): Opts {
  const input = path.join(dir, name);
  writeFileSync(input, content);
  return { input, format: 'csv', textColumn: 'text', delimiter: ',', relaxQuotes: false, ...extra };
}

test('CSV: quoted commas, doubled quotes, newlines in fields, BOM and CRLF', async (t) => {
  const dir = tempDir(t);
  const rows = await readAll(csv(dir, 'a.csv', '\ufeffid,text\r\n1,"hello, world"\r\n2,"say ""hi""\r\nthere"\r\n3,plain\r\n'));
  assert.deepEqual(rows.map((r) => r.text), ['hello, world', 'say "hi"\r\nthere', 'plain']);
  assert.deepEqual(rows.map((r) => r.line), [2, 3, 5]);
  assert.deepEqual(rows.map((r) => r.ordinal), [0, 1, 2]);
  assert.deepEqual(rows[0]!.record, ['1', 'hello, world']);
});

test('CSV read for a raw-copying consumer (lazyText): the same rows, the text as bytes, decoded only where needed', async (t) => {
  const dir = tempDir(t);
  const content = Buffer.concat([
    Buffer.from('id,text,n\n1,"hello, ""world""",1\n2,plain,2\n3,"  ",3\n4,\u00a0\u3000,4\n5,short\n6,"two\nlines",6\n'),
    Buffer.from([0x37, 0x2c, 0x62, 0xff, 0x64, 0x2c, 0x37, 0x0a]), // 7,b\xffd,7: not UTF-8
    Buffer.from('8,é ünïcode,8\n'),
  ]);
  const opts = csv(dir, 'lazy.csv', content);
  const plain = await readAll(opts);
  const src = await openInput(opts, undefined, { raw: true, lazyText: true });
  const lazy: InputRow[] = [];
  for await (const r of src.rows) lazy.push(r);
  assert.equal(lazy.length, plain.length);
  for (const [i, r] of lazy.entries()) {
    const p = plain[i]!;
    assert.equal(r.error, p.error, `row ${i + 1}: same verdict`);
    const text = r.textBytes ? r.textBytes.toString('utf8') : r.text;
    assert.equal(text, p.text, `row ${i + 1}: the same text`);
    if (r.record.length !== 3) assert.deepEqual(r.record, p.record, 'a row of the wrong width has all its fields');
  }
  assert.equal(lazy[0]!.text, undefined, 'a text at hand as bytes is not decoded');
  assert.match(lazy[2]!.error!, /empty text/);
  assert.match(lazy[3]!.error!, /empty text/, 'Unicode spaces only: blank, as trim() says');
  assert.equal(lazy[6]!.text, 'b\ufffdd', 'bytes that are not UTF-8: the decoded text, as without lazyText');
  assert.equal(lazy[6]!.textBytes, undefined);
});

test('CSV: old-Mac CR-only line endings', async (t) => {
  const dir = tempDir(t);
  const rows = await readAll(csv(dir, 'cr.csv', 'id,text\r1,"a, b"\r2,c\r'));
  assert.deepEqual(rows.map((r) => r.text), ['a, b', 'c']);
});

test('TSV and custom delimiters', async (t) => {
  const dir = tempDir(t);
  assert.deepEqual((await readAll(csv(dir, 'a.tsv', 'id\ttext\n1\ta, b\n', { delimiter: '\t' }))).map((r) => r.text), ['a, b']);
  assert.deepEqual((await readAll(csv(dir, 'b.csv', 'id;text\n1;x,y\n', { delimiter: ';' }))).map((r) => r.text), ['x,y']);
});

test('CSV: bad rows are reported with their reason and do not stop the read', async (t) => {
  const dir = tempDir(t);
  const rows = await readAll(csv(dir, 'bad.csv', 'id,text\n1,a\n2\n3,b,extra\n4,   \n5,ok\n'));
  assert.equal(rows.length, 5);
  assert.match(rows[1]!.error!, /expected 2 fields .* found 1/);
  assert.match(rows[2]!.error!, /found 3/);
  assert.match(rows[3]!.error!, /empty text/);
  assert.equal(rows[4]!.text, 'ok');
  assert.equal(rows[4]!.line, 6);
});

test('CSV: a missing text column is fatal and lists the columns', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(readAll(csv(dir, 'c.csv', 'id,body\n1,x\n')), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /no column "text".*Columns: "id", "body".*--text-column/);
    return true;
  });
});

test('CSV: an unclosed quote is one clear error with the line', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(readAll(csv(dir, 'q.csv', 'id,text\n1,ok\n2,"bad"x\n3,fine\n')), (err: Error) => {
    assert.ok(err instanceof InputError);
    assert.match(err.message, /q\.csv line \d+: cannot parse CSV.*--relax-quotes/);
    return true;
  });
});

test('CSV: reading from a saved position yields exactly the remaining rows', async (t) => {
  const dir = tempDir(t);
  const opts = csv(dir, 'r.csv', '\ufeffid,text\r\n1,"multi\r\nline"\r\n2,b\r\n3,"c, d"\r\n');
  const all = await readAll(opts);
  for (const start of all) {
    const rest = await readAll(opts, { ordinal: start.ordinal, byte: start.byteStart, line: start.line });
    assert.deepEqual(rest, all.slice(start.ordinal));
  }
});

test('JSONL: dotted paths, bad lines, blank lines, BOM, CRLF and resume positions', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'a.jsonl');
  writeFileSync(input, '\ufeff{"r":{"t":"x"},"id":1}\r\n\n{"r":{"t":"y"}}\nnot json\n[1]\n{"r":{"t":""}}\n{"r":{}}\n{"r.t":"dotted key"}\n{"r":{"t":"last"}}');
  const opts: Opts = { input, format: 'jsonl', textColumn: 'r.t', idColumn: 'id', delimiter: ',', relaxQuotes: false };
  const rows = await readAll(opts);
  assert.deepEqual(rows.map((r) => r.text ?? null), ['x', 'y', null, null, null, null, 'dotted key', 'last']);
  assert.deepEqual(rows.map((r) => r.line), [1, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(rows[0]!.id, '1');
  assert.match(rows[2]!.error!, /not valid JSON/);
  assert.match(rows[3]!.error!, /not a JSON object/);
  assert.match(rows[4]!.error!, /empty text/);
  assert.match(rows[5]!.error!, /no field "r.t"/);
  for (const start of rows) {
    const rest = await readAll(opts, { ordinal: start.ordinal, byte: start.byteStart, line: start.line });
    assert.deepEqual(rest, rows.slice(start.ordinal));
  }
});

test('JSONL: a text field missing from the first object is fatal and lists its fields', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'b.jsonl');
  writeFileSync(input, '{"body":"x","id":1}\n');
  await assert.rejects(readAll({ input, format: 'jsonl', textColumn: 'text', delimiter: ',', relaxQuotes: false }), /no field "text". Fields: "body", "id"/);
});

test('a blank text is what trim() empties, for every UTF-16 code unit', () => {
  for (let c = 0; c <= 0xffff; c++) {
    const s = String.fromCharCode(c);
    assert.equal(isBlank(` ${s}${s}\t`), s.trim() === '', `U+${c.toString(16)}`);
    // Its UTF-8 bytes say the same (lone surrogates have none of their own).
    if (c < 0xd800 || c > 0xdfff) assert.equal(isBlankUtf8(Buffer.from(` ${s}\r\n${s}`)), s.trim() === '', `U+${c.toString(16)} as UTF-8`);
  }
  assert.equal(isBlank(''), true);
  assert.equal(isBlankUtf8(Buffer.alloc(0)), true);
});

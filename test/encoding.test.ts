/**
 * Inputs that are not UTF-8: --encoding decodes them (the model sees the real characters), the export is
 * written back in the input's encoding (copied rows keep their original bytes), a resumed run continues
 * from its cursor, and UTF-16 is recognised by its byte order mark. The CLI as a child process against a
 * loopback server that answers as Hugging Face does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { label } from '../src/index.js';
import { textEncoding } from '../src/core/encoding.js';
import { runCli, tempDir } from './support/cli.js';
import { expectedScores, startHfServer } from './support/hf-server.js';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void };

async function server(t: T, labels?: string[]) {
  const s = await startHfServer(labels ? { labels } : {});
  t.after(() => s.close());
  return s;
}

/** Texts with the characters Windows-1252 puts at 0x80–0x9F (€ ’ “ ” …), which ISO-8859-1 has not. */
const TEXTS = ['Très bon film, j’ai adoré', 'Un “désastre” complet… 20 €', 'Mauvais, très mauvais', 'Ça coûte 5 € — trop cher', 'naïve, déjà vu'];

/** A CSV of TEXTS in Python's cp1252 bytes, CRLF line ends, quoted where a field needs it. */
function cp1252Csv(file: string): Buffer {
  const lines = ['id,text', ...TEXTS.map((t, i) => `${i},${t.includes(',') ? `"${t}"` : t}`)];
  const bytes = textEncoding('windows-1252').encode(`${lines.join('\r\n')}\r\n`);
  writeFileSync(file, bytes);
  return bytes;
}

/** The lines of a byte buffer split on CRLF, each kept as bytes. */
function crlfLines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = bytes.indexOf('\r\n'); i >= 0; i = bytes.indexOf('\r\n', at)) {
    out.push(bytes.subarray(at, i));
    at = i + 2;
  }
  return out;
}

test('--encoding windows-1252: the model gets the real characters, the export keeps each row\'s bytes, a resume continues from its cursor', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const input = path.join(dir, 'cp1252.csv');
  const original = cp1252Csv(input);
  const out = path.join(dir, 'out.csv');
  const first = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--encoding', 'latin1', '--limit', '2'], env);
  assert.equal(first.code, 0, first.stderr);
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--encoding', 'latin1'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr + first.stderr, /not valid UTF-8/);
  // Each text sent once, as written (latin1 is read as windows-1252: 0x80 is €, not U+0080).
  assert.deepEqual(s.requests.flatMap((q) => q.texts).sort(), [...TEXTS].sort());

  const written = readFileSync(out);
  const rows = crlfLines(written);
  const inputRows = crlfLines(original);
  assert.equal(rows.length, inputRows.length);
  assert.deepEqual(rows[0], Buffer.from('id,text,predicted_label,predicted_score,truncated,error'));
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i]!;
    assert.deepEqual(row.subarray(0, inputRows[i]!.length), inputRows[i], `row ${i} keeps its bytes`);
    assert.equal(row.toString('latin1').slice(inputRows[i]!.length), `,${expectedScores(TEXTS[i - 1]!)[0]!.label},${expectedScores(TEXTS[i - 1]!)[0]!.score},,`);
  }

  // The same job in another encoding is another job's results.
  const other = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--encoding', 'iso-8859-15'], env);
  assert.equal(other.code, 1, other.stderr);
  assert.match(other.stderr, /belongs to another job: encoding changed \("windows-1252" → "iso-8859-15"\)/);
});

test('a UTF-16 file is read by its byte order mark (CSV and JSONL) and exported in UTF-16 with the mark', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const csv = path.join(dir, 'excel.csv');
  const csvText = `id\ttext\r\n${TEXTS.map((x, i) => `${i}\t${x}`).join('\r\n')}\r\n`;
  writeFileSync(csv, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csvText, 'utf16le')]));
  const out = path.join(dir, 'out.tsv');
  const r = await runCli(['run', '--input', csv, '--delimiter', 'tab', '--model', 'm', '--output', out, '--limit', '3'], env);
  assert.equal(r.code, 0, r.stderr);
  const resumed = await runCli(['run', '--input', csv, '--delimiter', 'tab', '--model', 'm', '--output', out], env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(s.requests.flatMap((q) => q.texts).sort(), [...TEXTS].sort());
  const written = readFileSync(out);
  assert.deepEqual([...written.subarray(0, 2)], [0xff, 0xfe]);
  const lines = written.subarray(2).toString('utf16le').split('\r\n');
  assert.equal(lines[0], 'id\ttext\tpredicted_label\tpredicted_score\ttruncated\terror');
  TEXTS.forEach((x, i) => assert.equal(lines[i + 1], `${i}\t${x}\t${expectedScores(x)[0]!.label}\t${expectedScores(x)[0]!.score}\t\t`));

  const jsonl = path.join(dir, 'be.jsonl');
  const body = TEXTS.map((x) => JSON.stringify({ text: x })).join('\n') + '\n';
  writeFileSync(jsonl, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(body, 'utf16le').swap16()]));
  const outJsonl = path.join(dir, 'be-out.jsonl');
  const j = await runCli(['run', '--input', jsonl, '--model', 'm', '--output', outJsonl], env);
  assert.equal(j.code, 0, j.stderr);
  const back = readFileSync(outJsonl);
  assert.deepEqual([...back.subarray(0, 2)], [0xfe, 0xff]);
  const objects = Buffer.from(back.subarray(2)).swap16().toString('utf16le').trim().split('\n').map((l) => JSON.parse(l) as { text: string; predicted_label: string });
  assert.deepEqual(objects.map((o) => o.text), TEXTS);
  assert.deepEqual(objects.map((o) => o.predicted_label), TEXTS.map((x) => expectedScores(x)[0]!.label));
});

test('--output-encoding writes another encoding; a label the output encoding cannot hold is one line, and the export command fixes it', async (t) => {
  const dir = tempDir(t);
  const s = await server(t, ['bien 👍', 'mal']);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const input = path.join(dir, 'cp1252.csv');
  cp1252Csv(input);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--encoding', 'windows-1252'], env);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot write .*out\.csv: "👍" \(U\+1F44D\) cannot be written in windows-1252, the output's encoding\. Write it in UTF-8 \(--output-encoding utf-8\) or as Parquet\./);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const e = await runCli(['export', path.join(dir, 'out.batchlabel.sqlite'), '--output', out, '--output-encoding', 'utf-8'], env);
  assert.equal(e.code, 0, e.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\r\n');
  assert.equal(lines.length, TEXTS.length + 1);
  assert.ok(lines[2]!.startsWith('1,Un “désastre” complet… 20 €,'), lines[2]);
  assert.match(lines.slice(1).join('\n'), /bien 👍/);
});

test('encodings that cannot be honoured are refused before any work, in one line', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, Buffer.from('\xef\xbb\xbfid,text\n0,caf\xc3\xa9\n', 'latin1'));
  const cases: [string[], RegExp][] = [
    [['--encoding', 'klingon'], /--encoding "klingon" is not an encoding: use utf-8, utf-16le, utf-16be, windows-1252 \(latin1\)/],
    [['--encoding', 'shift_jis'], /reads and writes UTF-8, UTF-16 and single-byte encodings .* not shift_jis\. Convert the file to UTF-8 first, e\.g\. iconv -f shift_jis -t utf-8/],
    [['--encoding', 'windows-1252'], /in\.csv starts with a UTF-8 byte order mark, so it is not windows-1252: drop --encoding/],
    [['--output-encoding', 'utf-16le', '--output-format', 'parquet'], /--output-encoding utf-16le does not apply to a Parquet output/],
  ];
  for (const [flags, message] of cases) {
    const r = await runCli(['run', '--input', input, '--model', 'm', '--endpoint', 'http://127.0.0.1:9/x', '--output', path.join(dir, 'o.csv'), ...flags]);
    assert.notEqual(r.code, 0, flags.join(' '));
    assert.match(r.stderr, message, flags.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const parquet = await runCli(['run', '--input', path.join(dir, 'x.parquet'), '--model', 'm', '--encoding', 'latin1']);
  assert.equal(parquet.code, 2, parquet.stderr);
  assert.match(parquet.stderr, /--encoding latin1 does not apply to a Parquet input \(its text is UTF-8\)/);
});

test('invalid UTF-8 is told where csv-parse reads the rows too (a stray quote under --relax-quotes)', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const csv = path.join(dir, 'latin1.csv');
  const head = Buffer.from('id,text\n0,plain\n1,a "quoted" word\n');
  writeFileSync(csv, Buffer.concat([head, Buffer.from('2,caf\xe9 "cr\xe8me"\n3,fine\n', 'latin1')]));
  const r = await runCli(['run', '--input', csv, '--model', 'm', '--relax-quotes', '--output', path.join(dir, 'out.csv')], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`the text at line 4, byte ${head.length} is not valid UTF-8`));
  assert.match(r.stderr, /1 row read in this run had text that is not valid UTF-8/);
  assert.equal(s.requests.flatMap((q) => q.texts).length, 4);
});

test('label({ encoding }) from code: the same job as the CLI runs', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'cp1252.csv');
  cp1252Csv(input);
  const output = path.join(dir, 'out.jsonl');
  const summary = await label({ input, encoding: 'cp1252', model: 'm', endpoint: `${s.url}/models/m`, output });
  assert.equal(summary.rows.labeled, TEXTS.length);
  const objects = textEncoding('windows-1252').decoder().decode(readFileSync(output), { stream: true }).trim().split('\r\n').map((l) => JSON.parse(l) as { text: string });
  assert.deepEqual(objects.map((o) => o.text), TEXTS);
});

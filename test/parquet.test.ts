import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ByteWriter, ParquetWriter, parquetWriteFile } from 'hyparquet-writer';
import type { ColumnSource } from 'hyparquet-writer/src/types.js';
import { expectedScores, startHfServer, type HfServer } from './support/hf-server.js';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { REVIEW_SCHEMA, reviewColumns, writeReviewsParquet } from './support/parquet-data.js';
import { openParquet } from '../src/io/parquet/read.js';
import { START } from '../src/io/types.js';
import { InputError } from '../src/errors.js';
import { outputCompressors } from '../src/io/parquet/codecs.js';
import { CompactFooter } from '../src/export/parquet-footer.js';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void };

async function server(t: T, opts: Parameters<typeof startHfServer>[0] = {}): Promise<HfServer> {
  const s = await startHfServer(opts);
  t.after(() => s.close());
  return s;
}

async function readParquet(file: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(file), compressors });
}

async function schemaOf(file: string) {
  return (await parquetMetadataAsync(await asyncBufferFromFile(file))).schema;
}

/** The compression codecs a file's column chunks use, each once. */
async function codecsOf(file: string) {
  return [...new Set((await parquetMetadataAsync(await asyncBufferFromFile(file))).row_groups.flatMap((g) => g.columns.map((c) => c.meta_data!.codec)))];
}

function best(text: string): { label: string; score: number } {
  return expectedScores(text).reduce((a, b) => (b.score > a.score ? b : a));
}

test('Parquet in, Parquet out: every input column keeps its type and values, the predictions are typed', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const cols = reviewColumns(1200);
  writeReviewsParquet(input, cols, 250);
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--text-column', 'review.body', '--model', 'm', '--output', out, '--batch-size', '16'], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /done: 1,200 rows labeled, 0 failed/);

  const schema = await schemaOf(out);
  const strip = (e: (typeof schema)[number]) => ({ name: e.name, type: e.type, converted_type: e.converted_type, repetition_type: e.repetition_type, num_children: e.num_children });
  assert.deepEqual(schema.slice(1, REVIEW_SCHEMA.length).map(strip), REVIEW_SCHEMA.slice(1).map(strip));
  const added = Object.fromEntries(schema.slice(REVIEW_SCHEMA.length).map((e) => [e.name, [e.type, e.converted_type]]));
  assert.deepEqual(added, {
    predicted_label: ['BYTE_ARRAY', 'UTF8'],
    predicted_score: ['DOUBLE', undefined],
    truncated: ['BOOLEAN', undefined],
    error: ['BYTE_ARRAY', 'UTF8'],
  });

  const rows = await readParquet(out);
  assert.equal(rows.length, 1200);
  rows.forEach((row, i) => {
    assert.equal(row.id, cols.id[i]);
    assert.equal(row.rating, cols.rating[i]);
    assert.equal(row.views, cols.views[i]);
    assert.equal(row.helpful, cols.helpful[i]);
    assert.equal(row.verified, cols.verified[i]);
    assert.deepEqual(row.review, cols.review[i]);
    const want = best(cols.review[i]!.body!);
    assert.equal(row.predicted_label, want.label);
    assert.ok(Math.abs((row.predicted_score as number) - want.score) < 1e-9);
    assert.equal(row.truncated, false);
    assert.equal(row.error, null);
  });
});

test('zstd Parquet in and out: the export is zstd throughout and another zstd decoder reads it back', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const cols = reviewColumns(900);
  writeReviewsParquet(input, cols, 300, 'ZSTD');
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--text-column', 'review.body', '--model', 'm', '--output', out, '--batch-size', '16'], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await codecsOf(out), ['ZSTD']);
  // hyparquet-compressors' zstd is a decoder of its own (JavaScript), not the native one that wrote the file.
  const rows = await readParquet(out);
  assert.equal(rows.length, 900);
  rows.forEach((row, i) => {
    assert.equal(row.id, cols.id[i]);
    assert.equal(row.views, cols.views[i]);
    assert.deepEqual(row.review, cols.review[i]);
    assert.equal(row.predicted_label, best(cols.review[i]!.body!).label);
  });
});

test('--parquet-compression: snappy from the run, job files, later exports and the library; gzip and uncompressed from export; a wrong value or a non-Parquet output is one line', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const cols = reviewColumns(300);
  writeReviewsParquet(input, cols, 100, 'ZSTD');
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--text-column', 'review.body', '--model', 'm', '--output', out, '--parquet-compression', 'snappy'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await codecsOf(out), ['SNAPPY']);
  const rows = await readParquet(out);
  assert.deepEqual(rows.map((x) => x.id), cols.id);
  assert.equal(rows[5]!.predicted_label, best(cols.review[5]!.body!).label);

  // A later export keeps the run's choice unless told otherwise.
  const checkpoint = path.join(dir, 'out.batchlabel.sqlite');
  const again = path.join(dir, 'again.parquet');
  assert.equal((await runCli(['export', checkpoint, '--output', again], env)).code, 0);
  assert.deepEqual(await codecsOf(again), ['SNAPPY']);
  assert.ok(readFileSync(again).equals(readFileSync(out)), 'the export after the run is the run\'s, byte for byte');
  const zstd = path.join(dir, 'zstd.parquet');
  assert.equal((await runCli(['export', checkpoint, '--output', zstd, '--parquet-compression', 'zstd'], env)).code, 0);
  assert.deepEqual(await codecsOf(zstd), ['ZSTD']);
  assert.deepEqual((await readParquet(zstd)).map((x) => x.predicted_label), rows.map((x) => x.predicted_label));
  for (const [name, codec] of [['gzip', 'GZIP'], ['uncompressed', 'UNCOMPRESSED']] as const) {
    const file = path.join(dir, `${name}.parquet`);
    assert.equal((await runCli(['export', checkpoint, '--output', file, '--parquet-compression', name], env)).code, 0);
    assert.deepEqual(await codecsOf(file), [codec]);
    assert.deepEqual(await readParquet(file), await readParquet(zstd), `${name}: the same rows`);
  }

  const { exportJob } = await import('../src/index.js');
  const fromCode = path.join(dir, 'from-code.parquet');
  await exportJob({ checkpoint, output: fromCode, parquetCompression: 'zstd' });
  assert.deepEqual(await codecsOf(fromCode), ['ZSTD']);
  await assert.rejects(exportJob({ checkpoint, output: fromCode, parquetCompression: 'lz4' as 'zstd' }), /parquetCompression` must be one of zstd, snappy, gzip, uncompressed, got "lz4"/);
  await assert.rejects(exportJob({ checkpoint, output: path.join(dir, 'x.csv'), parquetCompression: 'snappy' }), /parquetCompression` is for a Parquet output, and this one is CSV/);

  const job = path.join(dir, 'job.yaml');
  writeFileSync(job, `input: ${input}\ntextColumn: review.body\nmodel: m\noutput: ${path.join(dir, 'job.parquet')}\nparquetCompression: snappy\n`);
  assert.equal((await runCli(['run', job], env)).code, 0);
  assert.deepEqual(await codecsOf(path.join(dir, 'job.parquet')), ['SNAPPY']);
  writeFileSync(job, `input: ${input}\nmodel: m\nparquetCompression: lz4\n`);
  const badJob = await runCli(['run', job], env);
  assert.equal(badJob.code, 1, badJob.stderr);
  assert.match(badJob.stderr, /"parquetCompression" must be one of zstd, snappy, gzip, uncompressed, got "lz4"/);

  const csv = await runCli(['run', '--input', input, '--text-column', 'review.body', '--model', 'm', '--output', path.join(dir, 'x.csv'), '--parquet-compression', 'snappy'], env);
  assert.equal(csv.code, 2);
  assert.equal(csv.stderr.trim(), 'batchlabel: --parquet-compression is for a Parquet output, and this one is CSV: leave it out, or write .parquet.');
});

test('a damaged zstd page is the input\'s error, naming the file and the row group', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  writeReviewsParquet(input, reviewColumns(300), 100, 'ZSTD');
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(input));
  // The end of the first group's id column: the last bytes of its compressed page.
  const chunk = meta.row_groups[0]!.columns[0]!.meta_data!;
  const end = Number(chunk.data_page_offset) + Number(chunk.total_compressed_size);
  const fd = openSync(input, 'r+');
  writeSync(fd, Buffer.alloc(12, 0xff), 0, 12, end - 12);
  closeSync(fd);
  const from = await openParquet({ path: input, textColumn: 'review.body' }, START);
  t.after(() => from.close());
  await assert.rejects(async () => {
    for await (const _ of from.rows);
  }, (err: unknown) => err instanceof InputError && err.message.startsWith(`${input}: cannot decode row group 0: `));
});

test('the export\'s footer, kept as bytes group by group, is byte for byte the one hyparquet-writer writes', () => {
  const schema: Parameters<typeof parquetWriteFile>[0]['schema'] = [
    { name: 'root', num_children: 4 },
    { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'views', type: 'INT64', repetition_type: 'OPTIONAL' },
    { name: 'score', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
    { name: 'truncated', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
  ];
  const group = (g: number): ColumnSource[] => {
    const n = 40 + g;
    return [
      // Long texts (statistics truncated), a null, and a group of only nulls (no min or max) at 5.
      { name: 'text', data: Array.from({ length: n }, (_, i) => (g === 5 || i === 7 ? null : `review ${g}/${i} ünïcode ${'long text '.repeat(i)}`)), offsetIndex: false },
      { name: 'views', data: Array.from({ length: n }, (_, i) => (i % 9 === 2 ? null : BigInt(g * 1_000_003 + i) * 7_919n)), offsetIndex: false },
      { name: 'score', data: Array.from({ length: n }, (_, i) => (i % 5 === 1 ? null : (g + i) / 97)), offsetIndex: false },
      { name: 'truncated', data: Array.from({ length: n }, (_, i) => i % 3 === 0), offsetIndex: false },
    ];
  };
  const file = (groups: number, compact: boolean): Buffer => {
    const out = new ByteWriter();
    const writer = new ParquetWriter({ writer: out, schema, codec: 'ZSTD', compressors: outputCompressors(), statisticsTruncateLength: 16, createdBy: 'batchlabel' });
    const footer = compact ? new CompactFooter(writer) : undefined;
    for (let g = 0; g < groups; g++) {
      void writer.write({ columnData: group(g), rowGroupSize: 40 + g });
      footer?.take();
    }
    void (footer ? footer.finish() : writer.finish());
    return Buffer.from(out.getBytes());
  };
  // None, a list of fewer than 15 (size in the header byte), and more (size after it).
  for (const groups of [0, 3, 20]) assert.ok(file(groups, true).equals(file(groups, false)), `${groups} row groups`);

  const indexed = new ParquetWriter({ writer: new ByteWriter(), schema, compressors: outputCompressors(), codec: 'ZSTD' });
  const footer = new CompactFooter(indexed);
  void indexed.write({ columnData: group(0).map((c) => ({ ...c, offsetIndex: true })), rowGroupSize: 40, pageSize: 64 });
  assert.throws(() => footer.take(), /page indexes or bloom filters would be lost/);
});

test('Parquet in → CSV and JSONL out; CSV in → Parquet out; per-label scores as doubles', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const cols = reviewColumns(300);
  writeReviewsParquet(input, cols, 100);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const csvOut = path.join(dir, 'out.csv');
  assert.equal((await runCli(['run', '--input', input, '--text-column', 'review.body', '--model', 'm', '--output', csvOut], env)).code, 0);
  const csv = parse(readFileSync(csvOut)) as string[][];
  assert.deepEqual(csv[0], ['id', 'rating', 'views', 'helpful', 'verified', 'review', 'predicted_label', 'predicted_score', 'truncated', 'error']);
  assert.equal(csv[1]![2], '9007199254740000');
  assert.equal(csv[4]![2], ''); // null
  assert.deepEqual(JSON.parse(csv[1]![5]!), cols.review[0]);
  assert.equal(csv[1]![6], best(cols.review[0]!.body!).label);

  const jsonlOut = path.join(dir, 'out.jsonl');
  const j = await runCli(['export', path.join(dir, 'out.batchlabel.sqlite'), '--output', jsonlOut], env);
  assert.equal(j.code, 0, j.stderr);
  const lines = readFileSync(jsonlOut, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 300);
  assert.equal(lines[0]!.views, 9007199254740000);
  assert.equal(lines[0]!.rating, cols.rating[0]);
  assert.deepEqual(lines[0]!.review, cols.review[0]);
  assert.equal(lines[0]!.predicted_label, best(cols.review[0]!.body!).label);

  // CSV in → Parquet out, every label's score kept.
  const csvIn = path.join(dir, 'in.csv');
  writeFileSync(csvIn, stringify(cols.id.map((id, i) => ({ id, text: cols.review[i]!.body })), { header: true }));
  const pq = path.join(dir, 'from-csv.parquet');
  const c = await runCli(['run', '--input', csvIn, '--model', 'm', '--output', pq, '--all-scores'], env);
  assert.equal(c.code, 0, c.stderr);
  const schema = await schemaOf(pq);
  assert.deepEqual(schema.slice(1).map((e) => [e.name, e.type]), [
    ['id', 'BYTE_ARRAY'], ['text', 'BYTE_ARRAY'], ['predicted_label', 'BYTE_ARRAY'], ['predicted_score', 'DOUBLE'],
    ['score_NEGATIVE', 'DOUBLE'], ['score_POSITIVE', 'DOUBLE'], ['truncated', 'BOOLEAN'], ['error', 'BYTE_ARRAY'],
  ]);
  const rows = await readParquet(pq);
  assert.equal(rows.length, 300);
  const want = expectedScores(cols.review[7]!.body!);
  assert.equal(rows[7]!.id, cols.id[7]);
  assert.ok(Math.abs((rows[7]!.score_POSITIVE as number) - want.find((l) => l.label === 'POSITIVE')!.score) < 1e-9);
});

test('a Parquet export of several row groups (text buffers reused from group to group): every text and every group\'s statistics read back as written', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  // ~4.6 M characters: three groups of at most 2 Mi characters, the later texts three times longer, so a
  // buffer kept from an earlier group is sometimes too small.
  const texts = Array.from({ length: 2300 }, (_, i) => `${String(i).padStart(5, '0')} ${(i < 2000 ? 'plain review text ' : 'a much longer review, ünïcode ').repeat(i < 2000 ? 95 : 190)}`);
  const csvIn = path.join(dir, 'in.csv');
  writeFileSync(csvIn, stringify(texts.map((text, i) => ({ id: `r${i}`, text })), { header: true }));
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', csvIn, '--model', 'm', '--output', out, '--batch-size', '64'], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  const metadata = await parquetMetadataAsync(await asyncBufferFromFile(out));
  assert.ok(metadata.row_groups.length >= 3, `${metadata.row_groups.length} row groups`);
  const rows = await readParquet(out);
  assert.deepEqual(rows.map((row) => row.text), texts);
  let first = 0;
  for (const group of metadata.row_groups) {
    const inGroup = texts.slice(first, first + Number(group.num_rows)).map((x) => Buffer.from(x));
    first += Number(group.num_rows);
    const stats = group.columns[1]!.meta_data!.statistics!;
    const min = inGroup.reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
    const max = inGroup.reduce((a, b) => (Buffer.compare(a, b) >= 0 ? a : b));
    assert.ok(min.toString().startsWith(String(stats.min_value)) && String(stats.min_value).length > 0, `min ${String(stats.min_value)}`);
    assert.ok(String(max).startsWith(String(stats.max_value).slice(0, -1)) && String(stats.max_value).length > 0, `max ${String(stats.max_value)}`);
  }
  assert.equal(first, texts.length);
});

test('JSONL in → Parquet out: fields typed by their values', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.jsonl');
  writeFileSync(input, [{ text: 'good stuff', n: 1.5, ok: true, tags: ['a'] }, { text: 'bad stuff', n: 2, ok: false, tags: [] }].map((o) => JSON.stringify(o)).join('\n') + '\n');
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  const schema = await schemaOf(out);
  assert.deepEqual(schema.slice(1, 5).map((e) => [e.name, e.type, e.converted_type]), [['text', 'BYTE_ARRAY', 'UTF8'], ['n', 'DOUBLE', undefined], ['ok', 'BOOLEAN', undefined], ['tags', 'BYTE_ARRAY', 'JSON']]);
  const rows = await readParquet(out);
  assert.deepEqual(rows.map((x) => [x.text, x.n, x.ok, x.tags]), [['good stuff', 1.5, true, ['a']], ['bad stuff', 2, false, []]]);
});

test('text values that are not strings are bad rows with a clear error; a missing column is one line', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  parquetWriteFile({
    filename: input,
    columnData: [
      { name: 'text', data: ['fine text', null, '   ', 'more fine text'], type: 'STRING' },
      { name: 'n', data: [1, 2, 3, 4], type: 'INT32' },
    ],
  });
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 4, r.stderr);
  const rows = await readParquet(out);
  assert.deepEqual(rows.map((x) => x.error), [null, 'no text in column "text" (null)', null, null]); // the blank text is skipped, left blank
  assert.equal(rows[2]!.predicted_label, null);
  const status = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite')]);
  assert.match(status.stdout, /bad_row: 1\n {4}row 2: no text in column "text" \(null\)\n/, 'a Parquet file has rows, not lines');
  const report = path.join(dir, 'report.html');
  assert.equal((await runCli(['report', path.join(dir, 'out.batchlabel.sqlite'), '--output', report])).code, 0);
  assert.match(readFileSync(report, 'utf8'), /<th class="n">row<\/th><th>id<\/th><th>reason<\/th>/);

  const numeric = await runCli(['run', '--input', input, '--text-column', 'n', '--model', 'm', '--output', path.join(dir, 'n.parquet')], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(numeric.code, 4, numeric.stderr);
  const nrows = await readParquet(path.join(dir, 'n.parquet'));
  assert.equal(nrows[0]!.error, 'column "n" holds a number (1), not a string');

  // Fixed-length bytes are binary, not text; plain BYTE_ARRAY bytes inside a struct are text, as at the top level.
  const bytesInput = path.join(dir, 'bytes.parquet');
  parquetWriteFile({
    filename: bytesInput,
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'hash', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4, repetition_type: 'REQUIRED' },
      { name: 'meta', repetition_type: 'REQUIRED', num_children: 1 },
      { name: 'note', type: 'BYTE_ARRAY', repetition_type: 'REQUIRED' },
    ],
    columnData: [
      { name: 'hash', data: [new Uint8Array([1, 2, 3, 4])] },
      { name: 'meta', data: [{ note: new TextEncoder().encode('a fine film') }] },
    ],
  });
  for (const [column, error] of [['hash', 'column "hash" holds 4 bytes of binary, not a string'], ['meta.note', null]] as const) {
    const file = path.join(dir, `${column}.jsonl`);
    const run = await runCli(['run', '--input', bytesInput, '--text-column', column, '--model', 'm', '--output', file], { HF_INFERENCE_ENDPOINT: s.url });
    assert.equal(run.code, error ? 4 : 0, run.stderr);
    const got = JSON.parse(readFileSync(file, 'utf8')) as { error: string | null; predicted_label: string | null };
    assert.equal(got.error, error);
    if (!error) assert.equal(got.predicted_label, best('a fine film').label);
  }

  const missing = await runCli(['run', '--input', input, '--text-column', 'body', '--model', 'm'], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /no column "body"\. Columns: "text", "n"\. Pass the right one with --text-column/);
  assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/);
});

test('Parquet to Parquet writes the text column back as read: blank, null and invalid UTF-8 included', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const invalid = new Uint8Array([0x62, 0xff, 0x61, 0x64]);
  parquetWriteFile({ filename: input, columnData: [{ name: 'text', data: ['fine text', null, '   ', invalid, 'caf\u00e9 ok'], type: 'STRING' }] });
  const out = path.join(dir, 'out.parquet');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /the text at row 4 is not valid UTF-8; it is labeled with U\+FFFD .* fix it where it was made\./);
  assert.match(r.stderr, /1 row read in this run had text that is not valid UTF-8 \(the first at row 4\)/);
  const rows = await readParquet(out);
  assert.deepEqual(rows.map((x) => x.text), ['fine text', null, '   ', 'b\ufffdad', 'caf\u00e9 ok']);
  assert.deepEqual(rows.map((x) => x.predicted_label), [best('fine text').label, null, null, best('b\ufffdad').label, best('caf\u00e9 ok').label]);
});

test('a resumed read starts in its row group and never decodes the finished ones', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  const cols = reviewColumns(1000);
  writeReviewsParquet(input, cols, 200, 'UNCOMPRESSED');
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(input));
  // Wreck the first row group's pages: a read that touched them would fail.
  const g0 = meta.row_groups[0]!;
  const start = Number(g0.columns[0]!.meta_data!.data_page_offset);
  const end = Number(meta.row_groups[1]!.columns[0]!.meta_data!.data_page_offset);
  const fd = openSync(input, 'r+');
  writeSync(fd, Buffer.alloc(end - start, 0xff), 0, end - start, start);
  closeSync(fd);

  const from = await openParquet({ path: input, textColumn: 'review.body' }, { ordinal: 650, byte: 3, line: 651 });
  t.after(() => from.close());
  const got: number[] = [];
  for await (const row of from.rows) {
    assert.equal(row.text, cols.review[row.ordinal]!.body);
    got.push(row.ordinal);
  }
  assert.deepEqual(got, Array.from({ length: 350 }, (_, i) => 650 + i));

  const whole = await openParquet({ path: input, textColumn: 'review.body' }, START);
  t.after(() => whole.close());
  await assert.rejects(async () => {
    for await (const _ of whole.rows);
  }, InputError);
  await assert.rejects(openParquet({ path: input, textColumn: 'review.body' }, { ordinal: 650, byte: 1, line: 651 }), /not in this file's row groups/);
});

function committedRows(checkpoint: string): number {
  if (!existsSync(checkpoint)) return 0;
  try {
    const db = new Database(checkpoint, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM rows').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

test('killed mid-file, resumed: the Parquet export is byte for byte the uninterrupted one', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.parquet');
  writeReviewsParquet(input, reviewColumns(3000), 400);
  const ref = await server(t);
  const refOut = path.join(dir, 'ref.parquet');
  const base = ['--input', input, '--text-column', 'review.body', '--model', 'm', '--concurrency', '4'];
  const r = await runCli(['run', ...base, '--output', refOut], { HF_INFERENCE_ENDPOINT: ref.url });
  assert.equal(r.code, 0, r.stderr);

  const slow = await server(t, { delayMs: 4 });
  const out = path.join(dir, 'out.parquet');
  const checkpoint = path.join(dir, 'out.batchlabel.sqlite');
  const child = spawnCli(['run', ...base, '--output', out], { HF_INFERENCE_ENDPOINT: slow.url });
  const done = collect(child);
  for (const end = Date.now() + 60_000; committedRows(checkpoint) < 1500; await sleep(15)) assert.ok(Date.now() < end, 'rows committed in time');
  child.kill('SIGKILL');
  assert.equal((await done).signal, 'SIGKILL');
  assert.equal(existsSync(out), false, 'no half-written output under the name');
  const before = committedRows(checkpoint);
  assert.ok(before >= 1500 && before < 3000, `${before}`);

  const again = await runCli(['run', ...base, '--output', out], { HF_INFERENCE_ENDPOINT: slow.url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /resuming: [\d,]+ rows already finished/);
  assert.ok(readFileSync(out).equals(readFileSync(refOut)), 'export differs from the uninterrupted run');
  const sent = new Set(slow.requests.flatMap((q) => q.texts));
  assert.equal(sent.size, 3000);
});

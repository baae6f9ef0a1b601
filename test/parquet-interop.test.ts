/**
 * Parquet against another implementation: DuckDB (its own C++ reader and writer) writes the inputs, in
 * every codec and page layout it has and with the types datasets hold (dates, micro- and nanosecond
 * timestamps, decimals of 38 digits, UUIDs, lists, maps, structs of image bytes), and reads the exports back. Our own
 * reader and writer agreeing with each other would not catch a value both get wrong the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import { exportJob, label } from '../src/index.js';
import { CalendarDate, ExactDecimal, PreciseTimestamp, TimeOfDay } from '../src/io/parquet/values.js';
import { PARQUET_COMPRESSIONS } from '../src/job/options.js';
import { expectedScores, startHfServer, type HfServer } from './support/hf-server.js';
import { tempDir } from './support/cli.js';
import { writeInt96Parquet } from './support/parquet-data.js';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void> | void): void };

const ROWS = 2500;
const NULL_TEXTS = Array.from({ length: ROWS }, (_, i) => i).filter((i) => i % 17 === 2).length;

/** Every row's values, typed as datasets type them; a null text every 17th row. */
const TABLE = `select
  'r' || i as id,
  case when i % 17 = 2 then null else ['good', 'bad', 'fine'][i % 3 + 1] || ' film ' || i || repeat(' with a plot', i % 9) end as text,
  (i % 5)::TINYINT as label, (i * 1000)::UINTEGER as u32, (9007199254740000 + i)::BIGINT as views,
  case when i % 11 = 5 then null else i / 8 end::DOUBLE as helpful, i::FLOAT as f32, i % 2 = 0 as verified,
  (i * 1.0123456789)::DECIMAL(38, 10) as price, ((i % 200) * 3.5)::DECIMAL(4, 1) as stars,
  (i * 1.123456789012345678 - 1000)::DECIMAL(38, 18) as ledger, (i * 100000000000.01)::DECIMAL(18, 2) as cents,
  DATE '1969-12-25' + i::INTEGER as day,
  TIMESTAMP '2021-03-04 05:06:07.123456' + to_microseconds(i * 1001) as at_us,
  make_timestamp_ns(i * 123456789 - 1) as at_ns,
  TIMESTAMPTZ '2021-03-04 05:06:07+00' + to_seconds(i) as at_tz,
  TIMESTAMP_MS '2021-03-04 05:06:07.123' as at_ms,
  TIME '01:02:03' + to_seconds(i) as clock,
  uuid() as uid,
  {'bytes': ('\\x' || lpad(to_hex((i * 7) % 256), 2, '0'))::BLOB, 'path': 'img' || i || '.png'} as image,
  [{'bytes': ('\\x' || lpad(to_hex(i % 256), 2, '0'))::BLOB, 'path': 'p' || i}] as images,
  ('\\x' || lpad(to_hex(i % 256), 2, '0') || '\\xFF')::BLOB as raw,
  {'title': 't' || i, 'when': TIMESTAMP_NS '1900-01-01 00:00:00.000000001', 'amount': (i * 1.123456789012345678)::DECIMAL(38, 18), 'opens': TIME '09:30:00'} as meta,
  [(i * 1.123456789012345678)::DECIMAL(38, 18), (-i)::DECIMAL(38, 18)] as amounts,
  map(['x'], [(i * 1.000000000000000001)::DECIMAL(38, 18)]) as rates,
  map(['a', 'b'], [i, i + 1]) as counts,
  case when i % 3 = 0 then []::VARCHAR[] when i % 3 = 1 then null else ['x', null, 'y'] end as tags
  from range(0, ${ROWS}) t(i)`;

/** How DuckDB writes the input files: each codec it has, data pages v1 and v2, and strings without a dictionary. */
const WRITES: Record<string, string> = {
  zstd: 'compression zstd',
  snappy: 'compression snappy',
  gzip: 'compression gzip',
  brotli: 'compression brotli',
  lz4: 'compression lz4_raw',
  uncompressed: 'compression uncompressed',
  'pages-v2': 'compression zstd, parquet_version v2',
  'no-dictionary': 'compression snappy, dictionary_size_limit 1',
};

async function duckdb(t: T): Promise<DuckDBConnection> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  t.after(() => {
    con.closeSync();
    db.closeSync();
  });
  return con;
}

async function rows(con: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}

async function server(t: T): Promise<HfServer> {
  const s = await startHfServer();
  t.after(() => s.close());
  return s;
}

/** Input columns whose values differ between two files, row by row in file order (DuckDB compares the typed values). */
async function differingColumns(con: DuckDBConnection, a: string, b: string): Promise<string[]> {
  const columns = (await rows(con, `describe select * from read_parquet('${a}')`)).map((r) => String(r.column_name));
  const differing: string[] = [];
  for (const c of columns) {
    const [{ n }] = await rows(
      con,
      `select count(*) n from (select file_row_number r, "${c}" x from read_parquet('${a}', file_row_number = true)) i
       full join (select file_row_number r, "${c}" x from read_parquet('${b}', file_row_number = true)) o using (r)
       where i.x is distinct from o.x`,
    ) as [{ n: string }];
    if (n !== '0') differing.push(`${c} (${n} rows)`);
  }
  return differing;
}

function best(text: string): string {
  return expectedScores(text).reduce((a, b) => (b.score > a.score ? b : a)).label;
}

test('inputs DuckDB writes, in each codec and page layout: the Parquet export holds every value as it was, each row labeled', async (t) => {
  const dir = tempDir(t);
  const con = await duckdb(t);
  const s = await server(t);
  await con.run(`create table reviews as ${TABLE}`);
  for (const [name, options] of Object.entries(WRITES)) {
    const input = path.join(dir, `${name}.parquet`);
    await con.run(`copy reviews to '${input}' (format parquet, ${options}, row_group_size 700)`);
    const output = path.join(dir, `${name}.out.parquet`);
    const summary = await label({ input, model: 'm', endpoint: `${s.url}/models/m`, output, batchSize: 32 });
    assert.equal(summary.rows.failed, NULL_TEXTS, `${name}: the null texts are the failures (${JSON.stringify(summary.rows)})`);
    assert.deepEqual(await differingColumns(con, input, output), [], `${name}: the input's columns unchanged`);
    const labeled = await rows(con, `select text, predicted_label, error from read_parquet('${output}', file_row_number = true) where file_row_number in (0, 1, 2, 1000, ${ROWS - 1})`);
    for (const r of labeled) {
      if (r.text === null) assert.match(String(r.error), /no text in column "text" \(null\)/);
      else assert.equal(r.predicted_label, best(String(r.text)), `${name}: ${String(r.text)}`);
    }
  }
});

test('the export in each --parquet-compression: DuckDB reads every row, and filters pruned by its statistics find what a scan finds', async (t) => {
  const dir = tempDir(t);
  const con = await duckdb(t);
  const s = await server(t);
  const input = path.join(dir, 'in.parquet');
  await con.run(`copy (${TABLE}) to '${input}' (format parquet, compression zstd, row_group_size 1000)`);
  const checkpoint = path.join(dir, 'run.sqlite');
  await label({ input, model: 'm', endpoint: `${s.url}/models/m`, output: path.join(dir, 'first.parquet'), checkpoint });
  const scalar = ['id', 'label', 'u32', 'views', 'helpful', 'f32', 'price', 'stars', 'ledger', 'cents', 'day', 'at_us', 'at_ns', 'at_tz', 'clock', 'text', 'predicted_score'];
  for (const compression of PARQUET_COMPRESSIONS) {
    const output = path.join(dir, `${compression}.parquet`);
    await exportJob({ checkpoint, output, parquetCompression: compression });
    const codecs = await rows(con, `select distinct compression from parquet_metadata('${output}')`);
    assert.deepEqual(codecs.map((r) => r.compression), [compression.toUpperCase()]);
    assert.deepEqual(await differingColumns(con, path.join(dir, 'first.parquet'), output), [], compression);
    if (compression !== 'zstd') continue;
    // What a filter finds with the export's statistics (a group whose bounds exclude the value is skipped)
    // against the same filter over a plain scan: a LIMIT between keeps DuckDB from pushing the filter down.
    for (const column of scalar) {
      const file = column === 'predicted_score' ? path.join(dir, 'first.parquet') : input;
      // The least and greatest values (where statistics rounded the wrong way would lose rows) and a few between.
      const picks = await rows(
        con,
        `select v from (select min("${column}")::varchar v from read_parquet('${file}') union all select max("${column}")::varchar from read_parquet('${file}')
         union all (select "${column}"::varchar from read_parquet('${file}', file_row_number = true) where "${column}" is not null and hash(file_row_number) % 97 < 3 limit 3))`,
      );
      for (const { v } of picks) {
        for (const op of ['=', '<', '>=']) {
          const where = `"${column}" ${op} '${String(v).replaceAll("'", "''")}'`;
          const [want] = await rows(con, `select count(*) n from (select * from read_parquet('${file}') limit 9223372036854775807) where ${where}`);
          const [got] = await rows(con, `select count(*) n from read_parquet('${output}') where ${where}`);
          assert.equal(got!.n, want!.n, `${where}`);
        }
      }
    }
    const stats = await rows(con, `select path_in_schema c from parquet_metadata('${output}') where stats_min_value is null and stats_null_count < num_values`);
    assert.deepEqual(stats, [], 'every column chunk holding a value has its minimum and maximum');
  }
});

test('Parquet to CSV and JSONL: a DATE is its day, a TIME its time of day, timestamps and decimals keep every digit, bytes are base64', async (t) => {
  const dir = tempDir(t);
  const con = await duckdb(t);
  const s = await server(t);
  const input = path.join(dir, 'in.parquet');
  await con.run(`copy (${TABLE} limit 3) to '${input}' (format parquet)`);
  const jsonl = path.join(dir, 'out.jsonl');
  const checkpoint = path.join(dir, 'run.sqlite');
  await label({ input, model: 'm', endpoint: `${s.url}/models/m`, output: jsonl, checkpoint });
  const first = JSON.parse(readFileSync(jsonl, 'utf8').split('\n')[1]!) as Record<string, unknown>;
  assert.equal(first.day, '1969-12-26');
  assert.equal(first.at_us, '2021-03-04T05:06:07.124457Z');
  assert.equal(first.at_ns, '1970-01-01T00:00:00.123456788Z');
  assert.equal(first.at_ms, '2021-03-04T05:06:07.123Z');
  assert.equal(first.raw, Buffer.from([1, 0xff]).toString('base64'));
  assert.equal(first.clock, '01:02:04.000000', 'a TIME is a time of day, not a count of microseconds');
  assert.equal(first.stars, 3.5, 'a decimal a double holds exactly is a number');
  assert.equal(first.ledger, '-998.876543210987654322', 'one a double would round is its exact digits');
  assert.deepEqual(first.image, { bytes: Buffer.from([7]).toString('base64'), path: 'img1.png' });
  assert.deepEqual(first.meta, { title: 't1', when: '1900-01-01T00:00:00.000000001Z', amount: '1.123456789012345678', opens: '09:30:00.000000' });
  assert.deepEqual(first.amounts, ['1.123456789012345678', -1]);
  assert.deepEqual(first.rates, { x: '1.000000000000000001' });
  const csv = path.join(dir, 'out.csv');
  await exportJob({ checkpoint, output: csv });
  const line = readFileSync(csv, 'utf8').split('\n')[2]!;
  assert.ok(line.includes(',1969-12-26,2021-03-04T05:06:07.124457Z,1970-01-01T00:00:00.123456788Z,'), line);

  // TIME_MILLIS, which DuckDB does not write: an INT32 of milliseconds, written back as one.
  const millis = path.join(dir, 'millis.parquet');
  parquetWriteFile({
    filename: millis,
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'opens', type: 'INT32', converted_type: 'TIME_MILLIS', repetition_type: 'OPTIONAL' },
    ],
    columnData: [
      { name: 'text', data: ['a fine film', 'a dull film'] },
      { name: 'opens', data: [34_200_123, null] },
    ],
  });
  const millisOut = path.join(dir, 'millis.out.parquet');
  await label({ input: millis, model: 'm', endpoint: `${s.url}/models/m`, output: millisOut, checkpoint: path.join(dir, 'millis.sqlite') });
  assert.deepEqual(await rows(con, `select opens::varchar t from read_parquet('${millisOut}')`), [{ t: '09:30:00.123' }, { t: null }]);
  assert.deepEqual(await rows(con, `select type, converted_type from parquet_schema('${millisOut}') where name = 'opens'`), [{ type: 'INT32', converted_type: 'TIME_MILLIS' }]);

  assert.equal(new CalendarDate(-86_400_000).toISOString(), '1969-12-31');
  assert.deepEqual([new ExactDecimal(-5n, 3).toString(), new ExactDecimal(-5n, 3).plain(), new ExactDecimal(350n, 2).plain(), new ExactDecimal(-0n, 2).plain()], ['-0.005', -0.005, 3.5, 0]);
  assert.equal(new ExactDecimal(10n ** 30n + 1n, 2).plain(), '10000000000000000000000000000.01');
  assert.equal(new PreciseTimestamp(-1n, 9).toISOString(), '1969-12-31T23:59:59.999999999Z');
  assert.equal(new PreciseTimestamp(1_614_834_367_000_001n, 6).toISOString(), '2021-03-04T05:06:07.000001Z');
  assert.equal(new PreciseTimestamp(10n ** 25n, 9).toISOString(), (10n ** 25n).toString(), 'past a Date: the count as stored');
  assert.deepEqual([new TimeOfDay(86_399_999n, 3).toString(), new TimeOfDay(3_723_000_000_001n, 9).toString()], ['23:59:59.999', '01:02:03.000000001']);
});

test('INT96 timestamps (Spark, Impala) come out as nanosecond INT64 timestamps, to the nanosecond, as pyarrow rewrites them', async (t) => {
  const dir = tempDir(t);
  const con = await duckdb(t);
  const s = await server(t);
  const input = path.join(dir, 'spark.parquet');
  const nanos = [1_388_538_123_004_000_123n, null, -1n, 0n];
  writeInt96Parquet(input, ['a fine film', 'a dull film', 'so-so', 'great'], nanos);
  const [{ n }] = (await rows(con, `select count(*) n from read_parquet('${input}') where ts is not null`)) as [{ n: string }];
  assert.equal(n, '3', 'DuckDB reads the INT96 input');
  const output = path.join(dir, 'out.parquet');
  const checkpoint = path.join(dir, 'run.sqlite');
  await label({ input, model: 'm', endpoint: `${s.url}/models/m`, output, checkpoint });
  const types = await rows(con, `select type, logical_type from parquet_schema('${output}') where name = 'ts'`);
  assert.deepEqual(types.map((r) => r.type), ['INT64']);
  assert.match(String(types[0]!.logical_type), /isAdjustedToUTC=0.*NANOS=NanoSeconds/);
  const back = await rows(con, `select epoch_ns(ts)::varchar ns from read_parquet('${output}')`);
  assert.deepEqual(back.map((r) => r.ns), nanos.map((x) => (x === null ? null : String(x))));
  const jsonl = path.join(dir, 'out.jsonl');
  await exportJob({ checkpoint, output: jsonl });
  assert.deepEqual(readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { ts: string | null }).ts), ['2014-01-01T01:02:03.004000123Z', null, '1969-12-31T23:59:59.999999999Z', '1970-01-01T00:00:00.000000000Z']);
});

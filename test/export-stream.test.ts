import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { openExportStream } from '../src/export/stream.js';
import { openInput, type InputRow } from '../src/io/index.js';
import { tempDir } from './support/cli.js';
import { hfTestSettings } from './support/hf-server.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';

test('the export a run writes holds the rows behind a slow one and writes them, in order, once it is done', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  // More rows than the stream's first ring holds (1,024), so it grows while they wait.
  const n = 3000;
  writeFileSync(input, sampleCsv(sampleRows(n)));
  const settings = hfTestSettings(undefined, { input, textColumn: 'text' });
  const source = await openInput(settings, undefined, { raw: true });
  const rows: InputRow[] = [];
  for await (const row of source.rows) rows.push(row);
  source.close();
  const output = path.join(dir, 'out.csv');
  const stream = openExportStream(settings, { output, format: 'csv' }, source.header);
  // Each row's own result, so a row written with another's shows.
  const label = (o: number) => (o % 3 ? 'POSITIVE' : 'NEGATIVE');
  const done = (r: InputRow) => stream.finished({ ordinal: r.ordinal, status: 'done', label: label(r.ordinal), score: r.ordinal / 10_000 });

  // Row 0 is slow: every row after it is read and finished, out of order and while later rows are still
  // read (so the ring grows holding results), and must wait for it.
  stream.read(rows[0]!);
  for (let i = 1; i < n; i++) {
    stream.read(rows[i]!);
    if (i % 3 === 0) for (const j of [i, i - 2, i - 1]) done(rows[j]!);
  }
  for (let i = Math.floor((n - 1) / 3) * 3 + 1; i < n; i++) done(rows[i]!);
  assert.equal(stream.ready(), undefined, 'nothing written yet, so nothing to wait for');
  await assert.rejects(stream.finish(), new RegExp(`${n} rows read but not finished, from row 0`));
  done(rows[0]!);

  const summary = await stream.finish();
  assert.deepEqual(summary, { rows: n, labeled: n, failed: 0, skipped: 0, unlabeled: 0 });
  const records = parse(readFileSync(output)) as string[][];
  assert.equal(records.length, n + 1);
  assert.deepEqual(
    records.slice(1).map((r) => r.slice(-4)),
    rows.map((r) => [label(r.ordinal), String(r.ordinal / 10_000), '', '']),
  );
  assert.deepEqual(records.slice(1).map((r) => r.slice(0, -4)), rows.map((r) => r.record), 'rows in input order, columns untouched');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { openExportStream } from '../src/export/stream.js';
import { openInput, type InputRow } from '../src/readers/index.js';
import { tempDir } from './support/cli.js';
import { hfTestSettings } from './support/hf-server.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';

test('the export a run writes holds the rows behind a slow one and writes them, in order, once it is done', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, sampleCsv(sampleRows(100)));
  const settings = hfTestSettings(undefined, { input, textColumn: 'text' });
  const source = await openInput(settings, undefined, { raw: true });
  const rows: InputRow[] = [];
  for await (const row of source.rows) rows.push(row);
  source.close();
  const output = path.join(dir, 'out.csv');
  const stream = openExportStream(settings, { output, format: 'csv' }, source.header);
  const done = (r: InputRow) => stream.finished({ ordinal: r.ordinal, status: 'done', label: 'POSITIVE', score: 0.5 });

  // Row 0 is slow: every row after it is read and finished, and must wait for it.
  for (const r of rows) stream.read(r);
  for (const r of rows.slice(1)) done(r);
  assert.equal(stream.ready(), undefined, 'nothing written yet, so nothing to wait for');
  await assert.rejects(stream.finish(), /100 rows read but not finished, from row 0/);
  done(rows[0]!);

  const summary = await stream.finish();
  assert.deepEqual(summary, { rows: 100, labeled: 100, failed: 0, unlabeled: 0 });
  const records = parse(readFileSync(output)) as string[][];
  assert.equal(records.length, 101);
  assert.deepEqual(records.slice(1).map((r) => r.slice(-4)), Array(100).fill(['POSITIVE', '0.5', '', '']));
  assert.deepEqual(records.slice(1).map((r) => r.slice(0, -4)), rows.map((r) => r.record), 'rows in input order, columns untouched');
});

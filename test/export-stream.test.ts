import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { setTimeout as sleep } from 'node:timers/promises';
import { openExportStream } from '../src/export/stream.js';
import { openInput, type InputRow } from '../src/readers/index.js';
import { tempDir } from './support/cli.js';
import { hfTestSettings } from './support/hf-server.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';

test('the export a run writes holds rows behind a slow one only up to a limit, then makes the run wait, and lets it go once the row is done', async (t) => {
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
  for (const r of rows.slice(0, 40)) stream.read(r);
  for (const r of rows.slice(1, 40)) done(r);
  assert.equal(stream.ready(50), undefined, 'below the limit the run reads on');
  for (const r of rows.slice(40)) {
    stream.read(r);
    done(r);
  }
  const wait = stream.ready(50);
  assert.ok(wait, 'at the limit the run waits');
  let released = false;
  void wait.then(() => (released = true));
  await sleep(20);
  assert.equal(released, false, 'and keeps waiting while the slow row is not done');
  done(rows[0]!);
  await sleep(0);
  assert.equal(released, true, 'the slow row written, everything behind it goes out and the run reads on');

  const summary = await stream.finish();
  assert.deepEqual(summary, { rows: 100, labeled: 100, failed: 0, unlabeled: 0 });
  const records = parse(readFileSync(output)) as string[][];
  assert.equal(records.length, 101);
  assert.deepEqual(records.slice(1).map((r) => r.slice(-4)), Array(100).fill(['POSITIVE', '0.5', '', '']));
  assert.deepEqual(records.slice(1).map((r) => r.slice(0, -4)), rows.map((r) => r.record), 'rows in input order, columns untouched');
});

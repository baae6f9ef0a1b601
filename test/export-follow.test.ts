import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportResults, type FollowRun } from '../src/export/export.js';
import { ExportError } from '../src/errors.js';
import { Checkpoint, type RowRecord } from '../src/store/checkpoint.js';
import { tempDir } from './support/cli.js';
import { hfTestSettings } from './support/hf-server.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';

const ROWS = 300;

/** Row i done (every 7th failed), as a run would commit it. */
function finished(from: number, to: number): RowRecord[] {
  return Array.from({ length: to - from }, (_, k): RowRecord => {
    const i = from + k;
    return i % 7 === 3
      ? { ordinal: i, status: 'failed', errorKind: 'bad_input', error: `row ${i} refused`, line: i + 2, byteStart: 0 }
      : { ordinal: i, status: 'done', label: i % 2 ? 'POSITIVE' : 'NEGATIVE', score: 0.5 + i / 1000 };
  });
}

/** Commits rows and moves the committed frontier, as the run's writer does (one transaction). */
function commit(store: Checkpoint, rows: RowRecord[], frontier: number): void {
  store.commit(rows, { frontier: { ordinal: frontier, byte: 0, line: 0 } });
}

function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, sampleCsv(sampleRows(ROWS)));
  const checkpoint = path.join(dir, 'job.sqlite');
  const writer = Checkpoint.open(checkpoint, { create: true });
  const reader = Checkpoint.open(checkpoint, { readonly: true });
  t.after(() => {
    reader.close();
    writer.close();
  });
  const settings = hfTestSettings(undefined, { input, textColumn: 'text', checkpoint });
  return { dir, input, writer, reader, settings };
}

test('an export that follows a run writes each row only once the frontier has passed it, and matches the export after the run', async (t) => {
  const { dir, writer, reader, settings } = setup(t);
  const follow: FollowRun = { ended: () => false, pollMs: 5 };
  const out = path.join(dir, 'follow.csv');
  let settled = false;
  const following = exportResults(reader, settings, { output: out, format: 'csv', partial: false, follow }).finally(() => (settled = true));

  commit(writer, finished(0, 100), 100);
  // Finished out of order, beyond the frontier: a page read now must not stand for rows 100–149 later.
  commit(writer, finished(150, 200), 100);
  await sleep(60);
  assert.equal(settled, false, 'the export waits for rows the run has not finished');
  assert.equal(existsSync(out), false);
  commit(writer, finished(100, 150), 200);
  commit(writer, finished(200, ROWS), ROWS);
  // Every row is behind the frontier: the export is final and ends without waiting for the run to say so.
  const summary = await following;
  assert.deepEqual(summary, { rows: ROWS, labeled: ROWS - Math.ceil((ROWS - 3) / 7), failed: Math.ceil((ROWS - 3) / 7), unlabeled: 0 });

  writer.setMeta({ rows_total: ROWS });
  const after = path.join(dir, 'after.csv');
  await exportResults(reader, settings, { output: after, format: 'csv', partial: false });
  assert.ok(readFileSync(out).equals(readFileSync(after)), 'the followed export differs from the export after the run');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('a run that ends short of the input fails the followed export in one line, and leaves no partial file', async (t) => {
  const { dir, writer, reader, settings } = setup(t);
  commit(writer, finished(0, 120), 120);
  const out = path.join(dir, 'out.csv');
  await assert.rejects(exportResults(reader, settings, { output: out, format: 'csv', partial: false, follow: { ended: () => true, pollMs: 5 } }), (err: unknown) => {
    assert.ok(err instanceof ExportError);
    assert.match(err.message, /ended before data row 121 was finished.*batchlabel run/);
    return true;
  });
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('out.csv')), []);
});

test('a partial export left by a killed process is removed; a live process\'s is not', async (t) => {
  const { dir, writer, reader, settings } = setup(t);
  commit(writer, finished(0, ROWS), ROWS);
  writer.setMeta({ rows_total: ROWS });
  const out = path.join(dir, 'out.csv');
  const dead = `${out}.tmp-2147483646`; // above pid_max: no such process
  const live = `${out}.tmp-${process.ppid}`;
  writeFileSync(dead, 'partial');
  writeFileSync(live, 'partial');
  await exportResults(reader, settings, { output: out, format: 'csv', partial: false });
  assert.equal(existsSync(dead), false);
  assert.equal(existsSync(live), true);
});

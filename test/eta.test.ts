import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { etaMs } from '../src/api/eta.js';
import { startHfServer } from './support/hf-server.js';
import { collect, spawnCli, tempDir } from './support/cli.js';

test('ETA: none until this run has finished a row', () => {
  assert.equal(etaMs({ elapsedMs: 30_000, finishedThisRun: 0, finishedBefore: 5000, rowsTotal: 10_000 }), null);
  assert.equal(etaMs({ elapsedMs: 30_000, finishedThisRun: 0, finishedBefore: 0, rowsRead: 16_384, bytesRead: 1 << 20, bytesTotal: 1 << 30 }), null);
});

test("ETA: this run's rate over the rows still to do, whatever earlier runs finished", () => {
  // Resumed at 5,000 of 10,000: 100 rows in 10 s this run, 4,900 left → 490 s (not 5,100 rows "done" in 10 s).
  assert.equal(etaMs({ elapsedMs: 10_000, finishedThisRun: 100, finishedBefore: 5000, rowsTotal: 10_000 }), 490_000);
  assert.equal(etaMs({ elapsedMs: 10_000, finishedThisRun: 100, finishedBefore: 9900, rowsTotal: 10_000 }), 0);
});

test('ETA without a total: rows estimated from bytes per row read from the start, so skipped and read-ahead bytes do not shrink it', () => {
  // 1 GB input, 100 bytes a row (10 M rows). Resumed at row 6 M (600 MB skipped), the reader is 16,384 rows
  // ahead of the model, 1,000 rows finished in 20 s: 10 M − 6,001,000 rows left at 50 rows/s.
  const eta = etaMs({ elapsedMs: 20_000, finishedThisRun: 1000, finishedBefore: 6_000_000, rowsRead: 6_017_384, bytesRead: 601_738_400, bytesTotal: 1_000_000_000 });
  assert.equal(eta, Math.round((3_999_000 * 20_000) / 1000));
  assert.equal(etaMs({ elapsedMs: 20_000, finishedThisRun: 1000, finishedBefore: 0, rowsRead: 0, bytesRead: 0, bytesTotal: 1000 }), null);
});

/** "h m s" of duration() back to ms. */
function parseDuration(s: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?$/.exec(s);
  assert.ok(m, s);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}

function finishedRows(checkpoint: string): number {
  try {
    const db = new Database(checkpoint, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM rows').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

test('a resumed run shows no ETA before its first row, then one that matches the rows left at its own rate', async (t) => {
  const dir = tempDir(t);
  const s = await startHfServer({ delayMs: 20 });
  t.after(() => s.close());
  const ROWS = 40_000; // more than the reader runs ahead (16,384 rows): the total stays unknown
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `text\n${Array.from({ length: ROWS }, (_, i) => `review ${i}`).join('\n')}\n`);
  const checkpoint = path.join(dir, 'in.csv.batchlabel.sqlite');
  const args = ['run', '--input', input, '--model', 'm', '--concurrency', '2'];
  const env = { HF_INFERENCE_ENDPOINT: s.url, BATCHLABEL_PROGRESS_INTERVAL_MS: '300' };
  const first = spawnCli(args, env);
  const firstDone = collect(first);
  while (finishedRows(checkpoint) < 300) await sleep(50);
  first.kill('SIGKILL');
  await firstDone;
  const before = finishedRows(checkpoint);

  const second = spawnCli(args, env);
  const lines: string[] = [];
  second.stderr!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter((l) => l.includes('| ETA '))));
  const secondDone = collect(second);
  while (lines.filter((l) => !l.includes('ETA ?')).length < 3) await sleep(100);
  second.kill('SIGKILL');
  await secondDone;
  for (const l of lines) {
    const m = /^\S+ ([\d,]+) rows, [\d.]+% of input read \| ([\d,]+) rows\/s \| ETA (\S+)/.exec(l);
    assert.ok(m, l);
    const finished = Number(m[1]!.replace(/,/g, ''));
    if (finished === before) {
      assert.match(l, /ETA \?/, 'no ETA before this run finished a row');
      continue;
    }
    const perSec = Number(m[2]!.replace(/,/g, ''));
    if (perSec < 5) continue; // too few rows for a rounded rate to compare with
    const expected = ((ROWS - finished) / perSec) * 1000;
    const eta = parseDuration(m[3]!);
    assert.ok(eta > expected / 2 && eta < expected * 2, `${l}: expected about ${Math.round(expected / 1000)}s`);
  }
});

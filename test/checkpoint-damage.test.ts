/**
 * Bit flips in a real checkpoint: every export of a damaged copy either writes the right labels or fails
 * with one line; never a crash, never a label outside the job's label set.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, tempDir } from './support/cli.js';
import { startHfServer } from './support/hf-server.js';
import { seededRandom } from './support/random.js';

/** Byte ranges of the pages that hold results and job data (the 4 MB Bloom filter is left out: a flip there costs a lookup, never a result). */
function resultPages(file: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    const size = db.pragma('page_size', { simple: true }) as number;
    const pages = db.prepare("SELECT pageno FROM dbstat WHERE name IN ('rows', 'labels', 'meta', 'text_recent', 'sqlite_schema')").pluck().all() as number[];
    return pages.map((p) => (p - 1) * size);
  } finally {
    db.close();
  }
}

function labelsOf(csv: string): string[] {
  return csv.trim().split('\n').slice(1).map((l) => l.split(',')[2]!);
}

test('40 single-bit flips of a checkpoint: each export is right or one line, never a crash or a label outside the set', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 3000 }, (_, i) => `${i},review ${i} ${'w'.repeat(i % 50)}`).join('\n')}\n`);
  const checkpoint = path.join(dir, 'job.sqlite');
  const good = path.join(dir, 'good.csv');
  const first = await runCli(['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--output', good]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(existsSync(`${checkpoint}-wal`), false, 'closed: everything is in the main file');
  const expected = labelsOf(readFileSync(good, 'utf8'));
  const pageSize = 4096;
  const pages = resultPages(checkpoint);
  const random = seededRandom(19);
  const outcomes = { right: 0, refused: 0 };
  for (let i = 0; i < 40; i++) {
    const copy = path.join(dir, `flip-${i}.sqlite`);
    copyFileSync(checkpoint, copy);
    const bytes = readFileSync(copy);
    const at = pages[Math.floor(random() * pages.length)]! + Math.floor(random() * pageSize);
    const bit = 1 << Math.floor(random() * 8);
    bytes[at] = bytes[at]! ^ bit;
    writeFileSync(copy, bytes);
    const out = path.join(dir, `out-${i}.csv`);
    const r = await runCli(['export', copy, '--output', out]);
    const where = `flip of bit ${bit} at byte ${at}`;
    assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/, `${where}: ${r.stderr}`);
    if (r.code === 0) {
      assert.deepEqual(labelsOf(readFileSync(out, 'utf8')), expected, `${where}: exported, so every label must be right`);
      outcomes.right++;
    } else {
      assert.equal(r.code, 1, `${where}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${where}: one line: ${r.stderr}`);
      assert.equal(existsSync(out), false, `${where}: no output`);
      outcomes.refused++;
    }
    if (i % 2) continue;
    const st = await runCli(['status', copy]);
    assert.doesNotMatch(st.stderr, /internal error|at .*\.js:\d+/, `${where}: status: ${st.stderr}`);
    if (st.code === 1) assert.equal(st.stderr.trim().split('\n').length, 1, `${where}: status in one line: ${st.stderr}`);
  }
  t.diagnostic(`bit flips: ${outcomes.right} exported right, ${outcomes.refused} refused with one line`);
});

test('a label outside the job\'s label set is refused at export, the row named; a malformed database is one line', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 200 }, (_, i) => `${i},review ${i}`).join('\n')}\n`);
  const checkpoint = path.join(dir, 'job.sqlite');
  const first = await runCli(['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint]);
  assert.equal(first.code, 0, first.stderr);
  // The flip the probe found: POSITIVE → POSKTIVE (I 0x49 → K 0x4b is one bit).
  const copy = path.join(dir, 'flipped.sqlite');
  copyFileSync(checkpoint, copy);
  const bytes = readFileSync(copy);
  const db = new Database(checkpoint, { readonly: true });
  const ordinal = db.prepare("SELECT ordinal FROM rows WHERE label = 'POSITIVE' ORDER BY ordinal LIMIT 1").pluck().get() as number;
  db.close();
  const rowsPages = new Database(checkpoint, { readonly: true }).prepare("SELECT pageno FROM dbstat WHERE name = 'rows' AND pagetype = 'leaf'").pluck().all() as number[];
  const page = (rowsPages[0]! - 1) * 4096;
  const at = bytes.indexOf('POSITIVE', page);
  assert.ok(at > 0);
  bytes[at + 3] = bytes[at + 3]! ^ 0x02;
  writeFileSync(copy, bytes);
  const flipped = new Database(copy, { readonly: true });
  const hit = flipped.prepare("SELECT ordinal FROM rows WHERE label = 'POSKTIVE'").pluck().get() as number | undefined;
  flipped.close();
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['export', copy, '--output', out]);
  assert.equal(r.code, 1, r.stderr);
  if (hit !== undefined) {
    assert.match(r.stderr, new RegExp(`flipped\\.sqlite: the checkpoint is damaged: row ${hit + 1} \\(ordinal ${hit}\\) holds the label "POSKTIVE", which is not one of the job's labels \\(NEGATIVE, POSITIVE\\)`));
  } else assert.match(r.stderr, /the checkpoint is damaged/, `first POSITIVE row ${ordinal}`);
  assert.equal(existsSync(out), false);

  // A page header overwritten: SQLite's "database disk image is malformed" becomes the one line.
  const broken = path.join(dir, 'broken.sqlite');
  const b = readFileSync(checkpoint);
  b.fill(0xff, 4096 * 2, 4096 * 2 + 16);
  writeFileSync(broken, b);
  const r2 = await runCli(['export', broken, '--output', out]);
  assert.equal(r2.code, 1, r2.stderr);
  assert.match(r2.stderr, /^batchlabel: .*broken\.sqlite: the checkpoint is damaged: /m);
  assert.equal(r2.stderr.trim().split('\n').length, 1, r2.stderr);

  // A label stored as bytes, not text (the flip of one type bit in a record header): the queries of
  // status and report no longer agree with each other, which is damage too, in one line.
  const retyped = path.join(dir, 'retyped.sqlite');
  copyFileSync(checkpoint, retyped);
  const retypedDb = new Database(retyped);
  retypedDb.prepare('UPDATE rows SET label = CAST(label AS BLOB) WHERE ordinal = 7').run();
  retypedDb.close();
  for (const args of [['status', retyped], ['report', retyped, '--output', path.join(dir, 'r.html')], ['export', retyped, '--output', out]]) {
    const r3 = await runCli(args);
    assert.equal(r3.code, 1, `${args[0]}: ${r3.stderr}`);
    assert.match(r3.stderr, /^batchlabel: .*retyped\.sqlite: the checkpoint is damaged: /m, args[0]);
    assert.equal(r3.stderr.trim().split('\n').length, 1, `${args[0]}: ${r3.stderr}`);
  }
});

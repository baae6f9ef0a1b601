import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Checkpoint } from '../src/store/checkpoint.js';
import { labeledRows, textHash } from './support/checkpoint-rows.js';
import { tempDir } from './support/cli.js';

const SMALL = { bufferLimit: 100 };

function commitAll(store: Checkpoint, n: number, per = 37): void {
  for (let i = 0; i < n; i += per) store.commit(labeledRows(i, Math.min(n, i + per)));
}

function assertIndexed(store: Checkpoint, n: number): void {
  for (let i = 0; i < n; i++) {
    const got = store.lookupDone(textHash(`text ${i}`));
    if (i % 10 === 9) assert.equal(got, undefined, `row ${i} reused a result; its text was never stored`);
    else assert.deepEqual(got && { label: got.label, score: got.score }, { label: i % 2 ? 'POSITIVE' : 'NEGATIVE', score: i / 1e6 }, `row ${i}`);
  }
  for (let i = n; i < n + 200; i++) assert.equal(store.lookupDone(textHash(`text ${i}`)), undefined, `text ${i} was never committed`);
}

/** The sorted runs the text index holds on disk. */
function runCount(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM text_fences').pluck().get() as number;
  } finally {
    db.close();
  }
}

test('identical texts are found across in-memory, spilled and merged runs, and after a clean reopen', (t) => {
  const file = path.join(tempDir(t), 'c.sqlite');
  const store = Checkpoint.open(file, { create: true, textIndex: SMALL });
  commitAll(store, 1050);
  assertIndexed(store, 1050);
  store.close();
  // 945 hashes: 9 spills of 100 merge like a binary counter into runs of 800 and 100; 45 stay buffered.
  assert.equal(runCount(file), 2);

  const again = Checkpoint.open(file, { textIndex: SMALL });
  assertIndexed(again, 1050);
  commitAll(again, 2000);
  assertIndexed(again, 2000);
  again.close();
});

test('a process killed without closing loses no text: its buffer and the Bloom filter are rebuilt', (t) => {
  const file = path.join(tempDir(t), 'c.sqlite');
  const store = Checkpoint.open(file, { create: true, textIndex: SMALL });
  commitAll(store, 500);
  store.close();
  const here = path.dirname(fileURLToPath(import.meta.url));
  // A second process adds rows 500..1199 (spills included) and dies with its buffer unspilled.
  const script = `
    import { Checkpoint } from ${JSON.stringify(path.join(here, '../src/store/checkpoint.js'))};
    import { labeledRows } from ${JSON.stringify(path.join(here, 'support/checkpoint-rows.js'))};
    const store = Checkpoint.open(${JSON.stringify(file)}, { textIndex: { bufferLimit: 100 } });
    for (let i = 500; i < 1200; i += 37) store.commit(labeledRows(i, Math.min(1200, i + 37)));
    process.kill(process.pid, 'SIGKILL');
  `;
  assert.throws(() => execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' }), /SIGKILL|signal/);
  const after = Checkpoint.open(file, { textIndex: SMALL });
  assertIndexed(after, 1200);
  after.close();
});

test('a Bloom filter saved in another layout is rebuilt, then saved in this one', (t) => {
  const file = path.join(tempDir(t), 'c.sqlite');
  const store = Checkpoint.open(file, { create: true, textIndex: SMALL });
  commitAll(store, 500);
  store.close();
  const bloomIds = () => {
    const db = new Database(file);
    try {
      return db.prepare('SELECT id FROM text_bloom ORDER BY id').pluck().all() as number[];
    } finally {
      db.close();
    }
  };
  const [layout] = bloomIds();
  assert.ok(layout !== undefined);
  // As an older version left it: the same bits under another layout's id, which must not be read as this one's.
  const db = new Database(file);
  db.prepare('UPDATE text_bloom SET id = ?, bits = zeroblob(length(bits))').run(layout - 1);
  db.close();
  const again = Checkpoint.open(file, { textIndex: SMALL });
  assertIndexed(again, 500);
  again.close();
  assert.deepEqual(bloomIds(), [layout]);
  const third = Checkpoint.open(file, { textIndex: SMALL });
  assertIndexed(third, 500);
  third.close();
});

test('--restart forgets every text', (t) => {
  const file = path.join(tempDir(t), 'c.sqlite');
  const store = Checkpoint.open(file, { create: true, textIndex: SMALL });
  commitAll(store, 400);
  store.clear();
  assert.equal(store.lookupDone(textHash('text 1')), undefined);
  assert.equal(store.counts().done, 0);
  commitAll(store, 300);
  assertIndexed(store, 300);
  store.close();
  assert.ok(runCount(file) <= 2);
});

test('a checkpoint of another format is refused in one line that says what to do', (t) => {
  const file = path.join(tempDir(t), 'c.sqlite');
  const db = new Database(file);
  db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID; INSERT INTO meta VALUES ('schema_version', '"1"');`);
  db.close();
  assert.throws(() => Checkpoint.open(file), (err: Error) => /format "1" is not supported.*start a new job with another --checkpoint path/.test(err.message) && !err.message.includes('\n'));
});

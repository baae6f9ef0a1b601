import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Frontier } from '../src/runner/frontier.js';
import type { InputRow } from '../src/readers/index.js';

/** Row `i` of a file of 10-byte lines after a header line. */
const row = (i: number): InputRow => ({ ordinal: i, line: i + 2, nextLine: i + 3, byteStart: 10 * (i + 1), byteEnd: 10 * (i + 2), record: [] });

test('the frontier is the first unfinished row, whatever order rows finish in', () => {
  const f = new Frontier({ ordinal: 0, byte: 10, line: 2 });
  for (let i = 0; i < 5; i++) f.read(row(i));
  f.finish(1);
  f.finish(3);
  assert.deepEqual(f.position(), { ordinal: 0, byte: 10, line: 2 });
  f.finish(0);
  assert.deepEqual(f.position(), { ordinal: 2, byte: 30, line: 4 });
  f.finish(2);
  f.finish(4);
  assert.deepEqual(f.position(), { ordinal: 5, byte: 60, line: 7 }, 'all finished: where the next row starts');
  assert.equal(f.span, 0);
});

test('rows read behind a slow one make the run wait at the limit, until half of them are left', async () => {
  const f = new Frontier({ ordinal: 0, byte: 10, line: 2 });
  // Rows 0 and 20 are slow; every other row finishes at once.
  f.read(row(0));
  for (let i = 1; i < 49; i++) {
    f.read(row(i));
    if (i !== 20) f.finish(i);
    assert.equal(f.ready(50), undefined, `below the limit the run reads on (${i + 1} rows held)`);
  }
  f.read(row(49));
  f.finish(49);
  assert.equal(f.span, 50);
  const wait = f.ready(50);
  assert.ok(wait, 'at the limit the run waits');
  assert.equal(f.ready(50), wait, 'one wait, however often it asks');
  let released = false;
  void wait.then(() => (released = true));
  await sleep(20);
  assert.equal(released, false, 'and keeps waiting while the slow row is not done');
  f.finish(0);
  await sleep(0);
  assert.equal(f.span, 30);
  assert.equal(released, false, 'more than half the limit still held behind row 20');
  f.finish(20);
  await sleep(0);
  assert.equal(released, true, 'the slow rows done, nothing is held and the run reads on');
  assert.equal(f.span, 0);
});

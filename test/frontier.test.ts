import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Frontier } from '../src/pipeline/frontier.js';
import type { InputRow } from '../src/io/index.js';

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

test('the frontier agrees with a plain list of rows through thousands of rows finishing in random order', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const start = { ordinal: 100, byte: 1010, line: 102 };
  const f = new Frontier(start);
  const open: number[] = []; // ordinals read and not finished, in read order
  let next = start.ordinal;
  let maxSpan = 0;
  for (let step = 0; next < 30_100 || open.length; step++) {
    // Reads outpace finishes early on, so the span grows well past the first ring's 1,024 rows, then drains.
    if (next < 30_100 && (rand() < 0.6 || open.length === 0)) {
      f.read(row(next));
      open.push(next++);
    } else if (open.length) {
      // The first row read is rarely the next to finish, so thousands of rows pile up behind it at times.
      const k = rand() < 0.002 ? 0 : Math.floor(rand() * open.length);
      const [o] = open.splice(k, 1);
      f.finish(o!);
      f.finish(o!); // a second finish of the same row changes nothing
    }
    const first = open[0] ?? next;
    const expected = open.length ? { ordinal: first, byte: row(first).byteStart, line: row(first).line } : { ordinal: next, byte: row(next - 1).byteEnd, line: row(next - 1).nextLine };
    assert.deepEqual(f.position(), expected, `step ${step}`);
    assert.equal(f.span, next - first);
    maxSpan = Math.max(maxSpan, f.span);
  }
  assert.ok(maxSpan > 4096, `the span reached ${maxSpan}, past the first ring's size`);
  assert.equal(f.nextOrdinal, next);
  assert.throws(() => f.read(row(next + 1)), /read after row/, 'rows come in order');
});

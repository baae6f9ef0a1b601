import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashText } from '../src/job/fingerprint.js';
import { DistinctCounter } from '../src/plan/distinct.js';
import { LengthHistogram } from '../src/plan/histogram.js';
import { wilson } from '../src/plan/tokens.js';

test('distinct texts: exact up to the set limit, then the HyperLogLog sketch within its ~1% error; repeats never count', () => {
  const small = new DistinctCounter();
  for (let i = 0; i < 1000; i++) small.add(hashText(`text ${i % 700}`));
  assert.equal(small.count(), 700);
  assert.ok(small.exact);

  const big = new DistinctCounter();
  const n = 300_000;
  for (let i = 0; i < n; i++) {
    big.add(hashText(`review ${i}`));
    if (i % 3 === 0) big.add(hashText(`review ${i}`)); // a repeat
  }
  assert.ok(!big.exact, 'past the exact limit');
  const err = Math.abs(big.count() - n) / n;
  assert.ok(err < 0.03, `estimate ${big.count()} of ${n} (${(err * 100).toFixed(2)}% off)`);
});

test('length histogram: nearest-rank quantiles, long texts beyond the exact range count as the maximum', () => {
  const h = new LengthHistogram();
  for (let i = 1; i <= 100; i++) h.add(i);
  h.add(1_000_000);
  const s = h.summary()!;
  assert.deepEqual([s.count, s.min, s.median, s.p90, s.max], [101, 1, 51, 91, 1_000_000]);
  assert.equal(new LengthHistogram().summary(), null);
});

test('Wilson interval: contains the share, narrows with n, stays inside 0..1', () => {
  const a = wilson(15, 100);
  const b = wilson(150, 1000);
  assert.ok(a.low < 0.15 && 0.15 < a.high && b.high - b.low < a.high - a.low);
  const none = wilson(0, 50);
  assert.equal(none.low, 0);
  assert.ok(none.high > 0 && none.high < 0.1);
});

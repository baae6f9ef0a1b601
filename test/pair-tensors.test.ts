/**
 * padPairs writes each pair straight into the batch tensors; it must give the very tensors padBatch gives
 * for the same pairs encoded in full ([CLS] a [SEP] b [SEP] with their segment ids), for int64 and int32
 * inputs, left and right padding, and pad ids of 0, positive and negative.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padPairs, pairLength, type PairLayout, type PairRow } from '../src/backends/onnx/pair-encoding.js';
import { padBatch, type GraphInput, type PadSpec } from '../src/backends/onnx/tensors.js';
import { seededRandom } from './support/random.js';

const BERT: PairLayout = {
  prefix: { ids: [101], types: [0] },
  middle: { ids: [102], types: [0] },
  suffix: { ids: [102], types: [1] },
  firstType: 0,
  secondType: 1,
  special: 3,
};
/** A layout with two tokens in the middle and segment ids that differ from BERT's (RoBERTa-like, with types). */
const WIDE: PairLayout = {
  prefix: { ids: [0], types: [0] },
  middle: { ids: [2, 2], types: [0, 1] },
  suffix: { ids: [2], types: [1] },
  firstType: 0,
  secondType: 1,
  special: 4,
};

function encodedInFull(r: PairRow, layout: PairLayout) {
  const first = Array.from({ length: r.cut.first }, (_, k) => r.first[k]!);
  const second = Array.from({ length: r.cut.second }, (_, k) => r.second[k]!);
  const ids = [...layout.prefix.ids, ...first, ...layout.middle.ids, ...second, ...layout.suffix.ids];
  const typeIds = [
    ...layout.prefix.types,
    ...first.map(() => layout.firstType),
    ...layout.middle.types,
    ...second.map(() => layout.secondType),
    ...layout.suffix.types,
  ];
  assert.equal(ids.length, pairLength(layout, r.cut));
  return { ids, typeIds, truncated: false };
}

const values = (t: { data: unknown }) => Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v));

test('padPairs builds the same tensors as padBatch over the pairs encoded in full', () => {
  const rand = seededRandom(7);
  const randomIds = (n: number) => Int32Array.from({ length: n }, () => 1000 + Math.floor(rand() * 29000));
  const inputs: GraphInput[][] = [
    [
      { name: 'input_ids', type: 'int64' },
      { name: 'attention_mask', type: 'int64' },
      { name: 'token_type_ids', type: 'int64' },
    ],
    [
      { name: 'input_ids', type: 'int32' },
      { name: 'token_type_ids', type: 'int32' },
      { name: 'attention_mask', type: 'int64' },
    ],
  ];
  const pads: PadSpec[] = [
    { padId: 0, padSide: 'right' },
    { padId: 5, padSide: 'right' },
    { padId: -1, padSide: 'left' },
    { padId: 1, padSide: 'left' },
  ];
  let checked = 0;
  for (const layout of [BERT, WIDE]) {
    for (const inp of inputs) {
      for (const pad of pads) {
        for (let batch = 0; batch < 20; batch++) {
          const rows: PairRow[] = Array.from({ length: 1 + Math.floor(rand() * 9) }, () => {
            const first = randomIds(Math.floor(rand() * 40));
            const second = randomIds(1 + Math.floor(rand() * 8));
            // Sometimes cut, as truncation does; 0 tokens of the first text is possible too.
            const cut = { first: Math.floor(rand() * (first.length + 1)), second: rand() < 0.8 ? second.length : Math.floor(rand() * (second.length + 1)) };
            return { first, second, cut };
          });
          const mine = padPairs(rows, inp, pad, layout);
          const reference = padBatch(rows.map((r) => encodedInFull(r, layout)), inp, pad);
          assert.deepEqual(Object.keys(mine), Object.keys(reference));
          for (const name of Object.keys(reference)) {
            assert.equal(mine[name]!.type, reference[name]!.type, name);
            assert.deepEqual(mine[name]!.dims, reference[name]!.dims, name);
            assert.deepEqual(values(mine[name]!), values(reference[name]!), `${name}, pad ${JSON.stringify(pad)}`);
          }
          checked++;
        }
      }
    }
  }
  assert.equal(checked, 2 * 2 * 4 * 20);
});

test('padBatch writes int64 values with their sign and int32 values as they are', () => {
  const rows = [
    { ids: [-7, 3, 2 ** 31 - 1], typeIds: [0, 1, 1], truncated: false },
    { ids: [4], typeIds: [1], truncated: false },
  ];
  const wide = padBatch(rows, [{ name: 'input_ids', type: 'int64' }, { name: 'token_type_ids', type: 'int64' }], { padId: -3, padSide: 'right' });
  assert.deepEqual(Array.from(wide.input_ids!.data as BigInt64Array), [-7n, 3n, 2147483647n, 4n, -3n, -3n]);
  assert.deepEqual(Array.from(wide.token_type_ids!.data as BigInt64Array), [0n, 1n, 1n, 1n, 0n, 0n]);
  const narrow = padBatch(rows, [{ name: 'input_ids', type: 'int32' }], { padId: -3, padSide: 'left' });
  assert.deepEqual(Array.from(narrow.input_ids!.data as Int32Array), [-7, 3, 2147483647, -3, -3, 4]);
});

test('tensors cut from the shared cell chunks are zeroed and do not overlap', () => {
  const rows = (n: number, v: number) => Array.from({ length: n }, () => ({ ids: [v, v, v], typeIds: [1, 1, 1], truncated: false }));
  const inputs: GraphInput[] = [{ name: 'input_ids', type: 'int64' }, { name: 'attention_mask', type: 'int32' }, { name: 'token_type_ids', type: 'int64' }];
  // Enough batches to fill several chunks, plus one bigger than a chunk's share.
  const batches = [...Array.from({ length: 3000 }, (_, i) => padBatch(rows(1 + (i % 7), i + 1), inputs, { padId: 0, padSide: 'right' })), padBatch(rows(40_000, 5), inputs, { padId: 0, padSide: 'right' })];
  batches.forEach((feeds, i) => {
    const v = BigInt(i === 3000 ? 5 : i + 1);
    assert.ok((feeds.input_ids!.data as BigInt64Array).every((x) => x === v), `batch ${i} input_ids`);
    assert.ok((feeds.attention_mask!.data as Int32Array).every((x) => x === 1), `batch ${i} attention_mask`);
    assert.ok((feeds.token_type_ids!.data as BigInt64Array).every((x) => x === 1n), `batch ${i} token_type_ids`);
    assert.equal((feeds.input_ids!.data as BigInt64Array).byteOffset % 8, 0);
  });
});

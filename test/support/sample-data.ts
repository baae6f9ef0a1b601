/**
 * Writes data/reviews.csv and data/reviews.jsonl: a few hundred short product reviews, deterministic,
 * with the awkward cases a real export has (quoted commas, doubled quotes, newlines inside a field,
 * non-ASCII, a few exact duplicates). `node dist/test/support/sample-data.js` regenerates them;
 * a test checks the committed files still match.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'csv-stringify/sync';
import { seededRandom } from './random.js';

const OPENERS = ['I bought this {p}', 'We ordered the {p}', 'Got the {p} as a gift', 'Picked up this {p} on sale', 'This is my second {p}', 'Tried the {p} for a month'];
const GOOD = ['works perfectly', 'is great value, honestly', 'exceeded my expectations', 'is sturdy and well made', 'arrived early and works as described', 'is the best purchase this year'];
const BAD = ['broke after two days', 'is a waste of money', 'stopped working, sadly', 'feels cheap and flimsy', 'never arrived in one piece', 'is "premium" only in name'];
const MIXED = ['is fine, nothing special', 'does the job, but the manual is useless', 'is okay for the price'];
const TAILS = ['', ' Would buy again.', ' Returned it.', ' 5 stars!', ' Meh.', ' Très bien 👍', '\nSecond paragraph: support was "helpful", eventually.', ' Size runs small, order one up.'];
const PRODUCTS = ['kettle', 'headphones', 'desk lamp', 'backpack', 'phone case', 'blender', 'running shoes', 'keyboard'];


export interface SampleRow {
  id: string;
  product: string;
  rating: number;
  text: string;
}

export function sampleRows(n = 300): SampleRow[] {
  const r = seededRandom(20261122);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const rows: SampleRow[] = [];
  for (let i = 0; i < n; i++) {
    const tone = r();
    const body = tone < 0.45 ? pick(GOOD) : tone < 0.85 ? pick(BAD) : pick(MIXED);
    const rating = tone < 0.45 ? 4 + Math.floor(r() * 2) : tone < 0.85 ? 1 + Math.floor(r() * 2) : 3;
    const product = pick(PRODUCTS);
    let text = `${pick(OPENERS).replace('{p}', product)} and it ${body}.${pick(TAILS)}`;
    if (i % 50 === 17) text = rows[i - 10]!.text; // exact duplicates: classified once, reused
    rows.push({ id: `r${String(i + 1).padStart(4, '0')}`, product, rating, text });
  }
  return rows;
}

export function sampleCsv(rows = sampleRows()): string {
  return stringify(rows, { header: true, columns: ['id', 'product', 'rating', 'text'] });
}

export function sampleJsonl(rows = sampleRows()): string {
  return rows.map((row) => JSON.stringify({ id: row.id, meta: { product: row.product, rating: row.rating }, review: { text: row.text } })).join('\n') + '\n';
}

export const DATA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../data');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(path.join(DATA_DIR, 'reviews.csv'), sampleCsv());
  writeFileSync(path.join(DATA_DIR, 'reviews.jsonl'), sampleJsonl());
  console.log(`wrote ${DATA_DIR}/reviews.csv and reviews.jsonl`);
}

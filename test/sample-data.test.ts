import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DATA_DIR, sampleCsv, sampleJsonl } from './support/sample-data.js';
import { loadJobFile, resolveSettings } from '../src/job/resolve.js';
import { REPO } from './support/cli.js';

test('the committed sample data is what the generator writes', () => {
  assert.equal(readFileSync(path.join(DATA_DIR, 'reviews.csv'), 'utf8'), sampleCsv());
  assert.equal(readFileSync(path.join(DATA_DIR, 'reviews.jsonl'), 'utf8'), sampleJsonl());
});

test('the sample data has the awkward cases it promises', () => {
  const rows = parse(readFileSync(path.join(DATA_DIR, 'reviews.csv')), { columns: true }) as { text: string }[];
  assert.equal(rows.length, 300);
  assert.ok(rows.some((r) => r.text.includes(',')), 'quoted commas');
  assert.ok(rows.some((r) => r.text.includes('"')), 'doubled quotes');
  assert.ok(rows.some((r) => r.text.includes('\n')), 'newlines inside a field');
  assert.ok(rows.some((r) => /[^\x00-\x7f]/.test(r.text)), 'non-ASCII');
  assert.ok(new Set(rows.map((r) => r.text)).size < rows.length, 'exact duplicates');
});

test('every job file in jobs/ loads and points at data that exists', () => {
  const dir = path.join(REPO, 'jobs');
  const files = readdirSync(dir).filter((f) => /\.(json|ya?ml)$/.test(f));
  assert.ok(files.length >= 3);
  assert.ok(files.some((f) => f.endsWith('.yaml')), 'a YAML example');
  for (const f of files) {
    const s = resolveSettings(loadJobFile(path.join(dir, f)));
    assert.ok(readFileSync(s.input).length > 0, `${f}: input ${s.input}`);
    assert.ok(s.output?.startsWith(path.join(REPO, 'out')), `${f}: output goes to out/ (ignored by git)`);
  }
});

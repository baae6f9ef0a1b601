/**
 * Text classification with a multi-label model on the local backend, through the library API: a model
 * whose config.json says `problem_type: multi_label_classification` gets sigmoid scores and
 * predicted_labels without --multi-label, --no-multi-label keeps the top label, and resuming keeps the
 * checkpoint's choice. The model is the shared BoW classifier in a temporary folder of links, with its
 * config.json saying it is multi-label.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { label } from '../src/index.js';
import { runCli } from './support/cli.js';
import { Checkpoint } from '../src/store/checkpoint.js';
import { BOW, readImdb, sharedModel } from './support/onnx-models.js';

const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-multi-label-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The BoW model's files, linked, under a config.json that says what `problemType` says. */
function modelFolder(name: string, problemType: string): string {
  const from = sharedModel(BOW);
  const folder = path.join(dir, name);
  mkdirSync(folder);
  for (const e of readdirSync(from)) if (e !== 'config.json') symlinkSync(path.join(from, e), path.join(folder, e));
  const config = JSON.parse(readFileSync(path.join(from, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify({ ...config, problem_type: problemType }));
  return folder;
}

const MULTI = modelFolder('multi', 'multi_label_classification');
const SINGLE = modelFolder('single', 'single_label_classification');
const REVIEWS = path.join(dir, 'reviews.csv');
writeFileSync(REVIEWS, stringify(readImdb(60).map((r) => ({ id: r.id, text: r.text })), { header: true }));

type Row = Record<string, string>;
const rowsOf = (file: string) => parse(readFileSync(file), { columns: true }) as Row[];
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

async function run(name: string, options: Record<string, unknown>): Promise<{ rows: Row[]; notices: string[]; output: string }> {
  const output = path.join(dir, `${name}.csv`);
  const notices: string[] = [];
  await label({ input: REVIEWS, backend: 'onnx', model: MULTI, output, ...options }, { onNotice: (m) => notices.push(m) });
  return { rows: rowsOf(output), notices, output };
}

test('a model whose config says multi-label gets sigmoid scores per label and predicted_labels, without --multi-label', async () => {
  const multi = await run('multi', {});
  assert.ok(multi.notices.some((m) => /model is multi-label \(config\.json problem_type\): predicted_labels lists every label scoring at least 0\.5/.test(m)), multi.notices.join('\n'));
  const logits = await run('logits', { multiLabel: false, allScores: true, functionToApply: 'none' });
  assert.equal(multi.rows.length, 60);
  multi.rows.forEach((row, i) => {
    const raw = logits.rows[i]!;
    const scores = ['NEGATIVE', 'POSITIVE'].map((l) => [l, Number(row[`score_${l}`])] as const);
    for (const [l, s] of scores) assert.ok(Math.abs(s - sigmoid(Number(raw[`score_${l}`]))) < 1e-9, `row ${i} ${l}: ${s} is not sigmoid(${raw[`score_${l}`]})`);
    const listed = scores.filter(([, s]) => s >= 0.5).map(([l]) => l);
    assert.deepEqual(row.predicted_labels!.split('|').filter(Boolean).sort(), listed.sort(), `row ${i}`);
    const best = scores.reduce((a, b) => (b[1] > a[1] ? b : a));
    assert.equal(row.predicted_label, best[0]);
  });
});

test('--no-multi-label on a multi-label model keeps only the top label (its sigmoid score)', async () => {
  const top = await run('top', { multiLabel: false });
  const multi = rowsOf(path.join(dir, 'multi.csv'));
  assert.ok(!('predicted_labels' in top.rows[0]!) && !('score_POSITIVE' in top.rows[0]!), Object.keys(top.rows[0]!).join(','));
  assert.ok(!top.notices.some((m) => /problem_type/.test(m)), top.notices.join('\n'));
  top.rows.forEach((row, i) => {
    assert.equal(row.predicted_label, multi[i]!.predicted_label);
    assert.equal(row.predicted_score, multi[i]!.predicted_score);
  });
});

test('resuming rows labeled without predicted_labels goes on the same way; with them, the same', async () => {
  const first = await run('resume-top', { multiLabel: false, limit: 20 });
  assert.equal(first.rows.length, 20);
  const resumed = await run('resume-top', {});
  assert.ok(resumed.notices.some((m) => /was labeled without predicted_labels: resuming the same way \(`restart` `multiLabel`/.test(m)), resumed.notices.join('\n'));
  assert.ok(resumed.notices.some((m) => /resuming: 20 rows already finished/.test(m)), resumed.notices.join('\n'));
  assert.equal(resumed.rows.length, 60);
  assert.ok(!('predicted_labels' in resumed.rows[0]!));

  await run('resume-multi', { limit: 20 });
  const again = await run('resume-multi', {});
  assert.ok(!again.notices.some((m) => /without predicted_labels/.test(m)), again.notices.join('\n'));
  assert.equal(again.rows.length, 60);
  assert.deepEqual(again.rows.map((r) => r.predicted_labels), rowsOf(path.join(dir, 'multi.csv')).map((r) => r.predicted_labels));
});

test('--multi-label is part of the job: resuming without it is refused; a checkpoint that kept it only in its settings resumes', async () => {
  const output = path.join(dir, 'single.csv');
  const job = { input: REVIEWS, backend: 'onnx', model: SINGLE, output } as const;
  await label({ ...job, multiLabel: true, limit: 20 });
  await assert.rejects(label(job), /belongs to another job: multiLabel changed \(true → \(unset\)\)/);
  // As checkpoints made before text-classification stored it among the result settings.
  const checkpoint = path.join(dir, 'single.batchlabel.sqlite');
  const store = Checkpoint.open(checkpoint);
  const { multiLabel, ...older } = store.getMeta('result_settings') ?? {};
  assert.equal(multiLabel, true);
  store.setMeta({ result_settings: older });
  store.close();
  const summary = await label({ ...job, multiLabel: true });
  assert.equal(summary.rows.labeled, 60);
  assert.ok(rowsOf(output).every((r) => r.predicted_labels !== undefined));
});

test('CLI: the notice names the flags, and --no-multi-label is taken', async () => {
  const output = path.join(dir, 'cli.csv');
  const on = await runCli(['run', '--input', REVIEWS, '--backend', 'onnx', '--model', MULTI, '--output', output, '--limit', '10']);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stderr, /the model is multi-label \(config\.json problem_type\): predicted_labels lists every label scoring at least 0\.5 \(--threshold\); --no-multi-label keeps only the top label\./);
  assert.ok('predicted_labels' in rowsOf(output)[0]!);
  const off = await runCli(['run', '--input', REVIEWS, '--backend', 'onnx', '--model', MULTI, '--output', output, '--no-multi-label', '--restart']);
  assert.equal(off.code, 0, off.stderr);
  assert.ok(!('predicted_labels' in rowsOf(output)[0]!));
});

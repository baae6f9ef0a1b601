import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { startHfServer, expectedScores, type HfServer } from './support/hf-server.js';
import { REPO, runCli, tempDir } from './support/cli.js';

const TOKEN = 'hf_TestSecretToken1234567890';
const CSV_IN = path.join(REPO, 'data/reviews.csv');
const JSONL_IN = path.join(REPO, 'data/reviews.jsonl');

async function server(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startHfServer>[0] = {}): Promise<HfServer> {
  const s = await startHfServer({ token: TOKEN, ...opts });
  t.after(() => s.close());
  return s;
}

function env(s: HfServer): Record<string, string> {
  return { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN };
}

function readCsv(file: string): string[][] {
  return parse(readFileSync(file), { bom: true, relax_column_count: true }) as string[][];
}

test('CSV end to end: original columns untouched, every row its own answer, identical texts sent once', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', CSV_IN, '--model', 'org/sentiment', '--output', out], env(s));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /done: 300 rows labeled, 0 failed, \d+ reused from identical texts/);
  const input = readCsv(CSV_IN);
  const output = readCsv(out);
  assert.deepEqual(output[0], [...input[0]!, 'predicted_label', 'predicted_score', 'truncated', 'error']);
  assert.equal(output.length, input.length);
  const textCol = input[0]!.indexOf('text');
  const texts = new Set<string>();
  for (let i = 1; i < input.length; i++) {
    const row = output[i]!;
    assert.deepEqual(row.slice(0, input[0]!.length), input[i], `row ${i} columns changed`);
    const best = expectedScores(input[i]![textCol]!)[0]!;
    assert.equal(row[4], best.label);
    assert.equal(Number(row[5]), best.score);
    assert.equal(row[6], '');
    assert.equal(row[7], '');
    texts.add(input[i]![textCol]!);
  }
  assert.ok(texts.size < 300, 'the sample has duplicate texts');
  assert.equal(s.requests.length, texts.size, 'one request per distinct text');
  const req = s.requests[0]!;
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/models/org/sentiment');
  assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
});

test('CSV export copies each row\'s original bytes (quoting, CRLF inside fields, non-UTF-8 bytes) and appends the added columns', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const records = [Buffer.from('1,"Ann","great, really"'), Buffer.from('"2",Bob,"two\r\nlines, ""quoted"""'), Buffer.concat([Buffer.from('3,Caf'), Buffer.from([0xe9]), Buffer.from(',plain text')]), Buffer.from('4,short')];
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, Buffer.concat([Buffer.from('\ufeff"id",name,text\r\n'), ...records.flatMap((r) => [r, Buffer.from('\r\n')])]));
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out], env(s));
  assert.equal(r.code, 4, r.stderr); // the short row fails
  const added = (text: string, eol = '\r\n') => {
    const best = expectedScores(text)[0]!;
    return `,${best.label},${best.score},,${eol}`; // the input's line ends are kept
  };
  const expected = Buffer.concat([
    Buffer.from('id,name,text,predicted_label,predicted_score,truncated,error\r\n'),
    records[0]!, Buffer.from(added('great, really')),
    records[1]!, Buffer.from(added('two\r\nlines, "quoted"')),
    records[2]!, Buffer.from(added('plain text')),
    // A row of the wrong width is written from its fields, padded to the header's width.
    Buffer.from('4,short,,,,,"expected 3 fields (as in the header), found 2"\r\n'),
  ]);
  assert.equal(readFileSync(out).toString('latin1'), expected.toString('latin1'));

  // Tab-separated in, comma-separated out: the fields are written again, quoted for the new delimiter.
  const tsv = path.join(dir, 'in.tsv');
  writeFileSync(tsv, 'id\ttext\n1\tgood, fine\n');
  const out2 = path.join(dir, 'out.csv');
  assert.equal((await runCli(['run', '--input', tsv, '--model', 'm', '--output', out2, '--restart'], env(s))).code, 0);
  assert.equal(readFileSync(out2, 'utf8'), `id,text,predicted_label,predicted_score,truncated,error\n1,"good, fine"${added('good, fine', '\n')}`);
});

test('the export a fresh run writes as it goes is byte for byte the export read back from the checkpoint', async (t) => {
  // Refused, truncated, duplicate and malformed rows, answered out of order.
  const s = await server(t, { delayMs: 2, badMarker: 'stopped working', maxChars: 120 });
  const dir = tempDir(t);
  const csv = path.join(dir, 'in.csv');
  writeFileSync(csv, `${readFileSync(CSV_IN, 'utf8')}short,row\n`);
  const jsonl = path.join(dir, 'in.jsonl');
  writeFileSync(jsonl, `${readFileSync(JSONL_IN, 'utf8')}not json\n`);
  const cases = [
    { name: 'csv', input: csv, output: 'a.csv', args: [] },
    { name: 'jsonl', input: jsonl, output: 'b.jsonl', args: ['--text-column', 'review.text'] },
    { name: 'csv to jsonl', input: csv, output: 'c.jsonl', args: [] },
    { name: 'jsonl to csv', input: jsonl, output: 'd.csv', args: ['--text-column', 'review.text'] },
  ];
  for (const c of cases) {
    const out = path.join(dir, c.output);
    const r = await runCli(['run', '--input', c.input, '--model', 'm', '--output', out, '--concurrency', '8', ...c.args], env(s));
    assert.equal(r.code, 4, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, /failed, \d+ reused from identical texts, \d+ truncated/, c.name);
    const again = path.join(dir, `again-${c.output}`);
    const e = await runCli(['export', out.replace(/\.\w+$/, '.batchlabel.sqlite'), '--output', again]);
    assert.equal(e.code, 0, `${c.name}: ${e.stderr}`);
    assert.ok(readFileSync(out).equals(readFileSync(again)), `${c.name}: the exports differ`);
  }
});

test('identical texts are sent once across runs: a resumed run reuses the results of earlier runs', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const checkpoint = path.join(dir, 'job.sqlite');
  const first = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--checkpoint', checkpoint, '--limit', '150'], env(s));
  assert.equal(first.code, 0, first.stderr);
  const second = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--checkpoint', checkpoint], env(s));
  assert.equal(second.code, 0, second.stderr);
  const input = readCsv(CSV_IN);
  const textCol = input[0]!.indexOf('text');
  const early = new Set(input.slice(1, 151).map((r) => r[textCol]));
  const all = new Set(input.slice(1).map((r) => r[textCol]));
  assert.ok(input.slice(151).some((r) => early.has(r[textCol])), 'the sample repeats early texts later');
  assert.equal(s.requests.length, all.size, 'one request per distinct text over both runs');
});

test('JSONL end to end: each input line kept byte for byte, fields added; --json summary', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '--input', JSONL_IN, '--text-column', 'review.text', '--model', 'm', '--output', out, '--json', '--quiet'], env(s));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.state, 'completed');
  assert.equal(summary.rows.labeled, 300);
  assert.equal(summary.exitCode, 0);
  const inLines = readFileSync(JSONL_IN, 'utf8').trimEnd().split('\n');
  const outLines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(outLines.length, inLines.length);
  inLines.forEach((line, i) => {
    const o = outLines[i]!;
    assert.ok(o.startsWith(line.slice(0, -1) + ','), `line ${i + 1} not preserved`);
    const obj = JSON.parse(o);
    const best = expectedScores(obj.review.text)[0]!;
    assert.equal(obj.predicted_label, best.label);
    assert.equal(obj.predicted_score, best.score);
    assert.equal(obj.truncated, false);
    assert.equal(obj.error, null);
  });
});

test('bad rows become failed rows with line and reason; exit 4; status groups them', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'bad.csv');
  writeFileSync(input, 'id,text\n1,good one\n2\n3,"",x\n4,   \n5,"fine, ""really"""\n');
  const out = path.join(dir, 'out.csv');
  // --empty fail: the empty text (row 4) fails as a bad row, as every empty text did before they were skipped.
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--id-column', 'id', '--empty', 'fail'], env(s));
  assert.equal(r.code, 4, r.stderr);
  const rows = readCsv(out);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.map((x) => x[0]), ['id', '1', '2', '3', '4', '5']);
  assert.match(rows[2]![5]!, /expected 2 fields/);
  assert.deepEqual(rows[2]!.slice(0, 4), ['2', '', '', '']);
  assert.match(rows[4]![5]!, /empty text/);
  assert.equal(rows[5]![2], expectedScores('fine, "really"')[0]!.label);
  assert.equal(s.requests.length, 2, 'bad rows are never sent');

  const st = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite')]);
  assert.equal(st.code, 4);
  assert.match(st.stdout, /5 total, 2 labeled, 3 failed, 0 pending/);
  assert.match(st.stdout, /bad_row: 3/);
  assert.match(st.stdout, /line 3 id 2: expected 2 fields/);
  const js = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite'), '--json']);
  const rep = JSON.parse(js.stdout);
  assert.deepEqual(rep.rows, { total: 5, done: 2, failed: 3, skipped: 0, pending: 0, truncated: 0 });
  assert.equal(rep.failures[0].kind, 'bad_row');
  assert.equal(rep.lastRun.state, 'completed');
});

test('reading pauses behind a row waiting in a part-filled batch without waiting for ever: the batch is sent', { timeout: 60_000 }, async (t) => {
  // Two texts to send, then more rows than a run holds behind an unfinished row (16,384): bad rows, which
  // finish as they are read, and the second text again, which waits for its first copy. The batch of 64
  // the first two are in never fills, so only the pause can send it (before it did, the run hung here).
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  const lines = ['id,text', '0,a first review', '1,a second review'];
  for (let i = 2; i < 20_000; i++) lines.push(i % 2 ? `${i},` : `${i},a second review`);
  writeFileSync(input, `${lines.join('\n')}\n`);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--batch-size', '64', '--concurrency', '1', '--empty', 'fail'], env(s));
  assert.equal(r.code, 4, r.stderr);
  const rows = readCsv(out);
  assert.equal(rows.length, 20_001);
  assert.equal(rows[1]![2], expectedScores('a first review')[0]!.label);
  assert.equal(rows[19_999]![2], expectedScores('a second review')[0]!.label);
  assert.match(rows[20_000]![5]!, /empty text/);
});

test('--top-k adds one score column per label; --limit labels a trial; names are configurable', async (t) => {
  const s = await server(t, { labels: ['neg', 'neu', 'pos'] });
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--output', out, '--top-k', '3', '--limit', '20', '--label-column', 'sentiment'], env(s));
  assert.equal(r.code, 0, r.stderr);
  const rows = readCsv(out);
  assert.equal(rows.length, 21);
  assert.deepEqual(rows[0]!.slice(4), ['sentiment', 'predicted_score', 'score_neg', 'score_neu', 'score_pos', 'truncated', 'error']);
  const text = rows[1]![3]!;
  const exp = expectedScores(text, ['neg', 'neu', 'pos']);
  assert.equal(rows[1]![4], exp[0]!.label);
  for (const [i, l] of ['neg', 'neu', 'pos'].entries()) assert.equal(Number(rows[1]![6 + i]), exp.find((e) => e.label === l)!.score);
  assert.deepEqual((s.requests[0]!.body as { parameters: unknown }).parameters, { top_k: 3 });
});

test('an added column that clashes with an input column is refused with the flag to rename it', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'c.csv');
  writeFileSync(input, 'text,predicted_label\nhello,x\n');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', path.join(dir, 'o.csv')], env(s));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already has a column "predicted_label".*--label-column/);
  assert.equal(r.stderr.trim().split('\n').at(-1)!.startsWith('batchlabel: '), true);
  assert.equal(s.requests.length, 0, 'refused before labeling anything');
  const renamed = await runCli(['run', '--input', input, '--model', 'm', '--output', path.join(dir, 'o.csv'), '--label-column', 'sentiment'], env(s));
  assert.equal(renamed.code, 0, renamed.stderr);
  assert.deepEqual(readCsv(path.join(dir, 'o.csv'))[0], ['text', 'predicted_label', 'sentiment', 'predicted_score', 'truncated', 'error']);
  // Exported again from the checkpoint, the clash is refused the same way.
  const again = await runCli(['export', path.join(dir, 'o.batchlabel.sqlite'), '--output', path.join(dir, 'p.csv'), '--label-column', 'predicted_label']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already has a column "predicted_label".*--label-column/);
});

test('resuming with a changed input or changed settings is refused; --restart starts over', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  copyFileSync(CSV_IN, input);
  const out = path.join(dir, 'out.csv');
  const args = ['run', '--input', input, '--model', 'm', '--output', out];
  assert.equal((await runCli(args, env(s))).code, 0);
  const again = await runCli(args, env(s));
  assert.equal(again.code, 0, 'a finished job run again is a no-op');
  assert.equal(s.requests.length < 300, true);
  const before = s.requests.length;

  const model = await runCli([...args.slice(0, 4), 'other/model', ...args.slice(5)], env(s));
  assert.equal(model.code, 1);
  assert.match(model.stderr, /belongs to another job: model changed \("m" → "other\/model"\).*--restart/);

  writeFileSync(input, readFileSync(CSV_IN, 'utf8') + '999,x,1,one more\n');
  const changed = await runCli(args, env(s));
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /the input changed size/);
  assert.equal(s.requests.length, before, 'nothing was sent after a refusal');

  const restart = await runCli([...args, '--restart'], env(s));
  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stderr, /--restart: discarding 300 finished rows/);
  assert.equal(readCsv(out).length, 302);
});

test('--retry-failed re-attempts only the failed rows', async (t) => {
  let failing = true;
  const s = await server(t, {
    respond: (req) => (failing && req.texts.some((x) => x.includes('stopped working')) ? { status: 500, json: { error: 'boom' } } : undefined),
  });
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const args = ['run', '--input', CSV_IN, '--model', 'm', '--output', out, '--max-retries', '0'];
  const first = await runCli(args, env(s));
  assert.equal(first.code, 4, first.stderr);
  const failed = readCsv(out).filter((r) => r[7] !== '' && r[7] !== 'error');
  assert.ok(failed.length > 0);
  assert.ok(failed.every((r) => r[3]!.includes('stopped working')));
  failing = false;
  const sent = s.requests.length;
  const retry = await runCli([...args, '--retry-failed'], env(s));
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stderr, new RegExp(`--retry-failed: retrying ${failed.length} failed rows`));
  const resent = s.requests.slice(sent);
  assert.ok(resent.every((q) => q.texts.every((x) => x.includes('stopped working'))), 'only failed texts are sent again');
  const rows = readCsv(out);
  assert.ok(rows.slice(1).every((r) => r[4] !== '' && r[7] === ''));
});

test('the token never reaches output, checkpoint, logs or error messages', async (t) => {
  const s = await server(t, { respond: (req) => (req.texts.some((x) => x.includes('broke')) ? { status: 400, json: { error: `bad input for ${TOKEN}` } } : undefined) });
  const dir = tempDir(t);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--output', out, '--json'], env(s));
  assert.equal(r.code, 4, r.stderr);
  const bad = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--output', path.join(dir, 'x.csv')], { ...env(s), HF_TOKEN: 'hf_wrongToken999' });
  assert.equal(bad.code, 1);
  assert.doesNotMatch(bad.stderr, /hf_wrongToken999/);
  for (const f of ['out.jsonl', 'out.batchlabel.sqlite', 'out.batchlabel.sqlite-wal', 'x.batchlabel.sqlite']) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(dir, f));
    } catch {
      continue;
    }
    assert.equal(bytes.includes(TOKEN), false, `${f} contains the token`);
    assert.equal(bytes.includes('hf_wrongToken999'), false, `${f} contains the token`);
  }
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(TOKEN));
});

test('usage errors exit 2; bad job files and unreadable inputs exit 1; all one line', async (t) => {
  const dir = tempDir(t);
  const unknown = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--no-such-flag']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown argument/);
  const noInput = await runCli(['run', '--model', 'm']);
  assert.equal(noInput.code, 2);
  assert.match(noInput.stderr, /^batchlabel: no input/);
  const job = path.join(dir, 'job.json');
  writeFileSync(job, '{"input": "x.csv", "textcolumn": "body"}');
  const badJob = await runCli(['run', job]);
  assert.equal(badJob.code, 1);
  assert.match(badJob.stderr, /unknown setting "textcolumn". Did you mean "textColumn"\?/);
  const yamlJob = path.join(dir, 'job.yaml');
  writeFileSync(yamlJob, 'input: x.csv\nmodel: [unclosed\n');
  const badYaml = await runCli(['run', yamlJob]);
  assert.equal(badYaml.code, 1);
  assert.match(badYaml.stderr, /job\.yaml: not valid YAML: .*line \d+/);
  const missing = await runCli(['run', '--input', path.join(dir, 'nope.csv'), '--model', 'm']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.csv: cannot read the input \(ENOENT\)/);
  const noCol = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--text-column', 'body', '--checkpoint', path.join(dir, 'c.sqlite')]);
  assert.equal(noCol.code, 1);
  assert.match(noCol.stderr, /no column "body".*Columns: "id", "product", "rating", "text"/);
  for (const r of [badJob, badYaml, missing, noCol]) {
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a job file with relative paths runs from any directory; export by job file', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const job = path.join(dir, 'job.json');
  copyFileSync(CSV_IN, path.join(dir, 'reviews.csv'));
  writeFileSync(job, JSON.stringify({ input: 'reviews.csv', model: 'm', output: 'out/labeled.csv', idColumn: 'id' }));
  const r = await runCli(['run', job, '--limit', '5'], env(s), '/');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readCsv(path.join(dir, 'out/labeled.csv')).length, 6);
  const e = await runCli(['export', job, '--output', path.join(dir, 'again.jsonl')], {}, '/');
  assert.equal(e.code, 0, e.stderr);
  assert.equal(readFileSync(path.join(dir, 'again.jsonl'), 'utf8').trimEnd().split('\n').length, 5);
  const st = await runCli(['status', job]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /5 total, 5 labeled/);
  // The same job as YAML, with a comment: it names the same output, so the same checkpoint.
  const yamlJob = path.join(dir, 'job.yml');
  writeFileSync(yamlJob, '# the sample job\ninput: reviews.csv\nmodel: m\noutput: out/labeled.csv\nidColumn: id\n');
  const sent = s.requests.length;
  const more = await runCli(['run', yamlJob, '--limit', '8'], env(s), '/');
  assert.equal(more.code, 0, more.stderr);
  assert.equal(readCsv(path.join(dir, 'out/labeled.csv')).length, 9);
  assert.ok(s.requests.length - sent <= 3, 'the YAML job resumed the JSON job: rows 0-4 were not sent again');
});

test('off a terminal, a plain progress line appears every few seconds while the run goes', async (t) => {
  const s = await server(t, { delayMs: 30 });
  const dir = tempDir(t);
  const r = await runCli(['run', '--input', CSV_IN, '--model', 'm', '--output', path.join(dir, 'o.csv'), '--concurrency', '2'], { ...env(s), BATCHLABEL_PROGRESS_INTERVAL_MS: '300' });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n').filter((l) => / rows\/s \| ETA /.test(l));
  assert.ok(lines.length >= 3, r.stderr);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d \d+ rows, [\d.]+% of input read \| \d+ rows\/s \| ETA \S+ \| concurrency 2/);
  assert.doesNotMatch(r.stderr, /\x1b\[/, 'no terminal escapes in a log');
});

test('a fatal answer mid-run stops at once, keeps what was done, and the same command resumes once fixed', async (t) => {
  let revoked = false;
  let answered = 0;
  const s = await server(t, {
    delayMs: 5,
    respond: () => {
      if (++answered === 120) revoked = true;
      return revoked ? { status: 401, json: { error: 'Invalid credentials in Authorization header' } } : undefined;
    },
  });
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const args = ['run', '--input', CSV_IN, '--model', 'm', '--output', out, '--concurrency', '4'];
  const t0 = Date.now();
  const r = await runCli(args, env(s));
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - t0 < 5000);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^batchlabel: .*HF_TOKEN.*\(\d+ finished rows are safe in .*out\.batchlabel\.sqlite; fix the cause and run the same command to resume\.\)$/);
  const safe = Number(lines[0]!.match(/\((\d+) finished rows/)![1]);
  assert.ok(safe >= 100 && safe < 300, `${safe}`);
  const st = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite'), '--json']);
  assert.equal(JSON.parse(st.stdout).lastRun.state, 'failed');

  revoked = false;
  answered = -1e9;
  const sent = s.requests.length;
  const again = await runCli(args, env(s));
  assert.equal(again.code, 0, again.stderr);
  assert.ok(s.requests.length - sent <= 300 - safe, 'finished rows are not sent again');
  const rows = readCsv(out);
  assert.equal(rows.length, 301);
  assert.ok(rows.slice(1).every((row) => row[4] === expectedScores(row[3]!)[0]!.label));
});

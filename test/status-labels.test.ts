import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from './support/cli.js';
import { report } from '../src/report/index.js';
import { labelReportJob } from './support/report-job.js';

test('status: the label mix and the top score quartiles per label, in its human form and in --json, as the report has them', async (t) => {
  const dir = tempDir(t);
  const job = await labelReportJob(t, dir);
  const { data } = await report(job.checkpoint, { lowest: 0 });
  const js = await runCli(['status', job.checkpoint, '--json']);
  assert.equal(js.code, 4, js.stderr);
  const st = JSON.parse(js.stdout) as { labels: { label: string; count: number; share: number; score: Record<string, number> }[] };
  assert.deepEqual(
    st.labels.map((l) => [l.label, l.count, l.share]),
    data.labels.map((l) => [l.label, l.count, l.share]),
  );
  assert.equal(st.labels.reduce((a, l) => a + l.count, 0), data.rows.done);
  for (const l of st.labels) {
    const s = data.scores.find((x) => x.label === l.label)!;
    assert.deepEqual(l.score, { min: s.min, q1: s.q1, median: s.median, q3: s.q3, max: s.max });
    assert.ok(l.score.min! <= l.score.q1! && l.score.q1! <= l.score.median! && l.score.median! <= l.score.q3! && l.score.q3! <= l.score.max!);
  }

  const human = await runCli(['status', job.checkpoint]);
  for (const l of st.labels) {
    const q = l.score;
    const line = new RegExp(`^  ${l.label} +${l.count} +${(l.share * 100).toFixed(1)}% +min ${q.min!.toFixed(3)} +q1 ${q.q1!.toFixed(3)} +median ${q.median!.toFixed(3)} +q3 ${q.q3!.toFixed(3)} +max ${q.max!.toFixed(3)}$`, 'm');
    assert.match(human.stdout, line);
  }
});

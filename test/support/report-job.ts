/**
 * A finished job with everything a report shows: the sample reviews plus rows that fail in both ways
 * (an empty text, a text the server rejects) and a row of HTML whose score is among the lowest, labeled
 * by the real CLI against the loopback Hugging Face server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { expectedScores, startHfServer, type HfServer } from './hf-server.js';
import { REPO, runCli } from './cli.js';

export const REPORT_TOKEN = 'hf_ReportSecretToken1234567890';
export const REJECT_MARKER = 'REJECT-ME';

/** A text full of markup whose top score (from the loopback server) is below 0.5005: it must show, escaped, among the least confident. */
export function hostileLowText(): string {
  for (let n = 0; ; n++) {
    const text = `<script>document.title="pwned"</script><img src=x onerror=alert(1)> <b>bold</b> & "quoted" 'single' #${n}`;
    if (expectedScores(text)[0]!.score < 0.5005) return text;
  }
}

export interface ReportJob {
  server: HfServer;
  input: string;
  output: string;
  checkpoint: string;
  hostile: string;
}

export async function labelReportJob(t: { after(fn: () => Promise<void>): void }, dir: string): Promise<ReportJob> {
  const server = await startHfServer({ token: REPORT_TOKEN, badMarker: REJECT_MARKER });
  t.after(() => server.close());
  const hostile = hostileLowText();
  const sample = readFileSync(path.join(REPO, 'data/reviews.csv'), 'utf8');
  const extra = stringify([
    ['x0001', 'kettle', '1', ''],
    ['x0002', 'kettle', '2', `This kettle is fine ${REJECT_MARKER}`],
    ['x0003', 'lamp', '3', hostile],
    ['x0004', 'lamp', '4', `Another lamp review the server refuses ${REJECT_MARKER}`],
  ]);
  const input = path.join(dir, 'reviews.csv');
  writeFileSync(input, sample + extra);
  const output = path.join(dir, 'labeled.csv');
  const r = await runCli(['run', '--input', input, '--id-column', 'id', '--model', 'org/sentiment', '--output', output, '--max-retries', '0', '--empty', 'fail'], {
    HF_INFERENCE_ENDPOINT: server.url,
    HF_TOKEN: REPORT_TOKEN,
  });
  if (r.code !== 4) throw new Error(`the report job should finish with failed rows (exit 4), got ${r.code}: ${r.stderr}`);
  return { server, input, output, checkpoint: path.join(dir, 'labeled.batchlabel.sqlite'), hostile };
}

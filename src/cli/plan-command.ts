import type { JobValues } from '../job/options.js';
import { plan, type PlanResult } from '../plan/index.js';
import type { LengthSummary } from '../plan/histogram.js';
import { duration, num } from './format.js';

export interface PlanFlags {
  job?: string;
  values: JobValues;
  probe: boolean;
  probeRequests?: number;
  json: boolean;
}

export async function planCommand(flags: PlanFlags, out: (s: string) => void): Promise<void> {
  const result = await plan({ ...flags.values, job: flags.job }, { probe: flags.probe, probeRequests: flags.probeRequests });
  if (flags.json) out(JSON.stringify(result, null, 2));
  else printPlan(result, out);
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`;
const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${num(bytes / 1e3)} kB`);
const lengths = (l: LengthSummary) => `median ${num(l.median)}, mean ${num(l.mean)}, p90 ${num(l.p90)}, p99 ${num(l.p99)}, max ${num(l.max)}`;
const seconds = (s: number) => duration(s * 1000);

export function printPlan(p: PlanResult, out: (s: string) => void): void {
  out(`input       ${p.input} (${mb(p.bytes)}, read in ${seconds(p.readMs / 1000)})`);
  out(`model       ${p.backend === 'hf' ? 'Hugging Face API' : 'local ONNX'}, ${p.model ?? p.endpoint ?? 'default model'}, batch size ${p.batchSize}, concurrency ${p.concurrency}`);
  out(`rows        ${num(p.rows)}${p.emptyRows || p.badRows ? `: ${num(p.emptyRows)} with an empty text, ${num(p.badRows)} unreadable (they will fail as bad_row)` : ', every one with a text'}`);
  for (const e of p.badExamples) out(`              line ${num(e.line)}: ${e.reason}`);
  const withText = p.rows - p.emptyRows - p.badRows;
  out(`unique      ${p.uniqueExact ? '' : '~'}${num(p.uniqueTexts)} texts${p.duplicateRows ? `: ${num(p.duplicateRows)} rows repeat a text and are not sent (${pct(p.duplicateRows / Math.max(1, withText))} saved)` : ', no repeats'}${p.uniqueExact ? '' : ' (estimated, ±1%)'}`);
  if (p.chars) out(`characters  ${lengths(p.chars)}`);
  if (p.tokens) {
    const t = p.tokens;
    const range = t.exact ? '' : ` (95%: ${pct(t.truncatedShare.low)}–${pct(t.truncatedShare.high)})`;
    out(`tokens      ${lengths(t.tokens)} (model max ${num(t.maxLength)}${t.exact ? '' : `; a sample of ${num(t.sampled)} texts`})`);
    out(`truncated   ${t.exact ? '' : '~'}${num(t.truncatedRows)} rows (${pct(t.truncatedShare.value)})${range} longer than ${num(t.maxLength)} tokens: cut to fit`);
  } else if (p.backend === 'hf') {
    out('tokens      not counted: the model runs remotely (the endpoint truncates or refuses long texts)');
  }
  out(`${p.requestsAre === 'requests' ? 'requests   ' : 'model runs '} ${p.requestsAre === 'model runs' ? '~' : ''}${num(p.requests)}${p.requestsAre === 'requests' ? ` of up to ${p.batchSize} text${p.batchSize > 1 ? 's' : ''}` : ''}`);
  const e = p.estimate;
  if (e.seconds === null) out(`estimate    none: ${e.basis}`);
  else {
    const pr = e.probe!;
    out(`estimate    ${seconds(e.seconds)} (95%: ${seconds(e.low!)}–${seconds(e.high!)}), from ${e.basis}`);
    const lat = pr.latencyMs ? `, ${num(pr.latencyMs.median)} ms median per ${pr.backend === 'hf' ? 'request' : 'window'}` : '';
    out(`probe       ${num(pr.texts)} texts in ${seconds(pr.wallMs / 1000)} = ${num(pr.textsPerSecond)} texts/s${lat}${pr.loadMs !== undefined ? `; model loaded in ${seconds(pr.loadMs / 1000)}` : ''}`);
    const failed = Object.entries(pr.failures);
    if (failed.length) out(`              not answered: ${failed.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const n of pr.notes.filter((x) => !x.startsWith('onnx:'))) out(`              ${n}`);
    out('              (not counted: retries, rate limits, cold starts, other jobs on the machine)');
  }
  if (p.billing) {
    out(`billing     ${p.billing.note}`);
    if (p.billing.computeSecondsTotal !== null) {
      out(`              ${p.billing.computeSecondsPerRequest!.toFixed(3)} s of compute per request → ~${seconds(p.billing.computeSecondsTotal)} of compute for the job`);
    }
  }
  out('nothing was written: run it with `batchlabel run` and the same arguments.');
}

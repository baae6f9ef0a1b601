/**
 * The report as one self-contained HTML page: styles inline, charts as inline SVG, no script and nothing
 * fetched, so it opens offline, mails as one file and prints as it shows.
 */
import { duration, num } from '../core/format.js';
import { barChart, labelChart, scoreHistograms } from './charts.js';
import type { ReportData, RunSummary } from './data.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const pct = (share: number) => (share >= 0.1 ? `${(share * 100).toFixed(1)}%` : share >= 0.001 ? `${(share * 100).toFixed(2)}%` : share > 0 ? '<0.1%' : '0%');
const score = (s: number) => s.toFixed(3);
/** 2026-12-01T21:56:37.123Z → "2026-12-01 21:56:37 UTC". */
const when = (iso: string | null) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : '—');
const perSecond = (r: number) => (r >= 100 ? num(r) : r >= 10 ? r.toFixed(1) : r.toFixed(2));

const STYLE = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #4269d0; --bad: #c0392b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; min-height: 100vh; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta, .note { color: var(--muted); margin: 4px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); font-size: 13px; }
.card.bad b { color: var(--bad); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; font-size: 14px; }
dl.settings dt { color: var(--muted); }
dl.settings dd { margin: 0; overflow-wrap: anywhere; }
td.text { font-size: 13px; white-space: pre-wrap; overflow-wrap: anywhere; }
figure.chart { margin: 8px 0 16px; }
figure.chart svg { max-width: 100%; height: auto; }
code { font-size: 13px; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  figure.chart, .cards, tr { break-inside: avoid; }
}
`;

/** `kinds`: columns right-aligned as numbers ('n') or wrapped as long text ('text'). */
function table(head: string[], rows: string[][], kinds: Record<number, 'n' | 'text'> = {}): string {
  const cls = (i: number) => (kinds[i] ? ` class="${kinds[i]}"` : '');
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

const numeric = (...cols: number[]): Record<number, 'n'> => Object.fromEntries(cols.map((c) => [c, 'n']));

const figure = (svg: string, label: string) => `<figure class="chart" aria-label="${escapeHtml(label)}">${svg}</figure>`;

function card(value: string, what: string, bad = false): string {
  return `<div class="card${bad ? ' bad' : ''}"><b>${value}</b><span>${escapeHtml(what)}</span></div>`;
}

/** A sharded job's checkpoints: the first and the last name the pattern of the rest. */
function shardCheckpoints(paths: string[]): [string, string] {
  return ['checkpoints', paths.length <= 2 ? paths.join(', ') : `${paths[0]!} … ${paths.at(-1)!} (${paths.length})`];
}

async function summarySection(d: ReportData): Promise<string> {
  const r = d.rows;
  const cards = [
    card(r.total === null ? '?' : num(r.total), r.total === null ? 'rows (input not fully read yet)' : 'rows in the input'),
    card(num(r.done), `labeled${r.total ? ` (${pct(r.done / r.total)})` : ''}`),
    card(num(r.failed), 'failed', r.failed > 0),
    card(r.pending === null ? '?' : num(r.pending), 'pending'),
  ];
  if (r.truncated) cards.push(card(num(r.truncated), 'truncated to fit the model'));
  const job = d.job;
  const settings: [string, string][] = [
    ['input', job.input],
    ['task', job.task],
    ['backend', job.backend === 'hf' ? 'Hugging Face Inference API' : 'local ONNX model'],
    ['model', job.model ?? '(set by the endpoint)'],
    ...(job.endpoint ? ([['endpoint', job.endpoint]] as [string, string][]) : []),
    ['labels', job.labels.length ? job.labels.join(', ') : '(none yet)'],
    ...job.settings,
    d.shards ? shardCheckpoints(d.shards.shards.map((s) => s.checkpoint)) : ['checkpoint', d.checkpoint],
  ];
  return `<section id="job"><div class="cards">${cards.join('')}</div>
<h2>Job</h2><dl class="settings">${settings.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl></section>`;
}

async function labelSection(d: ReportData): Promise<string> {
  if (!d.labels.length) return `<section id="labels"><h2>Labels</h2><p class="note">No row is labeled yet.</p></section>`;
  const chart = await labelChart(d.labels, (l) => `${num(l.count)} (${pct(l.share)})`);
  const rows = d.labels.map((l) => {
    const s = d.scores.find((x) => x.label === l.label);
    return [escapeHtml(l.label), num(l.count), pct(l.share), ...(s ? [score(s.min), score(s.q1), score(s.median), score(s.q3), score(s.max)] : ['', '', '', '', ''])];
  });
  return `<section id="labels"><h2>Labels</h2>${figure(chart, 'label distribution')}
${table(['label', 'rows', 'share', 'min score', 'q1', 'median', 'q3', 'max'], rows, numeric(1, 2, 3, 4, 5, 6, 7))}</section>`;
}

/** Labels drawn as histograms at most: past a dozen, the tail is listed in the table above only. */
const MAX_HISTOGRAMS = 12;

async function scoreSection(d: ReportData): Promise<string> {
  if (!d.scores.length) return '';
  const shown = d.scores.slice(0, MAX_HISTOGRAMS);
  const more = d.scores.length - shown.length;
  return `<section id="scores"><h2>Top score per label</h2><p class="note">How sure the model was of the label it gave, one histogram per label; the red line is the median.${
    more > 0 ? ` The ${more} least frequent labels are in the table above only.` : ''
  }</p>${figure(await scoreHistograms(shown), 'score histograms')}</section>`;
}

async function everyLabelSection(d: ReportData): Promise<string> {
  const e = d.everyLabel;
  if (!e || !e.labels.length) return '';
  const t = String(e.threshold);
  const shown = e.labels.slice(0, MAX_HISTOGRAMS);
  const rows = e.labels.map((l) => [escapeHtml(l.label), num(l.rows), num(l.above), pct(d.rows.done ? l.above / d.rows.done : 0)]);
  let pairs = '';
  if (e.pairs.length) {
    pairs = `<h3>Labels at ${t} or more on the same row</h3>${table(
      ['label', 'and label', 'rows'],
      e.pairs.slice(0, 30).map((p) => [escapeHtml(p.a), escapeHtml(p.b), num(p.rows)]),
      numeric(2),
    )}${e.pairs.length > 30 ? `<p class="note">The 30 most frequent of ${num(e.pairs.length)} pairs.</p>` : ''}`;
  }
  return `<section id="every-label"><h2>Every label's score</h2><p class="note">Each label's score on every row that has one (the job kept them all); a label counts as predicted at ${t} or more.</p>
${figure(await scoreHistograms(shown, 'score →'), 'score histograms of every label')}
${table(['label', 'rows with a score', `rows ≥ ${t}`, 'of labeled rows'], rows, numeric(1, 2, 3))}${pairs}</section>`;
}

const STATE_SHOWN = { finished: 'finished', unfinished: 'unfinished', missing: 'missing', 'other-job': 'of another job' } as const;

function shardsSection(d: ReportData): string {
  const r = d.shards;
  if (!r) return '';
  const count = (n: number | null) => (n === null ? '?' : num(n));
  const eta = (ms: number | null) => (ms === null ? '?' : ms === 0 ? '—' : duration(ms));
  const rows = r.shards.map((s) => [
    String(s.index),
    `${escapeHtml(STATE_SHOWN[s.state])}${s.reason ? ` <span class="note">(${escapeHtml(s.reason)})</span>` : ''}`,
    num(s.rows.done),
    num(s.rows.failed),
    count(s.rows.pending),
    s.lastRun ? perSecond(s.lastRun.rowsPerSecond) : '—',
    eta(s.etaMs),
  ]);
  const t = r.total;
  rows.push(['<b>all</b>', r.finished ? 'finished' : 'not finished', num(t.done), num(t.failed), count(t.pending), perSecond(t.rowsPerSecond), eta(t.etaMs)]);
  const left = [...t.missing, ...t.unfinished, ...t.otherJob];
  return `<section id="shards"><h2>Shards</h2><p class="note">The job ran as ${num(r.count)} shards (<code>batchlabel run … --shard I/${r.count}</code>); everything below is over the shards of this job together${
    left.length ? `, so it is partial while shard ${left.sort((a, b) => a - b).join(', ')} is not finished` : ''
  }. Rows/s is each shard's last run; the total adds them, as the shards run side by side.</p>
${table(['shard', 'state', 'labeled', 'failed', 'pending', 'rows/s', 'ETA'], rows, numeric(0, 2, 3, 4, 5, 6))}</section>`;
}

const runName = (r: RunSummary) => (r.shard === undefined ? `run ${r.id}` : `shard ${r.shard} run ${r.id}`);

async function runSection(d: ReportData): Promise<string> {
  if (!d.runs.length) return '';
  const chart = await barChart(
    d.runs.map((r) => ({ name: runName(r), value: r.rowsPerSecond, text: `${perSecond(r.rowsPerSecond)} rows/s` })),
    'rows per second →',
    '#6cc5b0',
  );
  const retries = (r: Record<string, number>) => Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${escapeHtml(k)} ${num(n)}`).join(', ') || 'none';
  const rows = d.runs.map((r) => [escapeHtml(runName(r)), when(r.startedAt), when(r.endedAt), escapeHtml(r.state), num(r.rows), num(r.reused), num(r.failed), duration(r.wallMs), perSecond(r.rowsPerSecond), retries(r.retries)]);
  return `<section id="runs"><h2>Runs</h2>${figure(chart, 'throughput per run')}
${table(['run', 'started', 'ended', 'state', 'rows', 'reused', 'failed', 'time', 'rows/s', 'retries'], rows, numeric(0, 4, 5, 6, 7, 8))}</section>`;
}

async function failureSection(d: ReportData): Promise<string> {
  if (!d.failures.length) return `<section id="failures"><h2>Failures</h2><p class="note">No row failed.</p></section>`;
  const chart = await barChart(d.failures.map((f) => ({ name: f.kind, value: f.count, text: num(f.count) })), 'rows →', '#ff725c');
  const parts = d.failures.map((f) => {
    const rows = f.examples.map((e) => [e.line === null ? '—' : num(e.line), e.id === null ? '' : escapeHtml(e.id), escapeHtml(e.error)]);
    return `<h3>${escapeHtml(f.kind)}: ${num(f.count)} rows</h3>${table([d.job.positions, 'id', 'reason'], rows, numeric(0))}`;
  });
  return `<section id="failures"><h2>Failures</h2>${figure(chart, 'failures by kind')}${parts.join('\n')}
<p class="note">Re-attempt them with <code>batchlabel run … --retry-failed</code> once the cause is fixed.</p></section>`;
}

function lowestSection(d: ReportData): string {
  if (!d.lowest.length) return '';
  // The id column only when the job has ids; four decimals, as these scores crowd just above the floor.
  const ids = d.lowest.some((r) => r.id !== null);
  const rows = d.lowest.map((r) => [
    r.line === null ? `row ${num(r.ordinal + 1)}` : num(r.line),
    ...(ids ? [r.id === null ? '' : escapeHtml(r.id)] : []),
    escapeHtml(r.label),
    r.score.toFixed(4),
    r.text === null ? '' : `${escapeHtml(r.text)}${r.chars !== null && r.chars > r.text.length ? ` <span class="note">(${num(r.chars)} characters)</span>` : ''}`,
  ]);
  const head = [d.job.positions, ...(ids ? ['id'] : []), 'label', 'score', 'text'];
  const html = table(head, rows, { 0: 'n', [head.length - 2]: 'n', [head.length - 1]: 'text' });
  return `<section id="lowest"><h2>The ${num(d.lowest.length)} least confident rows</h2>
<p class="note">Check these first. All of them: <code>batchlabel export … --max-score ${score(Math.min(1, d.lowest.at(-1)!.score + 0.0005))}</code>.</p>
${d.textsNote ? `<p class="note">${escapeHtml(d.textsNote)}.</p>` : ''}${html}</section>`;
}

export async function renderReport(d: ReportData): Promise<string> {
  const title = `batchlabel report: ${d.job.input.split(/[\\/]/).pop() ?? d.job.input}`;
  const sections = [await summarySection(d), shardsSection(d), await labelSection(d), await scoreSection(d), await everyLabelSection(d), lowestSection(d), await failureSection(d), await runSection(d)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${d.job.task} with ${escapeHtml(d.job.model ?? d.job.endpoint ?? '')} · made ${when(d.generatedAt)}${d.job.createdAt ? ` · job started ${when(d.job.createdAt)}` : ''}</p>
${sections.join('\n')}
</main></body></html>
`;
}

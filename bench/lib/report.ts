/**
 * What a benchmark hands back, how it is printed, and how it is appended to the local log bench/results/log.md. Every row that
 * carries a target is marked PASS or MISS from the measured figure, never by hand.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { RESULTS_LOG } from './env.js';

export interface Row {
  /** What was measured, e.g. "rows/s, 1 text per request". */
  measure: string;
  figure: string;
  /** The baseline it is compared against (measured in the same run), or '' when the target is absolute. */
  baseline: string;
  ratio: string;
  /** The target in words, e.g. "≥ 0.85× raw" or "< 250 MB"; '' for an informational row. */
  target: string;
  /** undefined: informational row, no target. */
  pass?: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  rows: Row[];
  /** Markdown lines: per-run figures, how it was measured, what limits it. */
  notes: string[];
}

export function verdict(pass: boolean | undefined): string {
  return pass === undefined ? '' : pass ? 'PASS' : 'MISS';
}

export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(1);
  return `${os.availableParallelism()} cores (${model}), ${gib} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** The command that reproduces this invocation, with the BENCH_* variables that were set. */
export function commandLine(names: string[]): string {
  const vars = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_NO_RECORD')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return [...vars, 'npm run bench', ...(names.length ? ['--', ...names] : [])].join(' ');
}

function textTable(rows: Row[]): string {
  const head = ['measure', 'figure', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((r) => [r.measure, r.figure, r.baseline, r.ratio, r.target, verdict(r.pass)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export function markdownTable(rows: Row[], withBench?: string[]): string {
  const head = [...(withBench ? ['benchmark'] : []), 'measure', 'figure', 'baseline', 'ratio', 'target', 'result'];
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`| ${head.join(' | ')} |`, `|${head.map((h) => (h === 'figure' || h === 'ratio' ? ' ---: ' : ' --- ')).join('|')}|`];
  rows.forEach((r, i) => {
    const cells = [...(withBench ? [withBench[i]!] : []), r.measure, r.figure, r.baseline, r.ratio, r.target, r.pass === undefined ? '' : `**${verdict(r.pass)}**`];
    out.push(`| ${cells.map(esc).join(' | ')} |`);
  });
  return out.join('\n');
}

export function printResult(r: BenchResult): void {
  process.stdout.write(`\n== ${r.title} ==\n${textTable(r.rows)}\n`);
  for (const n of r.notes) process.stdout.write(`  ${n}\n`);
}

const HEADER = `# Benchmark runs on this machine\n\nAppended by \`npm run bench\` (see bench/README.md); not committed.\n`;

function openLog(): void {
  mkdirSync(path.dirname(RESULTS_LOG), { recursive: true });
  if (!existsSync(RESULTS_LOG)) writeFileSync(RESULTS_LOG, HEADER);
}

export function record(r: BenchResult, command: string, startedAt: Date): void {
  if (process.env.BENCH_NO_RECORD === '1') return;
  openLog();
  const lines = [
    '',
    `### ${r.title} — ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machine()}. Command: ${command}.`,
    '',
    markdownTable(r.rows),
    '',
    ...r.notes.map((n) => (n === '' || n.startsWith('|') || n.startsWith('-') ? n : `- ${n}`)),
    '',
  ];
  appendFileSync(RESULTS_LOG, lines.join('\n'));
}

export function recordSummary(results: BenchResult[], command: string, startedAt: Date, wallMs: number): void {
  const rows = results.flatMap((r) => r.rows);
  const names = results.flatMap((r) => r.rows.map(() => r.name));
  const table = markdownTable(rows, names);
  process.stdout.write(`\n== Summary (${(wallMs / 60000).toFixed(1)} min) ==\n${textTable(rows)}\n`);
  if (process.env.BENCH_NO_RECORD === '1') return;
  openLog();
  appendFileSync(
    RESULTS_LOG,
    ['', `### Summary of the run of ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (${(wallMs / 60000).toFixed(1)} min)`, '', `Machine: ${machine()}. Command: \`${command}\`.`, '', table, ''].join('\n'),
  );
}

/**
 * The report's charts as static SVG, drawn at build time with Observable Plot on linkedom's server-side
 * DOM (Plot's documented way to render outside a browser). Both are imported on the first chart, so no
 * other command pays for loading them (~60 ms together).
 */
import type { LabelCount, ScoreSummary } from '../store/queries.js';

type PlotModule = typeof import('@observablehq/plot');

interface Renderer {
  Plot: PlotModule;
  document: unknown;
}

let renderer: Promise<Renderer> | undefined;

function load(): Promise<Renderer> {
  renderer ??= Promise.all([import('@observablehq/plot'), import('linkedom')]).then(([Plot, { parseHTML }]) => ({
    Plot,
    document: parseHTML('<!doctype html><html><body></body></html>').document,
  }));
  return renderer;
}

/** Page-width charts: 760 px fits a laptop column and an A4 page at 96 dpi. */
const WIDTH = 760;
const FONT = { fontSize: '12px', fontFamily: 'system-ui, sans-serif', overflow: 'visible' };

async function draw(options: Record<string, unknown>): Promise<string> {
  const { Plot, document } = await load();
  const node = Plot.plot({ width: WIDTH, style: FONT, ...options, document } as Parameters<PlotModule['plot']>[0]) as unknown as { outerHTML: string };
  return node.outerHTML;
}

export interface LabeledValue {
  name: string;
  value: number;
  /** Shown at the end of the bar. */
  text: string;
}

/** Horizontal bars, one per name, with their figure written at the end. */
export async function barChart(items: LabeledValue[], xLabel: string, color = '#4269d0'): Promise<string> {
  const { Plot } = await load();
  const longest = Math.max(...items.map((i) => i.name.length), 4);
  return draw({
    height: 34 + items.length * 28,
    marginLeft: Math.min(220, 12 + longest * 7),
    marginRight: 110,
    x: { label: xLabel, grid: true, nice: true },
    y: { label: null, domain: items.map((i) => i.name) },
    marks: [
      Plot.barX(items, { x: 'value', y: 'name', fill: color }),
      Plot.text(items, { x: 'value', y: 'name', text: 'text', textAnchor: 'start', dx: 4 }),
      Plot.ruleX([0]),
    ],
  });
}

export function labelChart(labels: LabelCount[], fmt: (l: LabelCount) => string): Promise<string> {
  return barChart(labels.map((l) => ({ name: l.label, value: l.count, text: fmt(l) })), 'rows →');
}

/** One small histogram per label, sharing the score axis, stacked vertically; a red rule at each median given. */
export async function scoreHistograms(summaries: (Pick<ScoreSummary, 'label' | 'histogram'> & { median?: number })[], xLabel = 'top score →'): Promise<string> {
  const { Plot } = await load();
  const bins = summaries.flatMap((s) => s.histogram.map((h) => ({ label: s.label, from: h.from, to: h.to, count: h.count })));
  const medians = summaries.filter((s) => s.median !== undefined).map((s) => ({ label: s.label, median: s.median }));
  const longest = Math.max(...summaries.map((s) => s.label.length), 4);
  return draw({
    height: 40 + summaries.length * 110,
    marginLeft: 56,
    marginRight: Math.min(200, 14 + longest * 7),
    x: { label: xLabel },
    y: { label: '↑ rows', grid: true, nice: true, ticks: 3 },
    fy: { label: null, domain: summaries.map((s) => s.label) },
    marks: [
      Plot.rectY(bins, { x1: 'from', x2: 'to', y: 'count', fy: 'label', fill: '#4269d0', inset: 0.5 }),
      Plot.ruleX(medians, { x: 'median', fy: 'label', stroke: '#ff725c', strokeWidth: 2 }),
      Plot.ruleY([0]),
    ],
  });
}

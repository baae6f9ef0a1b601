/**
 * Makes docs/report.png, the README's picture of a report: the sample reviews in data/ labeled by the
 * shared local sentiment model, reported, and photographed in the same headless Chromium the browser
 * test uses. `node dist/test/support/report-screenshot.js` regenerates it.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { report } from '../../src/report/index.js';
import { openBrowser } from './browser.js';
import { REPO, runCli } from './cli.js';
import { SHARED } from './onnx-models.js';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-shot-'));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const output = path.join(dir, 'reviews-labeled.csv');
    const model = path.join(SHARED, 'models/selftrained-bow-bigram-sst2-imdb');
    const r = await runCli(['run', '--backend', 'onnx', '--model', model, '--input', path.join(REPO, 'data/reviews.csv'), '--id-column', 'id', '--output', output, '--quiet']);
    if (r.code !== 0) throw new Error(r.stderr);
    const html = path.join(dir, 'report.html');
    await report(path.join(dir, 'reviews-labeled.batchlabel.sqlite'), { output: html, lowest: 8 });
    const context = await openBrowser({ after: (fn) => void cleanups.push(fn) });
    const page = await context.newPage();
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(pathToFileURL(html).href);
    const png = path.join(REPO, 'docs/report.png');
    // The top of the page down to the least confident rows: what the report is for, at a readable scale.
    const lowest = await page.locator('#lowest').boundingBox();
    await page.screenshot({ path: png, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: Math.round((lowest?.y ?? 1600) + (lowest?.height ?? 0)) } });
    console.log(`wrote ${png} (${statSync(png).size} bytes)`);
  } finally {
    for (const c of cleanups) await c();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { report } from '../src/report/index.js';
import { tempDir } from './support/cli.js';
import { openBrowser } from './support/browser.js';
import { labelReportJob } from './support/report-job.js';

test('the report opens in headless Chromium offline: no console errors, every chart drawn with a size, markup shown as text', async (t) => {
  const dir = tempDir(t);
  const job = await labelReportJob(t, dir);
  const file = path.join(dir, 'report.html');
  await report(job.checkpoint, { output: file });

  const context = await openBrowser(t);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Anything but the file itself would be the page reaching out: refused and recorded.
  const fetched: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === pathToFileURL(file).href) return route.continue();
    fetched.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

  const charts = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return { label: f.getAttribute('aria-label'), width: box?.width ?? 0, height: box?.height ?? 0, marks: svg?.querySelectorAll('rect, line, path').length ?? 0 };
    }),
  );
  assert.deepEqual(charts.map((c) => c.label), ['label distribution', 'score histograms', 'failures by kind', 'throughput per run']);
  for (const c of charts) {
    assert.ok(c.width > 300 && c.height > 40, `${c.label} drawn at ${c.width}×${c.height}`);
    assert.ok(c.marks > 2, `${c.label} has marks`);
  }
  // The row of markup is text in a cell: nothing it says ran or became an element.
  assert.equal(await page.title(), 'batchlabel report: reviews.csv');
  assert.equal(await page.locator('td img, td b, td script').count(), 0);
  assert.ok((await page.locator('td.text', { hasText: '<script>document.title="pwned"</script>' }).count()) === 1);

  // Printed: the charts still fit the page width.
  await page.emulateMedia({ media: 'print' });
  const printWidths = await page.$$eval('figure.chart svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().width));
  const pageWidth = (await page.evaluate('document.documentElement.clientWidth')) as number;
  assert.ok(printWidths.every((w) => w > 0 && w <= pageWidth), `print widths ${printWidths.join(', ')} of ${pageWidth}`);
  await page.emulateMedia({ media: 'screen' });

  const shot = path.join(dir, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 20_000, 'a screenshot with something on it');
  t.diagnostic(`screenshot: ${shot} (removed with the test's folder)`);
  assert.deepEqual(problems, []);
  assert.deepEqual(fetched, [], 'the report fetches nothing');
});

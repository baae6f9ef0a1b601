/**
 * The CLI prints the model download's progress, and --quiet silences it: the library itself never prints,
 * the CLI hands it a sink on stderr unless asked to be quiet. A Hub on loopback serves the model.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, tempDir } from './support/cli.js';
import { BOW, sharedModel, startFakeHub, type FakeHub } from './support/onnx-models.js';

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub({ repos: { 'acme/sentiment': sharedModel(BOW) } });
});
after(() => hub.close());

test('model download progress on stderr, and none with --quiet', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, 'text\nI loved it\nI hated it\n');
  const run = (cache: string, quiet: boolean) =>
    runCli(['run', '--backend', 'onnx', '--model', 'acme/sentiment', '--input', input, '--checkpoint', path.join(cache, 'job.sqlite'), ...(quiet ? ['--quiet'] : [])], {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: cache,
      HF_HUB_OFFLINE: undefined,
    });
  const loud = await run(path.join(dir, 'a'), false);
  assert.equal(loud.code, 0, loud.stderr);
  assert.match(loud.stderr, /downloaded acme\/sentiment\/onnx\/model\.onnx/);
  const quiet = await run(path.join(dir, 'b'), true);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '', 'nothing at all on stderr with --quiet');
});

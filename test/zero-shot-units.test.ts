/** The zero-shot task's pure parts: labels, templates, the entailment index, answers, scores. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logitColumn, nliIndices, zeroShotScores } from '../src/backends/onnx/nli.js';
import { parseLabel2id } from '../src/backends/onnx/config.js';
import { onnxCandidates } from '../src/backends/onnx/model-folder.js';
import { resolveSettings } from '../src/job/resolve.js';
import { resultSettings } from '../src/job/settings.js';
import { formatHypothesis, parseCandidateLabels, parseZeroShotAnswer } from '../src/tasks/zero-shot-classification.js';

test('candidate labels: comma-separated and trimmed as Python parses them; a list as given; none or twice refused', () => {
  assert.deepEqual(parseCandidateLabels(' good price, bad fit,,quality '), ['good price', 'bad fit', 'quality']);
  assert.deepEqual(parseCandidateLabels(['a, b', 'c']), ['a, b', 'c']);
  assert.throws(() => parseCandidateLabels(' , '), /at least one/);
  assert.throws(() => parseCandidateLabels(['x', 'x']), /twice/);
  assert.throws(() => parseCandidateLabels([1]), /comma-separated list/);
});

test('hypothesis template: {} and {0} take the label, {{ }} are braces, no placeholder is refused', () => {
  assert.equal(formatHypothesis('This example is {}.', 'sports'), 'This example is sports.');
  assert.equal(formatHypothesis('{{{0}}} it is', 'x'), '{x} it is');
  assert.throws(() => formatHypothesis('This example is.', 'x'), /has no \{\}/);
  assert.throws(() => formatHypothesis('About {topic}.', 'x'), /not a placeholder/);
});

test("entailment index as Python reads label2id: first name starting with 'entail', else -1; contradiction -1 when entailment is 0, else 0", () => {
  assert.deepEqual(nliIndices([['contradiction', 0], ['neutral', 1], ['entailment', 2]]), { entailment: 2, contradiction: 0, guessed: false });
  assert.deepEqual(nliIndices([['ENTAILMENT', 0], ['neutral', 1], ['contradiction', 2]]), { entailment: 0, contradiction: -1, guessed: false });
  assert.deepEqual(nliIndices([['LABEL_0', 0], ['LABEL_1', 1]]), { entailment: -1, contradiction: 0, guessed: true });
  assert.equal(logitColumn(-1, 3), 2);
  assert.deepEqual(parseLabel2id(undefined, { 0: 'entailment', 1: 'not_entailment' }), [['entailment', 0], ['not_entailment', 1]], 'built from id2label when absent');
});

test('scores: softmax of entailment across labels; multi-label (or one label) entailment vs contradiction per label', () => {
  const entail = [2, 0, Math.log(3)];
  const contra = [0, 0, 0];
  const single = zeroShotScores(['a', 'b', 'c'], entail, contra, 0, false);
  const z = Math.exp(2) + 1 + 3;
  assert.deepEqual(single.map((p) => p.label), ['a', 'c', 'b']);
  assert.ok(Math.abs(single[0]!.score - Math.exp(2) / z) < 1e-15 && Math.abs(single[2]!.score - 1 / z) < 1e-15);
  const multi = zeroShotScores(['a', 'b', 'c'], entail, contra, 0, true);
  assert.ok(Math.abs(multi.find((p) => p.label === 'b')!.score - 0.5) < 1e-15);
  assert.ok(Math.abs(multi.find((p) => p.label === 'c')!.score - 0.75) < 1e-15);
  const one = zeroShotScores(['a'], [1], [-1], 0, false);
  assert.ok(Math.abs(one[0]!.score - 1 / (1 + Math.exp(-2))) < 1e-15, 'one label is scored on its own, as multi-label');
  const tie = zeroShotScores(['a', 'b'], [1, 1], [0, 0], 0, false);
  assert.deepEqual(tie.map((p) => p.label), ['b', 'a'], "ties: Python's reversed argsort puts the later label first");
});

test('answers: both shapes, wrapped or not, with exactly the candidate labels', () => {
  const labels = ['x', 'y'];
  const want = [{ label: 'y', score: 0.6 }, { label: 'x', score: 0.4 }];
  assert.deepEqual(parseZeroShotAnswer([{ label: 'x', score: 0.4 }, { label: 'y', score: 0.6 }], labels), want);
  assert.deepEqual(parseZeroShotAnswer([[{ label: 'y', score: 0.6 }, { label: 'x', score: 0.4 }]], labels), want);
  assert.deepEqual(parseZeroShotAnswer({ sequence: 's', labels: ['y', 'x'], scores: [0.6, 0.4] }, labels), want);
  assert.deepEqual(parseZeroShotAnswer([{ sequence: 's', labels: ['y', 'x'], scores: [0.6, 0.4] }], labels), want);
  assert.equal(typeof parseZeroShotAnswer([{ label: 'x', score: 1.5 }, { label: 'y', score: 0 }], labels), 'string');
  assert.equal(typeof parseZeroShotAnswer({ error: 'x' }, labels), 'string');
});

test('result settings: labels, template and mode for zero-shot; nothing new for a plain text-classification job', () => {
  const base = { input: '/dev/null', format: 'csv', model: 'm' };
  const plain = resultSettings(resolveSettings(base));
  assert.equal('candidateLabels' in plain || 'task' in plain || 'textPairColumn' in plain, false, 'older checkpoints still resume');
  const zs = resultSettings(resolveSettings({ ...base, task: 'zero-shot-classification', candidateLabels: 'a,b', multiLabel: true }));
  assert.deepEqual([zs.task, zs.candidateLabels, zs.hypothesisTemplate, zs.multiLabel], ['zero-shot-classification', ['a', 'b'], 'This example is {}.', true]);
  assert.equal(resultSettings(resolveSettings({ ...base, textPairColumn: 'b' })).textPairColumn, 'b');
});

test('zero-shot prefers the fp32 file on CPU (quantized NLI models lose badly); text-classification keeps int8 first', () => {
  assert.equal(onnxCandidates('cpu', true)[0], 'onnx/model.onnx');
  assert.equal(onnxCandidates('cpu')[0], 'onnx/model_quantized.onnx');
});

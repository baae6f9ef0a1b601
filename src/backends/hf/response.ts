/**
 * Validating a 200 answer. Anything that is not one list of {label, score} per text sent is rejected:
 * a row must never be labeled from half an answer or from another row's answer.
 */
import type { FunctionToApply, Prediction } from '../classifier.js';
import { parseZeroShotAnswer } from '../../tasks/zero-shot-classification.js';

export type Answer =
  | { ok: true; lists: Prediction[][] }
  /** `count`: well-formed JSON, but not one list per text (an endpoint that does not batch). */
  | { ok: false; reason: 'malformed' | 'count'; detail: string };

export interface Shaping {
  /** Scores arrive as logits that need this function applied locally (TEI with raw_scores). */
  applyLocally?: FunctionToApply;
  /** Scores are (or, after applyLocally, become) probabilities, so must lie in [0, 1]. */
  probabilities: boolean;
  topK?: number;
  /** zero-shot-classification: the answer must score exactly these labels (see tasks/zero-shot-classification.ts). */
  candidateLabels?: readonly string[];
}

/** `redact`: applied to a body before it is cut to an excerpt for a message. */
export function parseAnswer(text: string, count: number, shaping: Shaping, redact: (text: string) => string = (t) => t): Answer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return malformed(`not JSON: ${preview(redact(text))}`);
  }
  if (shaping.candidateLabels) {
    if (count !== 1) return { ok: false, reason: 'count', detail: `zero-shot answers one text per request, ${count} were sent` };
    const predictions = parseZeroShotAnswer(body, shaping.candidateLabels);
    return typeof predictions === 'string' ? malformed(`${predictions}: ${preview(redact(text))}`) : { ok: true, lists: [predictions] };
  }
  if (!Array.isArray(body) || body.length === 0) return malformed(`expected a list, got ${preview(redact(text))}`);

  let lists: unknown[];
  if (count === 1) {
    // The classic API answers a flat list; the router wraps it in one more list.
    lists = Array.isArray(body[0]) && body.length === 1 ? [body[0]] : [body];
  } else {
    if (!body.every(Array.isArray) || body.length !== count) {
      return { ok: false, reason: 'count', detail: `sent ${count} texts, got ${describeCount(body)}` };
    }
    lists = body;
  }

  const out: Prediction[][] = [];
  for (const list of lists) {
    const checked = checkList(list, shaping.applyLocally === undefined && shaping.probabilities);
    if (typeof checked === 'string') return malformed(`${checked}: ${preview(redact(text))}`);
    out.push(shape(checked, shaping));
  }
  return { ok: true, lists: out };
}

/** Up to this many labels, a linear scan finds a repeated label faster than building a Set. */
const SCAN_LABELS = 16;

function checkList(list: unknown, probabilities: boolean): Prediction[] | string {
  if (!Array.isArray(list) || list.length === 0) return 'expected a non-empty list of {label, score}';
  const seen = list.length > SCAN_LABELS ? new Set<string>() : undefined;
  const out: Prediction[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object') return 'expected {label, score} objects';
    const { label, score } = item as { label?: unknown; score?: unknown };
    if (typeof label !== 'string' || label === '') return 'a prediction has no label';
    if (typeof score !== 'number' || !Number.isFinite(score)) return `label ${label} has no numeric score`;
    if (probabilities && (score < -1e-6 || score > 1 + 1e-6)) return `label ${label} has score ${score} outside [0, 1]`;
    if (seen ? seen.has(label) : hasLabel(out, label)) return `label ${label} appears twice`;
    seen?.add(label);
    out.push({ label, score });
  }
  return out;
}

function hasLabel(list: Prediction[], label: string): boolean {
  for (const p of list) if (p.label === label) return true;
  return false;
}

function shape(list: Prediction[], shaping: Shaping): Prediction[] {
  let scored = list;
  if (shaping.applyLocally === 'softmax') {
    const max = Math.max(...list.map((p) => p.score));
    const exps = list.map((p) => Math.exp(p.score - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    scored = list.map((p, i) => ({ label: p.label, score: exps[i]! / sum }));
  } else if (shaping.applyLocally === 'sigmoid') {
    scored = list.map((p) => ({ label: p.label, score: 1 / (1 + Math.exp(-p.score)) }));
  }
  // Services answer best first, and a stable sort would leave such a list as it is: skip it then.
  // `scored` is ours (checkList built it), so sorting it in place is safe.
  if (!sortedBestFirst(scored)) scored.sort((a, b) => b.score - a.score);
  return shaping.topK !== undefined && shaping.topK < scored.length ? scored.slice(0, shaping.topK) : scored;
}

function sortedBestFirst(list: Prediction[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i]!.score > list[i - 1]!.score) return false;
  return true;
}

function describeCount(body: unknown[]): string {
  const lists = body.filter(Array.isArray).length;
  return lists === body.length ? `${lists} lists` : `a list of ${body.length} items (${lists} of them lists)`;
}

function malformed(detail: string): Answer {
  return { ok: false, reason: 'malformed', detail: `malformed response: ${detail}` };
}

/** A short single-line excerpt of a body, for messages. */
export function preview(text: string, max = 120): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line || '(empty body)';
}

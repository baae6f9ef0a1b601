/**
 * What a text classifier needs from config.json and tokenizer_config.json, read once and reduced to
 * plain data, with the same defaults Python's transformers applies.
 */
import { BackendFatalError } from '../../errors.js';

export interface ClassifierConfig {
  /** id2label as an array (index = logit column); columns beyond it are named LABEL_<i> like transformers does. */
  id2label: string[];
  /** label2id as its entries, in the file's order (zero-shot looks the entailment label up in it). */
  label2id: [string, number][];
  problemType: string | undefined;
  /** Tokens per sequence, special tokens included. */
  maxLength: number;
  modelType: string | undefined;
  /** Explicit config.function_to_apply, when a model ships one (rare; Python honours it last). */
  functionToApply: string | undefined;
}

/** Sentinel Python uses for "no limit" (int(1e30)) and anything else absurd. */
const UNBOUNDED = 1e12;

/** Models whose position table has 2 extra rows (padding_idx offset), so max_position_embeddings overstates. */
const POSITION_OFFSET_2 = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer', 'data2vec-text', 'ibert', 'mpnet', 'xmod']);

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BackendFatalError(`${what} is not a JSON object`, 'E_MODEL_FILES');
  }
  return value as Record<string, unknown>;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < UNBOUNDED ? v : undefined;
}

export function parseId2label(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const i = Number(k);
    if (Number.isInteger(i) && i >= 0 && typeof v === 'string') out[i] = v;
  }
  for (let i = 0; i < out.length; i++) out[i] ??= `LABEL_${i}`;
  return out;
}

/**
 * label2id's entries in order. Without one, transformers' PretrainedConfig builds it from id2label
 * (`self.label2id = dict(zip(self.id2label.values(), self.id2label.keys()))`), and so does this.
 */
export function parseLabel2id(raw: unknown, id2label: unknown): [string, number][] {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const out = Object.entries(raw as Record<string, unknown>).filter((e): e is [string, number] => Number.isInteger(e[1]));
    if (out.length > 0) return out;
  }
  if (id2label === null || typeof id2label !== 'object') return [];
  return Object.entries(id2label as Record<string, unknown>).flatMap(([k, v]) => (typeof v === 'string' && Number.isInteger(Number(k)) ? [[v, Number(k)] as [string, number]] : []));
}


/**
 * The sequence limit, the way Python gets it: the tokenizer's model_max_length, bounded by what the
 * position embeddings can take (an over-long sequence does not degrade an ONNX export, it fails it).
 */
export function maxSequenceLength(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): number {
  const fromTokenizer = positiveInt(tokenizerConfig.model_max_length);
  let fromModel = positiveInt(config.max_position_embeddings) ?? positiveInt(config.n_positions) ?? positiveInt(config.max_seq_length);
  if (fromModel !== undefined && typeof config.model_type === 'string' && POSITION_OFFSET_2.has(config.model_type) && fromModel > 2) {
    fromModel -= 2;
  }
  const limits = [fromTokenizer, fromModel].filter((n): n is number => n !== undefined);
  // Neither says: 512 is what BERT-family exports (the overwhelming majority of classifiers) take.
  return limits.length > 0 ? Math.min(...limits) : 512;
}

export function readClassifierConfig(configJson: unknown, tokenizerConfigJson: unknown): ClassifierConfig {
  const config = asObject(configJson, 'config.json');
  const tokenizerConfig = tokenizerConfigJson === undefined ? {} : asObject(tokenizerConfigJson, 'tokenizer_config.json');
  return {
    id2label: parseId2label(config.id2label),
    label2id: parseLabel2id(config.label2id, config.id2label),
    problemType: typeof config.problem_type === 'string' ? config.problem_type : undefined,
    maxLength: maxSequenceLength(config, tokenizerConfig),
    modelType: typeof config.model_type === 'string' ? config.model_type : undefined,
    functionToApply: typeof config.function_to_apply === 'string' ? config.function_to_apply : undefined,
  };
}

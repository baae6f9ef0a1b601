/**
 * From `--model` (a folder or a Hub id) to the files of one model in the Hugging Face export layout:
 * config.json, tokenizer.json, tokenizer_config.json and an ONNX file in onnx/ or at the top level.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BackendFatalError } from '../../errors.js';
import { HubErrorCode } from '../../hub/errors.js';
import { checkRepoPaths, resolveHubFiles, type HubResolveOptions } from '../../hub/resolve.js';
import type { Device } from './session.js';
import { expandHome, exists } from '../../core/fs.js';

/** The ONNX export of distilbert-base-uncased-finetuned-sst-2-english, the model the HF docs use for this task. */
export const DEFAULT_MODEL = 'Xenova/distilbert-base-uncased-finetuned-sst-2-english';

export interface LocatedModel {
  folder: string;
  /** Path of the ONNX file inside the folder, with '/' separators (e.g. onnx/model_quantized.onnx). */
  onnxFile: string;
  /** Hub id, revision asked and commit used, for a model that came through the cache. */
  hub?: { repoId: string; revision: string; commit: string };
}

export interface ModelFiles extends LocatedModel {
  onnxPath: string;
  config: unknown;
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
}

/**
 * Which ONNX file to use when --onnx-file is not given. On CPU the int8 file is 2–3× faster than fp32 (see
 * the shared model README); on CUDA the quantized kernels mostly fall back to CPU, so fp32/fp16 first.
 * `fullPrecision` puts fp32 first on CPU too: quantized NLI models lose badly at zero-shot (their
 * entailment logits are compared across labels; transformers.js#229).
 */
export function onnxCandidates(device: Device, fullPrecision = false): string[] {
  const names =
    device === 'cuda' || fullPrecision
      ? ['model.onnx', 'model_fp16.onnx', 'model_quantized.onnx', 'model_int8.onnx', 'model_uint8.onnx']
      : ['model_quantized.onnx', 'model_int8.onnx', 'model_uint8.onnx', 'model.onnx', 'model_fp16.onnx'];
  return [...names.map((n) => `onnx/${n}`), ...names];
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Written like a path rather than an `org/name` id: never sent to the Hub. */
function looksLikePath(spec: string): boolean {
  return path.isAbsolute(spec) || /^(~|\.{1,2})([/\\]|$)/.test(spec) || spec.includes('\\') || spec.split('/').length > 2;
}

async function chooseLocalOnnx(folder: string, candidates: readonly string[], onnxFile: string | undefined): Promise<string> {
  if (onnxFile) {
    const rel = repoPathOf(onnxFile);
    if (!(await exists(path.join(folder, rel)))) {
      throw new BackendFatalError(`--onnx-file ${onnxFile} does not exist in ${folder}`, HubErrorCode.notFound);
    }
    return rel;
  }
  for (const candidate of candidates) {
    if (await exists(path.join(folder, candidate))) return candidate;
  }
  // An export with unusual file names: fine if there is exactly one.
  const found: string[] = [];
  for (const dir of ['onnx', '.']) {
    const entries = await fs.readdir(path.join(folder, dir)).catch(() => [] as string[]);
    for (const e of entries) if (e.endsWith('.onnx')) found.push(dir === '.' ? e : `${dir}/${e}`);
  }
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new BackendFatalError(`no .onnx file in ${folder} or ${path.join(folder, 'onnx')}`, 'E_MODEL_FILES');
  throw new BackendFatalError(`${folder} has several ONNX files (${found.join(', ')}): pick one with --onnx-file`, 'E_MODEL_FILES');
}

export interface LocateOptions extends Omit<HubResolveOptions, 'revision'> {
  revision?: string;
  onnxFile?: string;
  device?: Device;
  /** Prefer the fp32 file over the quantized one (see onnxCandidates). @default false */
  fullPrecision?: boolean;
}

/**
 * `spec` is a folder if one exists at that path (`folder` set), a Hub id otherwise; one written like a
 * path that is not a folder is refused.
 */
async function modelPlace(spec: string | undefined): Promise<{ model: string; folder?: string }> {
  const model = spec?.trim() || DEFAULT_MODEL;
  const local = path.resolve(expandHome(model, os.homedir()));
  if (await isDirectory(local)) return { model, folder: local };
  if (looksLikePath(model)) throw new BackendFatalError(`model folder ${local} does not exist`, HubErrorCode.notFound);
  return { model };
}

/** --onnx-file as a repository path ('/'-separated). */
const repoPathOf = (file: string) => file.split(path.sep).join('/');

/** `spec` is a folder if one exists at that path (or it is written like a path); otherwise a Hub id. */
export async function locateModel(spec: string | undefined, options: LocateOptions = {}): Promise<LocatedModel> {
  const device = options.device ?? 'cpu';
  const { model, folder } = await modelPlace(spec);
  if (folder) return { folder, onnxFile: await chooseLocalOnnx(folder, onnxCandidates(device, options.fullPrecision), options.onnxFile) };
  const onnx = options.onnxFile ? [repoPathOf(options.onnxFile)] : onnxCandidates(device, options.fullPrecision);
  const snapshot = await resolveHubFiles(
    model,
    [{ anyOf: ['config.json'] }, { anyOf: ['tokenizer.json'] }, { anyOf: ['tokenizer_config.json'], optional: true }, { anyOf: onnx }],
    options,
  );
  return {
    folder: snapshot.folder,
    onnxFile: snapshot.files[3]!,
    hub: { repoId: model, revision: snapshot.revision, commit: snapshot.commit },
  };
}

/**
 * The model's config.json alone, read before the run loads the model (the job's settings depend on it). A
 * Hub model's config comes through the cache, where the model's other files join it when it loads.
 */
export async function readModelConfig(spec: string | undefined, options: LocateOptions = {}): Promise<unknown> {
  const { model, folder } = await modelPlace(spec);
  if (folder) return readJson(folder, 'config.json');
  // A bad --onnx-file is refused before any request, as loading the model would.
  if (options.onnxFile) checkRepoPaths([repoPathOf(options.onnxFile)]);
  const snapshot = await resolveHubFiles(model, [{ anyOf: ['config.json'] }], options);
  return readJson(snapshot.folder, 'config.json');
}

async function readJson(folder: string, name: string, optional: true): Promise<unknown>;
async function readJson(folder: string, name: string, optional?: false): Promise<unknown>;
async function readJson(folder: string, name: string, optional = false): Promise<unknown> {
  const file = path.join(folder, name);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read (${(err as NodeJS.ErrnoException).code})`;
    throw new BackendFatalError(`${file} ${why}: a model folder needs config.json, tokenizer.json and an ONNX file`, 'E_MODEL_FILES');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BackendFatalError(`${file} is not valid JSON (${(err as Error).message})`, 'E_MODEL_FILES');
  }
}

export async function readModelFiles(located: LocatedModel): Promise<ModelFiles> {
  // Read together, reported in order: with several files missing, the message names config.json first,
  // whichever read failed first.
  const settled = await Promise.allSettled([
    readJson(located.folder, 'config.json'),
    readJson(located.folder, 'tokenizer.json'),
    readJson(located.folder, 'tokenizer_config.json', true),
  ]);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [config, tokenizer, tokenizerConfig] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  const tc = tokenizerConfig && typeof tokenizerConfig === 'object' && !Array.isArray(tokenizerConfig) ? (tokenizerConfig as Record<string, unknown>) : {};
  return { ...located, onnxPath: path.join(located.folder, ...located.onnxFile.split('/')), config, tokenizer, tokenizerConfig: tc };
}

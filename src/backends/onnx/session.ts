/**
 * One onnxruntime session per model, configured for throughput on this machine, plus the facts about its
 * graph the rest of the backend relies on (which inputs it declares, which output holds the logits).
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { BackendFatalError } from '../../errors.js';
import type { GraphInput, InputName } from './tensors.js';

export type Device = 'cpu' | 'cuda';

export interface LoadedSession {
  session: ort.InferenceSession;
  inputs: GraphInput[];
  outputName: string;
  device: Device;
  threads: number;
}

const KNOWN_INPUTS: readonly InputName[] = ['input_ids', 'attention_mask', 'token_type_ids'];

/** Where onnxruntime-node keeps its native libraries; the CUDA provider is a separate download that lands there. */
function ortBinDir(): string {
  const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
  return path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
}

export const CUDA_INSTALL_HINT =
  'install the CUDA build of onnxruntime-node (Linux x64, CUDA 12 and cuDNN 9 on the machine): ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node';

async function checkCudaInstalled(): Promise<void> {
  if (`${process.platform}/${process.arch}` !== 'linux/x64') {
    throw new BackendFatalError(`--device cuda: onnxruntime-node ships a CUDA provider for Linux x64 only (this is ${process.platform}/${process.arch}); use --device cpu`, 'E_CUDA_UNAVAILABLE');
  }
  try {
    await fs.access(path.join(ortBinDir(), 'libonnxruntime_providers_cuda.so'));
  } catch {
    throw new BackendFatalError(`--device cuda: onnxruntime-node's CUDA provider is not installed; ${CUDA_INSTALL_HINT}`, 'E_CUDA_UNAVAILABLE');
  }
}

/** A git clone without git-lfs leaves a 130-byte pointer where the model should be: say so, not "protobuf parsing failed". */
async function explainBadModelFile(file: string, err: unknown): Promise<BackendFatalError> {
  const firstLine = (err as Error).message.split('\n')[0];
  try {
    const head = (await fs.readFile(file)).subarray(0, 200).toString('utf8');
    if (head.startsWith('version https://git-lfs')) {
      return new BackendFatalError(`${file} is a Git LFS pointer, not the model: run "git lfs pull" in that clone, or pass the Hub id instead`, 'E_MODEL_FILES');
    }
  } catch {
    // Unreadable: the ORT message below says enough.
  }
  return new BackendFatalError(`cannot load ${file}: ${firstLine}`, 'E_ONNX_LOAD');
}

export function sessionOptions(device: Device, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: device === 'cuda' ? [{ name: 'cuda' }] : ['cpu'],
    // One run at a time per session, using every core, is the fastest setup measured on CPU; a second
    // concurrent run would only fight the first for the same cores.
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads sleep instead of spinning: spinning steals the core the JS thread needs to tokenize
    // the next window. Measured here: 2x rows/s for the BoW model (tokenization-bound), and int8
    // DistilBERT no slower (median +5% in interleaved runs).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export async function loadSession(onnxPath: string, device: Device, threads = os.availableParallelism()): Promise<LoadedSession> {
  if (device === 'cuda') await checkCudaInstalled();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(onnxPath, sessionOptions(device, threads));
  } catch (err) {
    if (device === 'cuda') {
      const first = (err as Error).message.split('\n')[0];
      throw new BackendFatalError(`--device cuda: onnxruntime could not start CUDA (${first}); check the GPU driver, CUDA 12 and cuDNN 9, or use --device cpu`, 'E_CUDA_UNAVAILABLE');
    }
    throw await explainBadModelFile(onnxPath, err);
  }
  try {
    return { session, inputs: graphInputs(session, onnxPath), outputName: logitsOutput(session, onnxPath), device, threads };
  } catch (err) {
    await session.release();
    throw err;
  }
}

function graphInputs(session: ort.InferenceSession, file: string): GraphInput[] {
  const inputs: GraphInput[] = [];
  for (const meta of session.inputMetadata) {
    if (!(KNOWN_INPUTS as readonly string[]).includes(meta.name)) {
      throw new BackendFatalError(
        `${file} expects an input "${meta.name}"; a text-classification export takes only ${KNOWN_INPUTS.join(', ')} (re-export it with Optimum's text-classification task)`,
        'E_MODEL_FILES',
      );
    }
    const type = meta.isTensor ? meta.type : undefined;
    if (type !== 'int64' && type !== 'int32') {
      throw new BackendFatalError(`${file}: input "${meta.name}" has type ${type ?? 'non-tensor'}, expected int64`, 'E_MODEL_FILES');
    }
    inputs.push({ name: meta.name as InputName, type });
  }
  if (!inputs.some((i) => i.name === 'input_ids')) {
    throw new BackendFatalError(`${file} has no input_ids input; it is not a text-classification export`, 'E_MODEL_FILES');
  }
  return inputs;
}

function logitsOutput(session: ort.InferenceSession, file: string): string {
  const name = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
  if (name === undefined) throw new BackendFatalError(`${file} has no outputs`, 'E_MODEL_FILES');
  return name;
}

/** float16 outputs come back as raw bits; everything downstream wants numbers. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The logits of one run as a row-major `[rows, labels]` matrix. */
export function readLogits(tensor: ort.Tensor, rows: number): { data: ArrayLike<number>; labels: number } {
  const labels = tensor.dims.length >= 2 ? Number(tensor.dims[tensor.dims.length - 1]) : 1;
  if (tensor.size !== rows * labels) {
    throw new Error(`model output has shape [${tensor.dims.join(', ')}], expected [${rows}, labels]`);
  }
  if (tensor.type === 'float32' || tensor.type === 'float64') return { data: tensor.data as Float32Array | Float64Array, labels };
  if (tensor.type === 'float16') return { data: Array.from(tensor.data as Uint16Array, halfToFloat), labels };
  throw new Error(`model output has type ${tensor.type}, expected float logits`);
}

import type { Classifier, ClassifierContext } from './classifier.js';
import type { ProgressSink } from '../core/types.js';
import type { JobSettings } from '../job/settings.js';

/** Backends load lazily: an HF run never pays for loading onnxruntime, and vice versa. */
export async function createClassifier(settings: JobSettings, ctx: ClassifierContext): Promise<Classifier> {
  if (settings.backend === 'hf') {
    const { createHfClassifier } = await import('./hf/index.js');
    return createHfClassifier(settings, ctx);
  }
  const { createOnnxClassifier } = await import('./onnx/index.js');
  return createOnnxClassifier(settings, ctx);
}

/**
 * Whether the job's model says it is multi-label (config.json `problem_type: multi_label_classification`),
 * as Python's pipeline reads it. A local model's config is read (downloaded for a Hub id); a remote
 * model's is not (the Inference API applies it itself, and an endpoint need not be a Hub model).
 */
export async function modelIsMultiLabel(settings: JobSettings, opts: { download?: ProgressSink; signal?: AbortSignal } = {}): Promise<boolean> {
  if (settings.backend !== 'onnx') return false;
  const { readModelConfig } = await import('./onnx/model-folder.js');
  const config = await readModelConfig(settings.model, { revision: settings.onnx.revision, onnxFile: settings.onnx.onnxFile, sink: opts.download, signal: opts.signal });
  return (config as { problem_type?: unknown } | null)?.problem_type === 'multi_label_classification';
}

import type { Classifier, ClassifierContext } from './classifier.js';
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

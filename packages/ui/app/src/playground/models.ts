/**
 * A LayersModel folder of the server, loaded into the browser and wrapped as @advlab/core wraps it for the CLI.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { classifierFromLayersModel, type WrappedClassifier } from '@advlab/core';
import type { ModelInfo } from '../api.ts';

export interface LoadedModel {
  info: ModelInfo;
  model: tfl.LayersModel;
  classifier: WrappedClassifier;
  /** One name per output class: the metadata's when it has one per class, else "class k". */
  classNames: string[];
}

/** How the model was trained, from its metadata: "pgd ε=0.1", "standard", "method unknown". */
export function trainingLabel(info: ModelInfo): string {
  if (info.method === null) return 'method unknown';
  // A standard run's config still records the default ε of its evaluation: it says nothing about training.
  return info.eps === null || info.method === 'standard' ? info.method : `${info.method} ε=${info.eps}`;
}

/** "name · method ε=0.1 · path": what a model select shows for a listed model. */
export function modelLabel(info: ModelInfo): string {
  return `${info.name} · ${trainingLabel(info)} · ${info.path}`;
}

/**
 * Fetches model.json and its weights through the server's /files/ route and wraps the model. advlab's metadata
 * records no input range or normalisation, so — like `advlab attack` without --bounds/--mean/--std — the
 * classifier works on pixels in [0, 1] and detects a softmax output itself.
 */
export async function loadModel(info: ModelInfo): Promise<LoadedModel> {
  const model = await tfl.loadLayersModel(info.url);
  try {
    const classifier = classifierFromLayersModel(model, { name: info.name });
    const k = classifier.numClasses;
    const names = info.meta?.classNames;
    const classNames = names && names.length === k ? names.slice() : Array.from({ length: k }, (_, i) => `class ${i}`);
    // One forward pass now, so shader compilation (WebGL) is not billed to the first attack.
    const warm = tf.tidy(() => classifier.logits(tf.zeros([1, ...classifier.inputShape]) as tf.Tensor4D));
    await warm.data();
    warm.dispose();
    return { info, model, classifier, classNames };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

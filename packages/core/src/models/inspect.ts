/** What a LayersModel's architecture says about its outputs, without running it. */
import * as tfl from '@tensorflow/tfjs-layers';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type AnyLayer = { getClassName(): string; getConfig(): Record<string, unknown> };

function lastLayerIsSoftmax(layer: AnyLayer): boolean {
  if (layer.getClassName() === 'Softmax') return true;
  // A nested model as the last layer: look at its own last layer.
  const inner = (layer as unknown as { layers?: AnyLayer[] }).layers;
  if (Array.isArray(inner) && inner.length > 0 && layer instanceof tfl.LayersModel) {
    return lastLayerIsSoftmax(inner[inner.length - 1]!);
  }
  const act = layer.getConfig().activation;
  return act === 'softmax' || (isObject(act) && act.class_name === 'Softmax') || (isObject(act) && act.className === 'Softmax');
}

/** True if the model's (single) output comes out of a softmax: a layer with activation 'softmax' or a Softmax layer. */
export function isProbabilityModel(model: tfl.LayersModel): boolean {
  const outs = (model as unknown as { outputLayers?: AnyLayer[] }).outputLayers;
  const last = outs && outs.length > 0 ? outs[outs.length - 1] : model.layers[model.layers.length - 1];
  return last !== undefined && lastLayerIsSoftmax(last);
}

// Converts the Node example's model (conv2d 3×3 valid ReLU → flatten → dense, a LayersModel folder) into the
// folder tensorflowjs_converter would write for the same network as a SavedModel: a GraphModel.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '@advlab/node';
import { tinyCnnGraphModelFiles, type TinyCnnWeights } from '@advlab/core/testing';

export async function writeGraphModelFolder(layersDir: string, outDir: string): Promise<void> {
  const { model } = await loadModel(layersDir);
  const conv = model.layers[0]!.getConfig() as { filters: number; kernelSize: number[] };
  const inputShape = model.inputs[0]!.shape.slice(1) as [number, number, number];
  const numClasses = model.outputs[0]!.shape[1] as number;
  const [convKernel, convBias, denseKernel, denseBias] = model.getWeights().map((t) => t.dataSync() as Float32Array);
  const w: TinyCnnWeights = {
    spec: { inputShape, filters: conv.filters, kernelSize: conv.kernelSize[0]!, numClasses },
    convKernel: convKernel!,
    convBias: convBias!,
    denseKernel: denseKernel!,
    denseBias: denseBias!,
  };
  const files = tinyCnnGraphModelFiles(w, { identityOutput: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.json'), files.modelJson);
  writeFileSync(join(outDir, files.shardName), files.shard);
  model.dispose();
}

// advlab in a web page: load a tf.js LayersModel and a GraphModel by URL, then measure their clean and L∞ PGD
// robust accuracy on a synthetic test set, all in the browser. Bundle it with any bundler, e.g.
//   esbuild main.js --bundle --format=esm --platform=browser --outfile=bundle.js
// and serve this folder with model/ (a LayersModel folder) and graph-model/ (a converted model) beside it.
// Query: ?backend=cpu (default) or any backend the page registers (import @tensorflow/tfjs-backend-webgl for webgl), ?eps=0.1.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { classifierFromGraphModel, classifierFromLayersModel, runAttack, threatModel, tinyImages, useBackend } from '@advlab/core';

const params = new URLSearchParams(location.search);
const eps = Number(params.get('eps') ?? 0.1);

/** Clean and PGD robust accuracy of `classifier` on `set`; the attack's success is the trust boundary's verdict. */
async function robustness(classifier, set) {
  const x = tf.tensor4d(set.images, [set.n, set.height, set.width, set.channels]);
  const y = tf.tensor1d(set.labels, 'int32');
  const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(classifier.logits(x), 1), y), 'int32')));
  const clean = (await correct.data())[0] / set.n; // await data(): no blocking read on a GPU backend
  const pgd = runAttack('pgd', classifier, x, y, threatModel('linf', eps), { seed: 0 });
  const robust = pgd.success.reduce((kept, fooled) => kept + (fooled ? 0 : 1), 0) / set.n;
  tf.dispose([x, y, correct, pgd.xAdv]);
  return { clean, robust };
}

const out = document.getElementById('out');
try {
  const backend = await useBackend(params.get('backend') ?? 'cpu');
  const { test } = tinyImages({ n: 1024, nTest: 256, seed: 0 });
  const layers = classifierFromLayersModel(await tfl.loadLayersModel('model/model.json'));
  const graph = classifierFromGraphModel(await loadGraphModel('graph-model/model.json'));
  const result = { backend, eps, layersModel: await robustness(layers, test), graphModel: await robustness(graph, test) };
  out.textContent = JSON.stringify(result, null, 2);
  window.advlabResult = result;
} catch (e) {
  out.textContent = String(e?.stack ?? e);
  window.advlabResult = { error: String(e?.stack ?? e) };
}

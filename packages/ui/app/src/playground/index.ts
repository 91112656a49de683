/**
 * The playground: two models of the server attacked side by side in the browser, with @advlab/core's attacks
 * on tf.js (WebGL, else CPU). Pick the models, an image (a test sample, a drawing or an upload), the attack
 * and ε; each model is attacked white-box on its own gradients and shown clean | perturbation | adversarial.
 *
 * Test hooks (data-testid): pg-model-a / pg-model-b, pg-sample-<index>, pg-draw, pg-upload, pg-attack, pg-target,
 * pg-eps, pg-run; pg-status with data-backend, data-ready once the models are loaded, and after each run data-runs
 * (how many so far) and data-tensors (tf.memory().numTensors); pg-result-a / pg-result-b with data-state (empty |
 * loading | ready | running | done | error) and, when done, data-label, data-clean-pred, data-adv-pred (class indices)
 * and data-fooled.
 */
import * as tf from '@tensorflow/tfjs-core';
import './playground.css';
import { ApiError, listModels, testSamples, type ModelsResponse, type SamplesResponse } from '../api.ts';
import { h } from '../dom.ts';
import { attackImage, describeSettings, PLAYGROUND_ATTACKS, type PlaygroundAttack } from './attack.ts';
import { startBackend } from './backend.ts';
import { copyCanvas, decodeBase64, inputPixels, type ImageSource, type SampleImage, sampleCanvas, uploadCanvas } from './image.ts';
import { type LoadedModel, loadModel, modelLabel, trainingLabel } from './models.ts';
import { renderOutcome } from './render.ts';

type PanelState = 'empty' | 'loading' | 'ready' | 'running' | 'done' | 'error';

/** One of the two columns: its model select, what is loaded, and its result panel. */
interface Side {
  key: 'a' | 'b';
  select: HTMLSelectElement;
  panel: HTMLElement;
  heading: HTMLElement;
  body: HTMLElement;
  loaded: LoadedModel | null;
}

const DRAW_SIZE = 196;
const DEFAULT_EPS = 0.1;

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

export async function mountPlayground(root: HTMLElement): Promise<void> {
  root.replaceChildren();
  const status = h('p', { class: 'pg-status', 'data-testid': 'pg-status', role: 'status', 'aria-live': 'polite' }, 'starting tf.js…');
  const setStatus = (text: string, isError = false) => {
    status.textContent = text;
    status.classList.toggle('pg-error', isError);
  };
  let backendName = '…';
  const progress = (text: string, isError = false) => setStatus(`tf.js backend: ${backendName} · ${text}`, isError);

  // Everything that touches tf.js runs one at a time: loading a model while an attack uses the other, or two
  // runs at once, would interleave on the same backend and make the tensor count meaningless.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const next = queue.then(task);
    queue = next.catch(() => undefined);
    return next;
  };

  // ---- models ----
  const sides: Side[] = (['a', 'b'] as const).map((key) => {
    const heading = h('h3', {}, key === 'a' ? 'Model A' : 'Model B');
    const body = h('div', { class: 'pg-body' });
    const panel = h('article', { class: 'pg-panel', 'data-testid': `pg-result-${key}`, 'data-state': 'empty' }, heading, body);
    const select = h('select', { id: `pg-model-${key}`, 'data-testid': `pg-model-${key}` });
    return { key, select, panel, heading, body, loaded: null };
  });
  const setPanel = (side: Side, state: PanelState, ...content: (Node | string)[]) => {
    side.panel.dataset.state = state;
    if (state !== 'done') for (const a of ['cleanPred', 'advPred', 'label', 'fooled']) delete side.panel.dataset[a];
    side.body.replaceChildren(...content);
  };

  // ---- image ----
  const sampleStrip = h('div', { class: 'pg-samples', role: 'group', 'aria-label': 'test images' });
  const samplesNote = h('p', { class: 'pg-note' });
  const drawCanvas = h('canvas', { class: 'pg-draw', width: String(DRAW_SIZE), height: String(DRAW_SIZE), 'data-testid': 'pg-draw' });
  const clearButton = h('button', { type: 'button' }, 'Clear');
  const useDrawing = h('button', { type: 'button' }, 'Use drawing');
  const upload = h('input', { type: 'file', accept: 'image/*', id: 'pg-upload', 'data-testid': 'pg-upload' });
  const invert = h('input', { type: 'checkbox', id: 'pg-invert', checked: true });
  const preview = h('canvas', { class: 'pg-preview pg-pixels', width: '28', height: '28' });
  const previewNote = h('p', { class: 'pg-note' }, 'no image chosen');

  // ---- attack ----
  const attackSelect = h('select', { id: 'pg-attack', 'data-testid': 'pg-attack' });
  for (const a of PLAYGROUND_ATTACKS) attackSelect.append(h('option', { value: a.name }, a.label));
  attackSelect.value = 'pgd';
  const targetSelect = h('select', { id: 'pg-target', 'data-testid': 'pg-target' });
  const targetField = h('label', { class: 'pg-field', hidden: true }, 'target class ', targetSelect);
  const epsInput = h('input', {
    type: 'range',
    id: 'pg-eps',
    min: '0',
    max: '0.3',
    step: '0.01',
    value: String(DEFAULT_EPS),
    'data-testid': 'pg-eps',
  });
  const epsValue = h('output', { for: 'pg-eps' }, DEFAULT_EPS.toFixed(2));
  const runButton = h('button', { type: 'button', class: 'pg-run', 'data-testid': 'pg-run', disabled: true }, 'Run');
  const settingsNote = h('p', { class: 'pg-note' });

  root.append(
    h(
      'div',
      { class: 'pg' },
      h('h2', {}, 'Playground'),
      h(
        'p',
        { class: 'pg-intro' },
        'Two models attacked in this browser with advlab’s own attacks (@advlab/core on tf.js). Each model is attacked ' +
          'white-box, on its own gradients, within an L∞ ball of radius ε around the image; the verdict is the model’s answer ' +
          'on the adversarial image after core’s checks.',
      ),
      h(
        'div',
        { class: 'pg-controls' },
        h(
          'fieldset',
          { class: 'pg-models' },
          h('legend', {}, 'Models'),
          h('label', { class: 'pg-field', for: 'pg-model-a' }, 'A ', sides[0]!.select),
          h('label', { class: 'pg-field', for: 'pg-model-b' }, 'B ', sides[1]!.select),
        ),
        h(
          'fieldset',
          { class: 'pg-image' },
          h('legend', {}, 'Image'),
          samplesNote,
          sampleStrip,
          h(
            'div',
            { class: 'pg-own' },
            h('div', { class: 'pg-drawing' }, drawCanvas, h('div', { class: 'pg-row' }, clearButton, useDrawing)),
            h(
              'div',
              { class: 'pg-upload' },
              h('label', { class: 'pg-field', for: 'pg-upload' }, 'Upload an image ', upload),
              h('label', { class: 'pg-field', for: 'pg-invert' }, invert, ' invert (items are light on black, as in Fashion-MNIST)'),
              h(
                'p',
                { class: 'pg-note' },
                'Drawings and uploads are resized to each model’s input (grey-scaled for one channel). Their true class is ' +
                  'unknown: each model is attacked away from its own clean prediction.',
              ),
            ),
            h('div', { class: 'pg-chosen' }, preview, previewNote),
          ),
        ),
        h(
          'fieldset',
          { class: 'pg-attack' },
          h('legend', {}, 'Attack'),
          h('label', { class: 'pg-field', for: 'pg-attack' }, 'attack ', attackSelect),
          targetField,
          h('label', { class: 'pg-field', for: 'pg-eps' }, 'ε ', epsInput, ' ', epsValue),
          runButton,
          settingsNote,
        ),
      ),
      status,
      h('div', { class: 'pg-results' }, sides[0]!.panel, sides[1]!.panel),
    ),
  );

  const eps = () => Number(epsInput.value);
  const attack = () => attackSelect.value as PlaygroundAttack;
  const updateSettings = () => {
    epsValue.textContent = eps().toFixed(2);
    targetField.hidden = attack() !== 'pgd-targeted';
    settingsNote.textContent = describeSettings(attack(), eps());
  };
  epsInput.addEventListener('input', updateSettings);
  attackSelect.addEventListener('change', updateSettings);
  updateSettings();

  // ---- backend ----
  try {
    const backend = await startBackend();
    backendName = backend.fallbackReason ? `${backend.name} (no WebGL here)` : backend.name;
    status.dataset.backend = backend.name;
    if (backend.fallbackReason) status.title = backend.fallbackReason;
  } catch (e) {
    setStatus(`tf.js could not start: ${messageOf(e)}`, true);
    return;
  }

  // ---- listing ----
  let listing: ModelsResponse;
  let samples: SamplesResponse | null = null;
  try {
    listing = await listModels();
  } catch (e) {
    progress(`could not list the models: ${messageOf(e)}`, true);
    return;
  }
  try {
    samples = await testSamples();
  } catch (e) {
    samplesNote.textContent =
      e instanceof ApiError && e.status === 404
        ? 'No test images: the server has no Fashion-MNIST. Draw or upload an image.'
        : `Test images could not be read (${messageOf(e)}). Draw or upload an image.`;
  }

  const byId = new Map(listing.models.map((m) => [m.id, m]));
  for (const side of sides) {
    side.select.append(h('option', { value: '' }, listing.models.length ? '— choose a model —' : '— no models under the served folders —'));
    for (const m of listing.models) side.select.append(h('option', { value: m.id }, modelLabel(m)));
  }
  const [first, second] = listing.models;
  sides[0]!.select.value = listing.defaults.standard ?? first?.id ?? '';
  sides[1]!.select.value = listing.defaults.robust ?? second?.id ?? first?.id ?? '';

  // ---- the chosen image ----
  let source: ImageSource | null = null;
  const sampleButtons: HTMLButtonElement[] = [];
  const classNamesForTargets = () => sides.find((s) => s.loaded)?.loaded?.classNames ?? samples?.classNames ?? [];
  const refreshTargets = () => {
    const names = classNamesForTargets();
    const previous = targetSelect.value;
    targetSelect.replaceChildren(...names.map((n, k) => h('option', { value: String(k) }, `${k}: ${n}`)));
    if (previous && Number(previous) < names.length) targetSelect.value = previous;
  };
  const choose = (next: ImageSource, description: string) => {
    source = next;
    for (const b of sampleButtons) b.setAttribute('aria-pressed', String(next.kind === 'sample' && b.dataset.index === String(next.index)));
    const shown = next.kind === 'sample' ? sampleCanvas(next) : next.canvas;
    preview.width = shown.width;
    preview.height = shown.height;
    preview.getContext('2d')?.drawImage(shown, 0, 0);
    previewNote.textContent = description;
    updateRunnable();
  };

  if (samples) {
    const { height, width, channels, classNames } = samples;
    samplesNote.textContent = `The first ${samples.images.length} test images of ${samples.dataset} (true label in the tooltip):`;
    for (const image of samples.images) {
      const sample: SampleImage = {
        kind: 'sample',
        index: image.index,
        label: image.label,
        height,
        width,
        channels,
        bytes: decodeBase64(image.pixels),
      };
      const labelName = classNames[image.label] ?? `class ${image.label}`;
      const thumb = sampleCanvas(sample);
      thumb.classList.add('pg-pixels');
      const button = h(
        'button',
        {
          type: 'button',
          class: 'pg-sample',
          'data-testid': `pg-sample-${image.index}`,
          'data-index': String(image.index),
          title: `#${image.index}: ${labelName}`,
          'aria-pressed': 'false',
        },
        thumb,
      );
      button.addEventListener('click', () => choose(sample, `test image #${image.index}, true label ${labelName}`));
      sampleButtons.push(button);
      sampleStrip.append(button);
    }
  }

  // ---- drawing ----
  const drawCtx = drawCanvas.getContext('2d')!;
  const clearDrawing = () => {
    drawCtx.fillStyle = '#000';
    drawCtx.fillRect(0, 0, DRAW_SIZE, DRAW_SIZE);
  };
  clearDrawing();
  let drawing = false;
  const at = (e: PointerEvent): [number, number] => {
    const box = drawCanvas.getBoundingClientRect();
    return [((e.clientX - box.left) * DRAW_SIZE) / box.width, ((e.clientY - box.top) * DRAW_SIZE) / box.height];
  };
  drawCanvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    drawCanvas.setPointerCapture(e.pointerId);
    drawCtx.strokeStyle = '#fff';
    drawCtx.lineWidth = DRAW_SIZE / 12;
    drawCtx.lineCap = 'round';
    drawCtx.lineJoin = 'round';
    drawCtx.beginPath();
    drawCtx.moveTo(...at(e));
    drawCtx.lineTo(...at(e));
    drawCtx.stroke();
  });
  drawCanvas.addEventListener('pointermove', (e) => {
    if (!drawing) return;
    drawCtx.lineTo(...at(e));
    drawCtx.stroke();
  });
  const endStroke = () => {
    if (!drawing) return;
    drawing = false;
    choose({ kind: 'drawing', canvas: copyCanvas(drawCanvas) }, 'your drawing (true label unknown)');
  };
  drawCanvas.addEventListener('pointerup', endStroke);
  drawCanvas.addEventListener('pointercancel', endStroke);
  clearButton.addEventListener('click', () => {
    clearDrawing();
    if (source?.kind === 'drawing')
      choose({ kind: 'drawing', canvas: copyCanvas(drawCanvas) }, 'your drawing (cleared; true label unknown)');
  });
  useDrawing.addEventListener('click', () =>
    choose({ kind: 'drawing', canvas: copyCanvas(drawCanvas) }, 'your drawing (true label unknown)'),
  );

  // ---- upload ----
  let uploaded: { bitmap: ImageBitmap; name: string } | null = null;
  const useUpload = () => {
    if (!uploaded) return;
    choose({ kind: 'upload', canvas: uploadCanvas(uploaded.bitmap, DRAW_SIZE, invert.checked) }, `${uploaded.name} (true label unknown)`);
  };
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    if (!file) return;
    createImageBitmap(file).then(
      (bitmap) => {
        uploaded?.bitmap.close();
        uploaded = { bitmap, name: file.name };
        useUpload();
      },
      (e) => progress(`${file.name} could not be read as an image (${messageOf(e)})`, true),
    );
  });
  invert.addEventListener('change', () => {
    if (source?.kind === 'upload') useUpload();
  });

  // ---- loading models ----
  const updateRunnable = () => {
    runButton.disabled = !source || !sides.some((s) => s.loaded);
  };
  const load = (side: Side) =>
    serial(async () => {
      side.loaded?.model.dispose();
      side.loaded = null;
      updateRunnable();
      const info = byId.get(side.select.value);
      side.heading.replaceChildren(
        ...(info ? [info.name, ' ', h('span', { class: 'pg-training' }, trainingLabel(info))] : [`Model ${side.key.toUpperCase()}`]),
      );
      if (!info) {
        setPanel(side, 'empty', h('p', { class: 'pg-note' }, 'no model chosen'));
        return;
      }
      setPanel(side, 'loading', h('p', { class: 'pg-note' }, `loading ${info.path}…`));
      progress(`loading ${info.name}…`);
      try {
        side.loaded = await loadModel(info);
        const { inputShape, numClasses } = side.loaded.classifier;
        setPanel(
          side,
          'ready',
          h('p', { class: 'pg-note' }, `${modelLabel(info)} — input ${inputShape.join('×')}, ${numClasses} classes. Ready.`),
        );
        progress(`${info.name} loaded`);
        refreshTargets();
      } catch (e) {
        setPanel(side, 'error', h('p', { class: 'pg-error' }, `could not load ${info.path}: ${messageOf(e)}`));
        progress(`could not load ${info.name}: ${messageOf(e)}`, true);
      }
      updateRunnable();
    });
  for (const side of sides) side.select.addEventListener('change', () => void load(side).catch((e) => progress(messageOf(e), true)));

  // ---- running ----
  const runOne = async (side: Side, image: ImageSource, request: { attack: PlaygroundAttack; eps: number; target?: number }) => {
    const loaded = side.loaded;
    if (!loaded) return;
    const { classifier, classNames, info } = loaded;
    setPanel(side, 'running', h('p', { class: 'pg-note' }, `attacking ${info.name}…`));
    progress(`running ${request.attack} on ${info.name}…`);
    await tf.nextFrame(); // let the page show that before the attack holds the main thread
    // A sample's label counts only for a model of the sample's classes and dataset.
    const sameTask =
      image.kind === 'sample' &&
      samples !== null &&
      classifier.numClasses === samples.classNames.length &&
      (loaded.info.meta?.dataset === undefined || loaded.info.meta.dataset === samples.dataset);
    try {
      const pixels = inputPixels(image, classifier.inputShape);
      const outcome = await attackImage(classifier, pixels, { ...request, ...(sameTask ? { label: image.label } : {}) });
      const { body, verdict } = renderOutcome(outcome, classNames, classifier.inputShape, request.eps, request.target);
      setPanel(side, 'done', body);
      Object.assign(side.panel.dataset, {
        cleanPred: String(outcome.cleanPred),
        advPred: String(outcome.adversarialPred),
        label: String(outcome.label),
        fooled: String(verdict.fooled),
      });
    } catch (e) {
      setPanel(side, 'error', h('p', { class: 'pg-error' }, `${request.attack} on ${info.name} failed: ${messageOf(e)}`));
      throw e;
    }
  };
  let runs = 0;
  runButton.addEventListener('click', () => {
    const image = source;
    if (!image) return;
    const request = {
      attack: attack(),
      eps: eps(),
      ...(attack() === 'pgd-targeted' ? { target: Number(targetSelect.value) } : {}),
    };
    runButton.disabled = true;
    void serial(async () => {
      const started = performance.now();
      let failed: string | null = null;
      for (const side of sides) {
        try {
          await runOne(side, image, request);
        } catch (e) {
          failed ??= messageOf(e);
        }
      }
      runs += 1;
      status.dataset.tensors = String(tf.memory().numTensors);
      status.dataset.runs = String(runs);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (failed) progress(`${request.attack} failed: ${failed}`, true);
      else progress(`${request.attack} at ε = ${request.eps}: done in ${seconds} s · ${tf.memory().numTensors} tensors in memory`);
    })
      .catch((e) => progress(`${request.attack} failed: ${messageOf(e)}`, true))
      .finally(updateRunnable);
  });

  // A sample first (when there are any), so one click on Run shows something.
  const firstSample = sampleButtons[0];
  if (firstSample) firstSample.click();
  else choose({ kind: 'drawing', canvas: copyCanvas(drawCanvas) }, 'your drawing (true label unknown)');
  await Promise.all(sides.map((side) => load(side).catch((e) => progress(messageOf(e), true))));
  // A model that failed to load has said so in the status: that message stays.
  if (!sides.some((s) => s.panel.dataset.state === 'error')) {
    progress(sides.some((s) => s.loaded) ? 'ready: pick an image and press Run' : 'no model loaded: pick one above');
  }
  status.dataset.ready = 'true';
}

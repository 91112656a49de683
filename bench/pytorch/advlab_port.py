#!/usr/bin/python3
"""Loading an advlab model and its data in PyTorch, shared by the scripts that check advlab against a reference.

load_advlab_model reads advlab's saved wong-cnn (a tf.js LayersModel folder, or a run directory: DIR/model),
checks its topology and recorded weights sha256, and puts its weights into bench.py's PyTorch wong-cnn (NCHW);
first_test_images gives the FIRST n Fashion-MNIST test images, unshuffled, pixels / 255 (the images
`advlab eval --n N` evaluates); check_logits compares the converted model's logits with advlab's.
Used by autoattack_eval.py and curvature_ref.py (see bench/README.md).
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the same folder: read_idx, the wong-cnn builder)

TEST_IMAGES = 't10k-images-idx3-ubyte.gz'
TEST_LABELS = 't10k-labels-idx1-ubyte.gz'
WEIGHTS_SHA256_KEY = 'advlabWeightsSha256'  # packages/node/src/models/io.ts


class Fail(Exception):
    """A refused input: printed as {"error": ...} with exit code 1."""


# ---------------------------------------------------------------- the advlab model

def model_json_path(path):
    """A model folder, a run directory (its model/), or a model.json file → the model.json path."""
    if os.path.isfile(path):
        return path
    direct = os.path.join(path, 'model.json')
    if os.path.isfile(direct):
        return direct
    run = os.path.join(path, 'model', 'model.json')  # a run directory, as `advlab eval --model RUN` reads it
    if os.path.isfile(run):
        return run
    raise Fail(f'--model {path}: expected a model folder (model.json), a run directory (model/model.json) or a model.json file')


def read_weights(json_file, doc):
    """{name: float32 numpy array} in manifest order, after checking byte counts and the recorded sha256."""
    folder = os.path.dirname(json_file)
    specs, blobs = [], []
    for group in doc.get('weightsManifest', []):
        specs.extend(group['weights'])
        for p in group['paths']:
            f = os.path.realpath(os.path.join(folder, p))
            if os.path.dirname(f) != os.path.realpath(folder):
                raise Fail(f'{json_file}: weight file {p!r} is outside the model folder')
            with open(f, 'rb') as fh:
                blobs.append(fh.read())
    data = b''.join(blobs)
    recorded = doc.get(WEIGHTS_SHA256_KEY)
    sha = hashlib.sha256(data).hexdigest()
    if recorded is not None and recorded != sha:
        raise Fail(f'{json_file}: weights sha256 {sha[:12]}… differ from the recorded {str(recorded)[:12]}…')
    out, offset = {}, 0
    for s in specs:
        if s.get('dtype', 'float32') != 'float32':
            raise Fail(f'{json_file}: weight {s["name"]}: expected float32, found {s.get("dtype")}')
        count = int(np.prod(s['shape'])) if s['shape'] else 1
        out[s['name']] = np.frombuffer(data, dtype='<f4', count=count, offset=offset).reshape(s['shape']).copy()
        offset += 4 * count
    if offset != len(data):
        raise Fail(f'{json_file}: the manifest lists {offset} bytes of weights, the files hold {len(data)}')
    return out, sha


def check_wong_cnn(json_file, topology):
    """Refuses anything but advlab's zoo wong-cnn for 28×28×1 inputs and 10 classes (what bench.py builds)."""
    def bad(what):
        return Fail(f'{json_file}: expected advlab\'s wong-cnn for 28×28×1, 10 classes (packages/core/src/models/zoo.ts); {what}')

    if topology.get('class_name') != 'Sequential':
        raise bad(f'found a {topology.get("class_name")} topology')
    layers = topology['config']['layers']
    kinds = [l['class_name'] for l in layers]
    want = ['ZeroPadding2D', 'Conv2D', 'ZeroPadding2D', 'Conv2D', 'Flatten', 'Dense', 'Dense']
    if kinds != want:
        raise bad(f'found layers {kinds}')
    cfg = [l['config'] for l in layers]
    if cfg[0].get('batch_input_shape') != [None, 28, 28, 1]:
        raise bad(f'found input shape {cfg[0].get("batch_input_shape")}')
    for i in (0, 2):
        if cfg[i]['padding'] != [[1, 1], [1, 1]] or cfg[i].get('data_format', 'channels_last') != 'channels_last':
            raise bad(f'layer {cfg[i]["name"]}: padding {cfg[i]["padding"]}')
    for i, filters in ((1, 16), (3, 32)):
        c = cfg[i]
        got = (c['filters'], c['kernel_size'], c['strides'], c['padding'], c.get('dilation_rate', [1, 1]),
               c['activation'], c['use_bias'], c.get('data_format', 'channels_last'))
        if got != (filters, [4, 4], [2, 2], 'valid', [1, 1], 'relu', True, 'channels_last'):
            raise bad(f'layer {c["name"]}: {got}')
    for i, units, act in ((5, 100, 'relu'), (6, 10, 'linear')):
        c = cfg[i]
        if (c['units'], c['activation'], c['use_bias']) != (units, act, True):
            raise bad(f'layer {c["name"]}: units {c["units"]}, activation {c["activation"]}')
    return [c['name'] for c in cfg]


def load_advlab_model(path):
    """advlab's saved wong-cnn as bench.py's torch wong-cnn holding the same weights (eval mode, no weight grads).

    zoo.ts realises "pad 1" as ZeroPadding2D(1) then a 'valid' 4×4/2 conv: exactly Conv2d(k=4, s=2, padding=1).
    Kernels: conv [kh, kw, in, out] → [out, in, kh, kw]; dense [in, out] → [out, in]. The first dense layer
    reads the flattened conv2 output, NHWC (h, w, c) in tf.js but NCHW (c, h, w) in torch, so its input rows
    are permuted: [7·7·32, 100] → [7, 7, 32, 100] → [100, 32, 7, 7] → [100, 1568]."""
    json_file = model_json_path(path)
    with open(json_file) as fh:
        doc = json.load(fh)
    names = check_wong_cnn(json_file, doc['modelTopology'])
    w, sha = read_weights(json_file, doc)
    conv1, conv2, dense1, logits = names[1], names[3], names[5], names[6]

    def get(layer, part):
        key = f'{layer}/{part}'
        if key not in w:
            raise Fail(f'{json_file}: no weight {key} in the manifest (found {", ".join(w)})')
        return torch.from_numpy(w[key])

    model = bench.create_model('wong-cnn')
    c1, c2, d1, d2 = model[0], model[2], model[5], model[7]
    h, wd, ch = 7, 7, 32  # conv2's output: 28 → 14 → 7, 32 channels
    with torch.no_grad():
        c1.weight.copy_(get(conv1, 'kernel').permute(3, 2, 0, 1))
        c1.bias.copy_(get(conv1, 'bias'))
        c2.weight.copy_(get(conv2, 'kernel').permute(3, 2, 0, 1))
        c2.bias.copy_(get(conv2, 'bias'))
        k = get(dense1, 'kernel')  # [h·w·c, 100], rows in (h, w, c) order
        d1.weight.copy_(k.reshape(h, wd, ch, k.shape[1]).permute(3, 2, 0, 1).reshape(k.shape[1], ch * h * wd))
        d1.bias.copy_(get(dense1, 'bias'))
        d2.weight.copy_(get(logits, 'kernel').t())
        d2.bias.copy_(get(logits, 'bias'))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, json_file, sha, doc.get('advlab')


# ---------------------------------------------------------------- data

def first_test_images(data_dir, n):
    """The first n test images (NCHW float32, pixels / 255) and labels (int64), as advlab eval reads them."""
    images = bench.read_idx(os.path.join(data_dir, TEST_IMAGES))
    labels = bench.read_idx(os.path.join(data_dir, TEST_LABELS))
    if n > images.shape[0]:
        raise Fail(f'--n {n}: the test set has {images.shape[0]} images')
    x = images[:n].to(torch.float32).div_(255.0).unsqueeze(1).contiguous()
    return x, labels[:n].to(torch.int64).clone()


def check_logits(model, file, x_all, y_all, tol):
    """Compares the torch model's logits with advlab's (JSON {logits: [[...]], labels?: [...]}) on the first images."""
    with open(file) as fh:
        ref = json.load(fh)
    want = torch.tensor(ref['logits'], dtype=torch.float64)
    k = want.shape[0]
    if k > x_all.shape[0]:
        raise Fail(f'--check-logits {file}: {k} images, more than --n {x_all.shape[0]}')
    with torch.no_grad():
        got = model(x_all[:k]).to(torch.float64)
    if got.shape != want.shape:
        raise Fail(f'--check-logits {file}: logits of shape {list(want.shape)}, the model gives {list(got.shape)}')
    diff = (got - want).abs().max().item()
    out = {'file': file, 'images': k, 'max_abs_diff': diff, 'tol': tol,
           'argmax_agree': bool((got.argmax(1) == want.argmax(1)).all()), 'ok': diff <= tol}
    if 'labels' in ref:
        out['labels_agree'] = ref['labels'] == y_all[:k].tolist()
        out['ok'] = out['ok'] and out['labels_agree']
    if 'backend' in ref:
        out['advlab_backend'] = ref['backend']
    return out


def print_error(result, error):
    """A refused run: the result so far with {"error": ...}, printed (not saved, so no earlier result file is replaced); returns the exit code 1."""
    result['error'] = str(error)
    print(json.dumps(result, indent=2))
    return 1


def print_and_save(result, out=None):
    """Prints the result as indented JSON on stdout and, with `out`, writes it there atomically (a temporary file renamed)."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        tmp = out + '.tmp'
        with open(tmp, 'w') as fh:
            fh.write(text + '\n')
        os.replace(tmp, out)

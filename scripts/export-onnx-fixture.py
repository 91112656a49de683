#!/usr/bin/python3
"""Builds the ONNX test fixtures of @advlab/node (packages/node/src/models/onnx.test.ts) in test/fixtures/.

Rerun (from the repository root, on Debian):

    /usr/bin/python3 -c "import torch" || sudo apt-get install -y python3-torch   # PyTorch 1.13, Debian's
    /usr/bin/python3 scripts/export-onnx-fixture.py   # Debian's Python, not a pyenv/venv one without torch

The output is deterministic for a given PyTorch build (torch.manual_seed), and the committed files are what the
tests check, so there is no need to rerun this unless the fixtures change. It writes:

  tiny-cnn.onnx          a tiny CNN, input "input" [batch, 3, 12, 12] (NCHW, as PyTorch exports), output
                         "logits" [batch, 5]; opset 13, dynamic batch axis.
  tiny-cnn-nhwc.onnx     the same network with the same weights behind a permute: input [batch, 12, 12, 3] (NHWC).
  tiny-cnn-weights.json  every parameter of the network (name, PyTorch shape, float32 values in PyTorch's layout:
                         conv weights OIHW, linear weights [out, in] with `in` in NCHW flatten order, i.e. c*h*w),
                         a few test images and PyTorch's logits for them.
  two-inputs.onnx        refused by the loader: two inputs.
  feature-map.onnx       refused by the loader: a 4-D output (no logits).

Test images are stored NHWC as integers k in [0, 256) with `scale` 1/256: each pixel is k/256, exactly representable
in float32, so every reader builds bit-identical inputs. PyTorch sees them transposed to NCHW.
The network: conv 3->4 3x3 stride 1 padding 1, ReLU, conv 4->4 3x3 stride 2 no padding (-> 4x5x5), ReLU,
flatten (NCHW order: 100), linear 100->5.
"""

import json
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")
SEED = 12
H = W = 12
C = 3
CLASSES = 5
OPSET = 13
N_IMAGES = 4


class TinyCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, 4, 3, stride=1, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, padding=0)
        self.fc = nn.Linear(4 * 5 * 5, CLASSES)
        # Weights larger than PyTorch's default initialisation, so the logits are of order 1 and differ between
        # images and classes (a wrong layout or flatten order then shows far above the tests' tolerance).
        with torch.no_grad():
            for layer, std in ((self.conv1, 0.5), (self.conv2, 0.4), (self.fc, 0.4)):
                layer.weight.normal_(0, std)
                layer.bias.normal_(0, 0.1)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.fc(torch.flatten(x, 1))


class Nhwc(nn.Module):
    """The same network taking NHWC input, as a TensorFlow/Keras export would."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.permute(0, 3, 1, 2))


class TwoInputs(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, y):
        return self.net(x) + y


class FeatureMap(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.conv1(x)


def f32(v):
    """The shortest decimal that reads back as the same float32."""
    return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))


def export(module, args, name, input_names, output_names, dynamic_axes):
    path = os.path.join(OUT, name)
    torch.onnx.export(
        module,
        args,
        path,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes=dynamic_axes,
        opset_version=OPSET,
        do_constant_folding=True,
    )
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    net = TinyCnn().eval()
    gen = np.random.default_rng(SEED)
    # Four images: random, a smooth ramp, all zeros, all 255/256.
    k = np.zeros((N_IMAGES, H, W, C), dtype=np.int64)
    k[0] = gen.integers(0, 256, size=(H, W, C))
    k[1] = (np.arange(H * W * C).reshape(H, W, C) * 7) % 256
    k[3] = 255
    scale = 1 / 256
    x_nhwc = torch.tensor(k, dtype=torch.float32) * scale  # exact
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        logits = net(x_nchw)
        assert torch.equal(Nhwc(net)(x_nhwc), logits)

    batch = {"input": {0: "batch"}, "logits": {0: "batch"}}
    export(net, (x_nchw,), "tiny-cnn.onnx", ["input"], ["logits"], batch)
    export(Nhwc(net), (x_nhwc,), "tiny-cnn-nhwc.onnx", ["input"], ["logits"], batch)
    export(
        TwoInputs(net),
        (x_nchw, torch.zeros(N_IMAGES, CLASSES)),
        "two-inputs.onnx",
        ["input", "offset"],
        ["logits"],
        {"input": {0: "batch"}, "offset": {0: "batch"}, "logits": {0: "batch"}},
    )
    export(FeatureMap(net), (x_nchw,), "feature-map.onnx", ["input"], ["features"], {"input": {0: "batch"}, "features": {0: "batch"}})

    params = [
        {"name": name, "shape": list(p.shape), "values": [f32(v) for v in p.detach().numpy().ravel()]}
        for name, p in net.named_parameters()
    ]
    doc = {
        "description": "Weights of test/fixtures/tiny-cnn.onnx in PyTorch layout, test images and PyTorch's logits; "
        "written by scripts/export-onnx-fixture.py",
        "torch": torch.__version__,
        "seed": SEED,
        "opset": OPSET,
        "inputShape": [H, W, C],
        "numClasses": CLASSES,
        "params": params,
        "images": {"shape": list(k.shape), "layout": "nhwc", "scale": scale, "values": k.ravel().tolist()},
        "logits": {"shape": list(logits.shape), "values": [f32(v) for v in logits.numpy().ravel()]},
    }
    path = os.path.join(OUT, "tiny-cnn-weights.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()

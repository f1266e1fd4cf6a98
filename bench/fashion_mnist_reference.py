"""torchvision + scikit-learn side of scripts/bench-fashion-mnist.sh: the same Fashion-MNIST
k-NN classification on the same PNG folders (written by the fashion_mnist example), with
the same preprocessing (PIL open + convert("RGB") + torchvision's ImageClassification
preset: resize 256, center crop 224, ImageNet normalization), the same MobileNetV2 weights
(.pth), its pooled 1280-d features, and KNeighborsClassifier (cosine distance, uniform
majority vote) fitted on the reference folder. Prints accuracy and images/s.

    python bench/fashion_mnist_reference.py --weights W.pth --threads 2 -k 10 OUT_DIR
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torchvision
from PIL import Image
from sklearn.neighbors import KNeighborsClassifier

p = argparse.ArgumentParser()
p.add_argument("--weights", required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("-k", type=int, default=10)
p.add_argument("out_dir")
a = p.parse_args()
torch.set_num_threads(a.threads)

model = torchvision.models.mobilenet_v2()
model.load_state_dict(torch.load(a.weights, map_location="cpu", weights_only=True))
model.eval()
preset = torchvision.transforms._presets.ImageClassification(crop_size=224, resize_size=256)


def folder(name):
    paths = sorted(glob.glob(os.path.join(a.out_dir, name, "*", "*.png")))
    return paths, [os.path.basename(os.path.dirname(q)) for q in paths]


def embed(paths):
    """Pooled features (what torchvision's classifier sees), batch by batch."""
    rows = []
    with torch.inference_mode():
        for i in range(0, len(paths), a.batch_size):
            x = torch.stack([preset(Image.open(q).convert("RGB")) for q in paths[i : i + a.batch_size]])
            f = model.features(x)
            rows.append(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(f, 1), 1).numpy())
    return np.concatenate(rows)


ref_paths, ref_labels = folder("reference")
query_paths, query_labels = folder("queries")
t = time.perf_counter()
ref = embed(ref_paths)
index_s = time.perf_counter() - t
t = time.perf_counter()
knn = KNeighborsClassifier(n_neighbors=a.k, metric="cosine", algorithm="brute").fit(ref, ref_labels)
queries = embed(query_paths)
predicted = knn.predict(queries)
query_s = time.perf_counter() - t
correct = int(sum(p == q for p, q in zip(predicted, query_labels)))
print(f"torchvision {torchvision.__version__} + scikit-learn KNeighborsClassifier, {a.threads} threads")
print(f"embedded {len(ref_paths)} reference images in {index_s:.1f} s ({len(ref_paths) / index_s:.1f} images/s)")
print(f"classified {len(query_paths)} images in {query_s:.1f} s ({len(query_paths) / query_s:.1f} images/s, embedding + k-NN)")
print(f"k-NN (k={a.k}, majority vote) accuracy: {correct / len(query_paths):.4f} ({correct}/{len(query_paths)})")

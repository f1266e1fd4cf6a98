"""torchvision's side of scripts/bench-images.sh: images per second for the same model and
images, from files (PIL open + the ImageClassification preset + forward) and from ready
tensors (forward only). Prints one JSON line.

    python bench/images_baseline.py --arch resnet50 --weights W.safetensors --batch-size 16 \
        --threads 2 IMAGE...
"""
import argparse
import json
import time

import torch
import torchvision
from PIL import Image

p = argparse.ArgumentParser()
p.add_argument("--arch", required=True)
p.add_argument("--weights", required=True)
p.add_argument("--batch-size", type=int, default=16)
p.add_argument("--threads", type=int, default=2)
p.add_argument("images", nargs="+")
a = p.parse_args()
torch.set_num_threads(a.threads)

model = getattr(torchvision.models, a.arch)()
if a.weights.endswith(".safetensors"):
    from safetensors.torch import load_file

    sd = load_file(a.weights)
else:
    sd = torch.load(a.weights, map_location="cpu", weights_only=True)
model.load_state_dict(sd)
model.eval()
preset = torchvision.transforms._presets.ImageClassification(crop_size=224, resize_size=256)


def from_files(paths):
    with torch.inference_mode():
        for i in range(0, len(paths), a.batch_size):
            x = torch.stack([preset(Image.open(q).convert("RGB")) for q in paths[i : i + a.batch_size]])
            model(x)


from_files(a.images[: a.batch_size])  # warm-up
t = time.perf_counter()
from_files(a.images)
files_s = time.perf_counter() - t

inputs = [preset(Image.open(q).convert("RGB")) for q in a.images]
t = time.perf_counter()
with torch.inference_mode():
    for i in range(0, len(inputs), a.batch_size):
        model(torch.stack(inputs[i : i + a.batch_size]))
infer_s = time.perf_counter() - t
print(json.dumps({
    "engine": "torchvision",
    "arch": a.arch,
    "images": len(a.images),
    "batch_size": a.batch_size,
    "images_per_s": round(len(a.images) / files_s, 2),
    "inference_images_per_s": round(len(a.images) / infer_s, 2),
}))

"""Model2Vec's own encoder on a static model folder: sentences/s on a file of texts (best of
`--repeat` runs, after a warm-up), and the first values of the first vector, as one JSON line
(the shape of `embedkit bench`'s report). With --compare FOLDER, also the cosine between the
two folders' vectors of every text (min and mean), e.g. a folder distilled by embedkit against
one distilled by model2vec from the same model.

    python bench/static_baseline.py --model DIR --texts FILE [--threads N] [--compare DIR]
"""
import argparse
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--texts", required=True)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--repeat", type=int, default=5)
parser.add_argument("--compare")
args = parser.parse_args()
os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # the tokenizers library's pool

import numpy as np  # noqa: E402
from model2vec import StaticModel  # noqa: E402

texts = [line.rstrip("\n") for line in open(args.texts, encoding="utf-8")]
model = StaticModel.from_pretrained(args.model)
model.encode(texts[:64])
best = float("inf")
for _ in range(args.repeat):
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=1024)
    best = min(best, time.perf_counter() - start)
report = {
    "engine": "model2vec",
    "texts": len(texts),
    "seconds": round(best, 4),
    "texts_per_s": round(len(texts) / best, 2),
    "first": [round(float(v), 6) for v in vectors[0][:4]],
}
if args.compare:
    other = StaticModel.from_pretrained(args.compare).encode(texts)
    a = vectors.astype(np.float64)
    b = other.astype(np.float64)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    report["cosine_vs_compare"] = {"min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6)}
print(json.dumps(report))

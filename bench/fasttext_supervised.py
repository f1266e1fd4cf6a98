"""5-fold cross-validation of fastText supervised on a `__label__X text` file, with the
official `fasttext` Python module (PyPI `fasttext-wheel`) and, with `--embedkit BIN`, with
`embedkit words supervised cv` on the same folds and hyperparameters.

    python bench/fasttext_supervised.py testdata/data/pang_lee_polarity.cor \
        [--embedkit target/debug/embedkit] [--pretrained testdata/data/glove-6b-50d-polarity.vec]
        [--dim 50 --epoch 100 --lr 0.1 --word-ngrams 1]

Folds: scikit-learn's StratifiedKFold(5) on the first label of each line (no shuffling), as
`embedkit classify eval` and bench/apps_reference.py. Accuracy is P@1 on the held-out fold.
Needs `fasttext-wheel scikit-learn numpy`.
"""
import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile

import fasttext
import numpy as np
from sklearn.model_selection import StratifiedKFold

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("--embedkit")
p.add_argument("--folds", type=int, default=5)
p.add_argument("--pretrained", help="word vectors to start from (.vec with a header line)")
p.add_argument("--epoch", type=int, default=100)
p.add_argument("--lr", type=float, default=0.1)
p.add_argument("--dim", type=int, default=50)
p.add_argument("--word-ngrams", type=int, default=1)
p.add_argument("--bucket", type=int, default=200000)
p.add_argument("--seeds", type=int, default=5, help="runs with seeds 1..N, averaged")
a = p.parse_args()

lines = [l for l in open(a.data, "rb").read().split(b"\n") if l.strip()]
labels = [next(t for t in l.split() if t.startswith(b"__label__")).decode() for l in lines]
folds = np.zeros(len(lines), dtype=int)
for f, (_, test) in enumerate(StratifiedKFold(a.folds).split(np.zeros(len(lines)), labels)):
    folds[test] = f

ref = []
with tempfile.TemporaryDirectory() as d:
    for seed in range(1, a.seeds + 1):
        accs = []
        for f in range(a.folds):
            train, test = os.path.join(d, "train.txt"), os.path.join(d, "test.txt")
            open(train, "wb").write(b"\n".join(l for l, g in zip(lines, folds) if g != f) + b"\n")
            open(test, "wb").write(b"\n".join(l for l, g in zip(lines, folds) if g == f) + b"\n")
            m = fasttext.train_supervised(
                train, epoch=a.epoch, lr=a.lr, dim=a.dim, wordNgrams=a.word_ngrams,
                bucket=a.bucket, minCount=1, loss="softmax", thread=1, seed=seed, verbose=0,
                pretrainedVectors=a.pretrained or "")
            n, p1, _ = m.test(test, k=1)
            accs.append(p1)
        ref.append(float(np.mean(accs)))
version = importlib.metadata.version("fasttext-wheel")
out = {f"fasttext {version}": {"accuracy": float(np.mean(ref)), "per_seed": ref}}

if a.embedkit:
    ours = []
    for seed in range(1, a.seeds + 1):
        r = subprocess.run(
            [a.embedkit, "--threads", "1", "words", "supervised", "cv", "--input", a.data, "--folds", str(a.folds),
             "--epoch", str(a.epoch), "--lr", str(a.lr), "--dim", str(a.dim),
             "--word-ngrams", str(a.word_ngrams), "--bucket", str(a.bucket), "--seed", str(seed),
             "--json"] + (["--pretrained", a.pretrained] if a.pretrained else []),
            check=True, capture_output=True, text=True)
        ours.append(json.loads(r.stdout)["accuracy"])
    out["embedkit"] = {"accuracy": float(np.mean(ours)), "per_seed": ours}
    # The .bin embedkit writes is fastText's own: fastText loads it and predicts the same.
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "model.bin")
        subprocess.run(
            [a.embedkit, "--threads", "1", "words", "supervised", "train", "--input", a.data,
             "-o", model, "--dim", str(a.dim), "--epoch", str(a.epoch), "--lr", str(a.lr),
             "--word-ngrams", "2", "--bucket", "10000"], check=True, capture_output=True)
        texts = ["a gripping , beautifully acted film", "tedious and far too long", "it's a movie"]
        r = subprocess.run([a.embedkit, "words", "supervised", "predict", "-m", model, "-k", "2",
                            "--json"] + texts, check=True, capture_output=True, text=True)
        ours = [{p["label"]: p["probability"] for p in json.loads(l)} for l in r.stdout.splitlines()]
        ft = fasttext.load_model(model)
        diff = 0.0
        for t, o in zip(texts, ours):
            # The module's own predict() trips over NumPy 2; its binding gives the same pairs.
            pairs = ft.f.predict(t + "\n", 2, 0.0, "strict")
            diff = max(diff, max(abs(o[l] - p) for p, l in pairs))
        out["bin_loaded_by_fasttext_max_probability_difference"] = diff
json.dump(out, sys.stdout)
print()

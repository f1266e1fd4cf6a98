"""Reference numbers for embedkit's applications (classify, recommend, cluster), computed with
sentence-transformers and scikit-learn on the same data, folds and definitions.

    python bench/apps_reference.py [MODEL_DIR]      # default models/all-MiniLM-L6-v2

Prints one JSON object:
  polarity: 5-fold accuracy of LogisticRegression(C=1) on the embeddings of
            testdata/data/pang_lee_polarity.cor, cross_val_score's default folds
            (StratifiedKFold(5), no shuffling), which embedkit reproduces exactly.
  lee_ndcg5: mean nDCG@5 (sklearn.metrics.ndcg_score) of item-to-item lists on the 50 Lee
            documents: every other document ranked by cosine, gains = human ratings.
"""
import json
import sys

import numpy as np
from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ndcg_score
from sklearn.model_selection import StratifiedKFold

model_dir = sys.argv[1] if len(sys.argv) > 1 else "models/all-MiniLM-L6-v2"
model = SentenceTransformer(model_dir, device="cpu")

labels, texts = [], []
for line in open("testdata/data/pang_lee_polarity.cor", encoding="latin-1"):
    line = line.strip()
    if not line:
        continue
    label, text = line.split(None, 1)
    labels.append(label.removeprefix("__label__"))
    texts.append(text.strip())
x = model.encode(texts, batch_size=32)
classes = sorted(set(labels))
y = np.array([classes.index(label) for label in labels])
accuracies = []
for train, test in StratifiedKFold(5).split(x, y):
    clf = LogisticRegression(C=1.0, max_iter=1000, tol=1e-8).fit(x[train], y[train])
    accuracies.append(float((clf.predict(x[test]) == y[test]).mean()))

docs = open("testdata/data/lee.cor", encoding="latin-1").read().splitlines()
ratings = np.loadtxt("testdata/data/similarities0-1.txt")
ratings = np.maximum(ratings, ratings.T)  # the file holds the upper triangle
e = model.encode(docs, batch_size=32)
sims = e @ e.T
scores = []
for i in range(len(docs)):
    others = [j for j in range(len(docs)) if j != i]
    scores.append(ndcg_score([ratings[i, others]], [sims[i, others]], k=5))

print(json.dumps({
    "polarity": {"fold_accuracies": accuracies, "accuracy": float(np.mean(accuracies))},
    "lee_ndcg5": float(np.mean(scores)),
}))

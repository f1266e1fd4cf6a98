"""Reference for embedkit's averaged word vectors on the Lee documents: item-to-item nDCG@5
against the human ratings, each document's vector the numpy mean of the GloVe rows of its
words, neighbours by cosine, scored by sklearn.metrics.ndcg_score (as bench/apps_reference.py
scores all-MiniLM-L6-v2).

    python bench/lee_glove_reference.py [GLOVE_TEXT]   # default testdata/data/glove-6b-50d-lee.txt

Words: the runs of letters and digits of the lowercased text; words GloVe lacks are skipped.
The full glove.6B.50d.txt (scripts/glove-6b-to-text.py) gives the same number as the Lee
subset, which holds every Lee word GloVe knows. Prints one JSON object.
"""
import json
import re
import sys

import numpy as np
from sklearn.metrics import ndcg_score

path = sys.argv[1] if len(sys.argv) > 1 else "testdata/data/glove-6b-50d-lee.txt"
docs = open("testdata/data/lee.cor", encoding="latin-1").read().splitlines()
words = [re.findall(r"[^\W_]+", d.lower()) for d in docs]
needed = {w for ws in words for w in ws}
glove = {}
with open(path, encoding="utf-8") as f:
    for line in f:
        word, rest = line.rstrip("\n").split(" ", 1)
        if word in needed and word not in glove:
            glove[word] = np.array(rest.split(" "), dtype=np.float32)

e = np.stack([np.mean([glove[w] for w in ws if w in glove], axis=0) for ws in words])
e /= np.linalg.norm(e, axis=1, keepdims=True)
sims = e @ e.T
ratings = np.loadtxt("testdata/data/similarities0-1.txt")
ratings = np.maximum(ratings, ratings.T)  # the file holds the upper triangle
scores = []
for i in range(len(docs)):
    others = [j for j in range(len(docs)) if j != i]
    scores.append(ndcg_score([ratings[i, others]], [sims[i, others]], k=5))
tokens = sum(len(ws) for ws in words)
known = sum(w in glove for ws in words for w in ws)
print(json.dumps({
    "glove": path,
    "tokens": tokens,
    "tokens_with_vectors": known,
    "lee_glove_ndcg5": float(np.mean(scores)),
}))

"""Reads the files embedkit wrote with gensim and compares with embedkit's own vectors.

    python gensim_check.py DIR

DIR holds w2v.txt, w2v.bin (word2vec), fasttext.bin and fasttext_trained.bin (fastText) and
expected.json: {"w2v": {word: vector}, "fasttext": {...}, "fasttext_trained": {...}} as
embedkit computes them (fastText words include out-of-vocabulary ones). Exits non-zero with a message on any difference.
"""
import json
import sys

import numpy as np
from gensim.models import KeyedVectors
from gensim.models.fasttext import load_facebook_model

d = sys.argv[1]
expected = json.load(open(f"{d}/expected.json", encoding="utf-8"))
for name, binary in [("w2v.txt", False), ("w2v.bin", True)]:
    kv = KeyedVectors.load_word2vec_format(f"{d}/{name}", binary=binary)
    assert len(kv) == expected["w2v_len"], (name, len(kv))
    for word, vec in expected["w2v"].items():
        got = kv[word]
        want = np.array(vec, dtype=np.float32)
        assert np.array_equal(got, want), (name, word, got, want)
for name in ["fasttext", "fasttext_trained"]:
    ft = load_facebook_model(f"{d}/{name}.bin").wv
    for word, vec in expected[name].items():
        got = ft[word]
        want = np.array(vec, dtype=np.float32)
        assert np.allclose(got, want, atol=1e-6, rtol=0), (name, word, np.abs(got - want).max())
print("ok", len(expected["w2v"]), len(expected["fasttext"]), len(expected["fasttext_trained"]))

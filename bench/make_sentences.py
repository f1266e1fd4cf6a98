#!/usr/bin/env python3
"""Writes the benchmark sentence set: the first N sentences of lee_background.cor (split on
sentence ends, at least 3 words each), one per line.

  python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
"""
import re, sys

path, limit = sys.argv[1], int(sys.argv[2])
out = []
with open(path, encoding="utf-8", errors="replace") as f:
    for doc in f:
        for s in re.split(r"(?<=[.!?])\s+", doc.strip()):
            if len(s.split()) >= 3:
                out.append(s)
sys.stdout.write("\n".join(out[:limit]) + "\n")

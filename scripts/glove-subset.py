#!/usr/bin/env python3
"""Keeps the lines of a GloVe text file (`word v1 .. vD`, no header) whose word occurs in the
given corpora, in the file's own order and with its values as written, so that tests can use
real vectors without the whole file.

    python scripts/glove-subset.py bench-data/glove.6B.50d.txt testdata/data/lee.cor \
        > testdata/data/glove-6b-50d-lee.txt

Words are found as embedkit's averaged word vectors find them (`embedkit_apps::tokens`): the
runs of letters and digits of the lowercased text. Corpora are read as latin-1 when they are
not UTF-8 (the Lee corpus is latin-1).
"""
import sys


def tokens(text):
    word = []
    for c in text.lower():
        if c.isalnum():
            word.append(c)
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def read(path):
    data = open(path, "rb").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


glove, corpora = sys.argv[1], sys.argv[2:]
wanted = {t for path in corpora for t in tokens(read(path))}
kept = 0
with open(glove, encoding="utf-8") as f:
    for line in f:
        if line.split(" ", 1)[0] in wanted:
            sys.stdout.write(line)
            kept += 1
print(f"{kept} of {len(wanted)} corpus words have vectors", file=sys.stderr)

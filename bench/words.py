#!/usr/bin/env python3
"""word2vec side by side: gensim (PyPI) and embedkit train on the same corpus with the same
hyperparameters and threads, back to back; both results are then scored by the same
evaluator (gensim's evaluate_word_pairs / evaluate_word_analogies, 30,000 most frequent
words for analogies). Prints a markdown table.

    python bench/words.py --corpus bench-data/gcide.txt --embedkit target/release/embedkit

Words/s = (training words kept after min-count) x epochs / (vocabulary + training time),
the same definition for both tools, over wall time and over CPU time (all threads; the fairer
figure when other processes share the machine). gensim reads the file with `LineSentence`,
which, like embedkit, cuts lines into sentences of 10,000 words. (Its `corpus_file=` mode
gave near-random vectors on this one-line corpus, WordSim-353 -0.06 and analogy accuracy 0,
at a words/s that shows it skipped most of the text, so it is not used.)
"""
import argparse
import re
import resource
import subprocess
import time

from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence

p = argparse.ArgumentParser()
p.add_argument("--corpus", required=True)
p.add_argument("--embedkit", required=True)
p.add_argument("--data", default="testdata/data")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--models", default="skipgram,cbow")
p.add_argument("--out", default="bench-data")
a = p.parse_args()


def evaluate(kv):
    ws = kv.evaluate_word_pairs(f"{a.data}/wordsim353.tsv")[1][0]
    sl = kv.evaluate_word_pairs(f"{a.data}/simlex999.txt")[1][0]
    acc = kv.evaluate_word_analogies(f"{a.data}/questions-words.txt", restrict_vocab=30000)[0]
    return ws, sl, acc


rows = []
for model in a.models.split(","):
    sg = model == "skipgram"
    alpha = 0.025 if sg else 0.05
    hp = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=a.epochs, alpha=alpha)

    t, c = time.perf_counter(), time.process_time()
    m = Word2Vec(LineSentence(a.corpus), sg=int(sg), workers=a.threads, seed=1, **hp)
    g_secs, g_cpu = time.perf_counter() - t, time.process_time() - c
    g_words = sum(m.wv.get_vecattr(w, "count") for w in m.wv.index_to_key) * a.epochs
    g_path = f"{a.out}/gensim-{model}.bin"
    m.wv.save_word2vec_format(g_path, binary=True)

    e_path = f"{a.out}/embedkit-{model}.bin"
    cmd = [a.embedkit, "--threads", str(a.threads), "--quiet", "words", "train", "--corpus", a.corpus,
           "--output", e_path, "--model", model, "--dim", "100", "--window", "5", "--negative", "5",
           "--sample", "1e-3", "--min-count", "5", "--epochs", str(a.epochs), "--alpha", str(alpha)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    e_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    e_rate = float(re.search(r"\(([0-9.]+) words/s\)", out).group(1))
    e_words = int(re.search(r"([0-9]+) training words", out).group(1)) * a.epochs

    g = evaluate(m.wv)
    e = evaluate(KeyedVectors.load_word2vec_format(e_path, binary=True))
    rows.append((model, g_words / g_secs, e_rate, g_words / g_cpu, e_words / e_cpu, g, e))

print("| model | words/s gensim / embedkit (wall) | ratio | words per CPU-second gensim / embedkit | ratio | WS-353 gensim / embedkit | SimLex gensim / embedkit | analogy gensim / embedkit |")
print("|---|---|---|---|---|---|---|---|")
for model, gr, er, gc, ec, g, e in rows:
    print(f"| {model} | {gr:,.0f} / {er:,.0f} | {er / gr:.2f}x | {gc:,.0f} / {ec:,.0f} | {ec / gc:.2f}x | {g[0]:.3f} / {e[0]:.3f} | {g[1]:.3f} / {e[1]:.3f} | {g[2]:.3f} / {e[2]:.3f} |")

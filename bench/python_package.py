#!/usr/bin/env python3
"""The embedkit Python package's side of scripts/bench-python.sh: throughput of
`embedkit.SentenceTransformer.encode` on a file of texts, and of several Python threads
calling it at once. Prints one JSON line.

  python bench/python_package.py --model DIR --texts FILE [--repeat 3] [--model-threads N]
"""
import argparse
import json
import threading
import time

import numpy as np

import embedkit

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--texts", required=True)
p.add_argument("--repeat", type=int, default=3)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--python-threads", type=int, default=4)
p.add_argument("--model-threads", type=int, default=0, help="threads per call (0: one per core)")
p.add_argument("--save", help="end to end: load, encode once, write this .npy, and stop")
a = p.parse_args()

if a.model_threads:
    embedkit.set_threads(a.model_threads)
texts = [line.rstrip("\n") for line in open(a.texts, encoding="utf-8") if line.strip()]

if a.save:
    start = time.perf_counter()
    model = embedkit.SentenceTransformer(a.model)
    np.save(a.save, model.encode(texts, batch_size=a.batch_size))
    print(json.dumps({"engine": "python", "end_to_end_s": time.perf_counter() - start, "texts": len(texts)}))
    raise SystemExit

model = embedkit.SentenceTransformer(a.model)
model.encode(texts[:64], batch_size=a.batch_size)  # warm-up

best = float("inf")
for _ in range(a.repeat):
    start = time.perf_counter()
    model.encode(texts, batch_size=a.batch_size)
    best = min(best, time.perf_counter() - start)

# The same total work from one thread, then from several at once (each a share of the texts).
shares = [texts[i :: a.python_threads] for i in range(a.python_threads)]


def serial():
    for share in shares:
        model.encode(share, batch_size=a.batch_size)


def threaded():
    threads = [threading.Thread(target=model.encode, args=(s,), kwargs={"batch_size": a.batch_size}) for s in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def timed(f):
    wall, cpu = float("inf"), 0.0
    for _ in range(a.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        f()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if w < wall:
            wall, cpu = w, c
    return wall, cpu


serial_wall, serial_cpu = timed(serial)
threaded_wall, threaded_cpu = timed(threaded)
print(
    json.dumps(
        {
            "engine": "python",
            "model_threads": a.model_threads or "cores",
            "texts": len(texts),
            "seconds": best,
            "texts_per_s": len(texts) / best,
            "python_threads": a.python_threads,
            "serial_texts_per_s": len(texts) / serial_wall,
            "threaded_texts_per_s": len(texts) / threaded_wall,
            "serial_cores_busy": serial_cpu / serial_wall,
            "threaded_cores_busy": threaded_cpu / threaded_wall,
        }
    )
)

#!/usr/bin/env python3
"""PyTorch transformers baseline for Qwen3 long inputs, beside
`cargo run --release -p embedkit-models --example qwen3_long -- run DIR N`.

  python bench/qwen3_baseline.py DIR N [--threads 2]

Loads the folder with transformers' AutoModel (fp32, CPU), runs one input of N tokens (the
same "hello hello ..." text) with last-token pooling, prints one JSON line with seconds,
tokens/s and peak RSS of the process.
"""
import argparse, json, resource, time

import torch
from transformers import AutoModel, AutoTokenizer

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("tokens", type=int); p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
tok = AutoTokenizer.from_pretrained(a.model)
model = AutoModel.from_pretrained(a.model, torch_dtype=torch.float32).eval()
text = "hello" + " hello" * (a.tokens - 2)
ids = tok([text], return_tensors="pt", truncation=True, max_length=a.tokens)
with torch.no_grad():
    t = time.perf_counter()
    h = model(**ids).last_hidden_state[:, -1]
    dt = time.perf_counter() - t
n = int(ids["input_ids"].shape[1])
print(json.dumps({"engine": "transformers", "tokens": n, "seconds": round(dt, 3),
                  "tokens_per_s": round(n / dt, 1),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))

#!/usr/bin/env python3
"""One engine's reranking throughput for scripts/bench-rerank.sh: (query, document) pairs
scored by sentence-transformers' CrossEncoder (PyTorch) or by embedkit.CrossEncoder, best of
--repeat passes, in this process alone. Prints one JSON line with the scores' checksum.

  python bench/rerank_baseline.py --engine st|embedkit --model DIR --texts FILE [--pairs 1000]
  python bench/rerank_baseline.py --make-model DIR --tokenizer-from models/all-MiniLM-L6-v2
"""
import argparse
import json
import shutil
import time
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--engine", choices=["st", "embedkit"])
p.add_argument("--model")
p.add_argument("--texts")
p.add_argument("--pairs", type=int, default=1000)
p.add_argument("--batch-size", type=int, default=32)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--repeat", type=int, default=3)
p.add_argument("--make-model", help="write a random-weight model shaped like cross-encoder/ms-marco-MiniLM-L-6-v2 here")
p.add_argument("--tokenizer-from")
a = p.parse_args()

if a.make_model:
    # The architecture of cross-encoder/ms-marco-MiniLM-L-6-v2 (BERT, 6 layers, 384 wide, one
    # label) with random weights: its speed is the real model's, whatever the weights.
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=512, num_labels=1)
    out = Path(a.make_model)
    BertForSequenceClassification(cfg).eval().save_pretrained(out, safe_serialization=True)
    src = Path(a.tokenizer_from)
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json"]:
        shutil.copy(src / f, out / f)
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": 512}))
    raise SystemExit

lines = [l.strip() for l in open(a.texts, encoding="utf-8") if l.strip()]
pairs = [(lines[i], lines[(i + 1) % len(lines)]) for i in range(a.pairs)]

if a.engine == "st":
    import torch
    from sentence_transformers import CrossEncoder

    torch.set_num_threads(a.threads)
    model = CrossEncoder(a.model, device="cpu")
    run = lambda: model.predict(pairs, batch_size=a.batch_size, show_progress_bar=False)
else:
    import embedkit

    embedkit.set_threads(a.threads)
    model = embedkit.CrossEncoder(a.model, precision="f32")
    run = lambda: model.predict(pairs, batch_size=a.batch_size)

run()  # warm-up
best = float("inf")
for _ in range(a.repeat):
    start = time.perf_counter()
    scores = run()
    best = min(best, time.perf_counter() - start)
print(json.dumps({"engine": a.engine, "pairs": len(pairs), "seconds": best, "pairs_per_s": len(pairs) / best,
                  "scores_head": [float(s) for s in scores[:4]]}))

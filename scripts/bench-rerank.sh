#!/usr/bin/env bash
# Reranking speed, side by side in one run: sentence-transformers' CrossEncoder (PyTorch) vs
# embedkit.CrossEncoder (exact f32) scoring 1000 (sentence, next sentence) pairs of the
# benchmark sentences, batch 32, 2 threads, on a random-weight model shaped like
# cross-encoder/ms-marco-MiniLM-L-6-v2 (whose weights are not obtainable here; the speed is
# the same), three interleaved rounds, best kept.
#
#   scripts/bench-rerank.sh          (BENCH_PYTHON: a python with torch and sentence-transformers;
#                                     default .venv-bench, see scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
py=${BENCH_PYTHON:-.venv-bench/bin/python}
[ -d models/all-MiniLM-L6-v2 ] || scripts/fetch-models.sh
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
model=bench-data/ms-marco-MiniLM-L-6-shape
[ -f "$model/model.safetensors" ] || "$py" bench/rerank_baseline.py --make-model "$model" --tokenizer-from models/all-MiniLM-L6-v2
# The package built as pip builds it, into the benchmark's Python.
rm -rf target/python-wheels
"$py" -m pip wheel --quiet --disable-pip-version-check --no-deps ./python -w target/python-wheels >&2
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall target/python-wheels/embedkit-*.whl >&2
results=bench-data/rerank-results.jsonl
: > "$results"
for _ in 1 2 3; do
  for engine in st embedkit; do
    "$py" bench/rerank_baseline.py --engine "$engine" --model "$model" --texts bench-data/sentences.txt >> "$results"
  done
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {e: max((r for r in rows if r["engine"] == e), key=lambda r: r["pairs_per_s"]) for e in ("st", "embedkit")}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags)
print(f"CPU: {cpu} ({isa}); 1000 pairs, batch 32, 2 threads")
print("| engine | pairs/s | vs sentence-transformers |")
print("|---|---:|---:|")
for e, name in (("st", "sentence-transformers CrossEncoder (PyTorch)"), ("embedkit", "embedkit.CrossEncoder (f32)")):
    print(f"| {name} | {best[e]['pairs_per_s']:.1f} | {best[e]['pairs_per_s'] / best['st']['pairs_per_s']:.2f}x |")
diff = max(abs(a - b) for a, b in zip(best["st"]["scores_head"], best["embedkit"]["scores_head"]))
print(f"first scores agree to {diff:.1e}")
PY

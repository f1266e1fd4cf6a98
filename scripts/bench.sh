#!/usr/bin/env bash
# Side-by-side throughput: embedkit vs sentence-transformers (PyTorch) vs ONNX Runtime, same
# texts, same machine, same run, interleaved twice; prints a table with ratios.
#
#   scripts/bench.sh [MODEL_DIR] [BATCH_SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/all-MiniLM-L6-v2}
batch=${2:-32}
threads=${BENCH_THREADS:-2}

[ -d "$model" ] || scripts/fetch-models.sh
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt

py=${BENCH_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x .venv-bench/bin/python ]; then
    echo "creating .venv-bench with torch, sentence-transformers, onnxruntime (first run only)" >&2
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet torch sentence-transformers onnxruntime onnx
  fi
  py=.venv-bench/bin/python
fi

cargo build --release --quiet --bin embedkit
export HF_HUB_OFFLINE=1
results=bench-data/results.jsonl
: > "$results"
for round in 1 2; do
  "$py" bench/baseline.py --engine st --model "$model" --texts bench-data/sentences.txt \
    --batch-size "$batch" --threads "$threads" 2>/dev/null | tail -n1 >> "$results"
  "$py" bench/baseline.py --engine ort --model "$model" --texts bench-data/sentences.txt \
    --batch-size "$batch" --threads "$threads" 2>/dev/null | tail -n1 >> "$results"
  target/release/embedkit --threads "$threads" bench --model "$model" \
    --texts bench-data/sentences.txt --batch-size "$batch" >> "$results"
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best = {}
for r in rows:
    e = r["engine"]
    best[e] = max(best.get(e, 0), r["texts_per_s"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}; texts: {rows[0]['texts']}, tokens: {rows[0]['tokens']}, batch {rows[0]['batch_size']}")
print(f"{'engine':<12} {'texts/s':>9} {'tokens/s':>10}  embedkit is")
for e in ["st", "ort", "embedkit"]:
    if e in best:
        tok = best[e] * rows[0]["tokens"] / rows[0]["texts"]
        ratio = best["embedkit"] / best[e]
        print(f"{e:<12} {best[e]:>9.1f} {tok:>10.0f}  {ratio:.2f}x")
PY

#!/usr/bin/env bash
# Static embeddings side by side, same sentences (the 1000 first of lee_background.cor),
# same machine, same run, two interleaved rounds (best kept):
#
#   * the static model `embedkit distill` makes of all-MiniLM-L6-v2 (made once, kept in
#     bench-data/minilm-static; the distillation time is printed when it is made), in
#     embedkit and in model2vec's own encoder (the static peer, same folder);
#   * all-MiniLM-L6-v2 itself: embedkit (f32, batch 32), sentence-transformers (PyTorch) and
#     ONNX Runtime (bench/baseline.py, from .venv-bench as scripts/bench.sh makes it).
#
#   scripts/bench-static.sh        (BENCH_THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${BENCH_THREADS:-2}
[ -d models/all-MiniLM-L6-v2 ] || scripts/fetch-models.sh
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
cargo build --release --quiet --bin embedkit
static=bench-data/minilm-static
if [ ! -f "$static/model.safetensors" ]; then
  target/release/embedkit --threads "$threads" --quiet distill -m models/all-MiniLM-L6-v2 -o "$static"
fi
# model2vec encodes without torch: a small venv of its own.
if [ ! -x .venv-bench-static/bin/python ]; then
  echo "creating .venv-bench-static with model2vec (first run only)" >&2
  python3 -m venv .venv-bench-static
  .venv-bench-static/bin/pip install --quiet model2vec==0.10.0
fi
[ -x .venv-bench/bin/python ] || { echo "run scripts/bench.sh once first (it makes .venv-bench)" >&2; exit 1; }
export HF_HUB_OFFLINE=1
results=bench-data/static-results.jsonl
: > "$results"
texts=bench-data/sentences.txt
label() { sed "s/^{/{\"label\": \"$1\", /" >> "$results"; }
for _round in 1 2; do
  target/release/embedkit --threads "$threads" bench --model "$static" --texts "$texts" \
    --batch-size 1024 --repeat 5 | label "static, embedkit"
  .venv-bench-static/bin/python bench/static_baseline.py --model "$static" --texts "$texts" \
    --threads "$threads" | label "static, model2vec"
  target/release/embedkit --threads "$threads" bench --model models/all-MiniLM-L6-v2 \
    --texts "$texts" --batch-size 32 | label "MiniLM, embedkit f32"
  for engine in st ort; do
    .venv-bench/bin/python bench/baseline.py --engine "$engine" --model models/all-MiniLM-L6-v2 \
      --texts "$texts" --batch-size 32 --threads "$threads" 2>/dev/null | tail -n1 \
      | label "MiniLM, $engine"
  done
done
python3 - "$results" "$threads" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:
    best[r["label"]] = max(best.get(r["label"], 0), r["texts_per_s"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = " ".join(f for f in ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile"] if f in flags)
print(f"CPU: {cpu} ({isa}), {sys.argv[2]} threads; 1000 Lee sentences, best of 2 rounds")
top = best["static, embedkit"]
print(f"{'':24} {'sentences/s':>12} {'static embedkit is':>20}")
for label, v in best.items():
    print(f"{label:24} {v:12.0f} {top / v:19.1f}x")
PY

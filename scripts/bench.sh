#!/usr/bin/env bash
# Side-by-side speed: embedkit (f32, bf16 and int8 weights) vs sentence-transformers (PyTorch) vs
# ONNX Runtime, same texts, same machine, same run, interleaved twice (best of the two kept):
#
#   * sentences: the 1000 first sentences of lee_background.cor, batch 32
#   * docs128 / docs256: the 300 lee_background.cor documents cut at 128 / 256 tokens, batch 32
#   * latency: 1000 single-sentence calls (batch 1), p50 and p99, in the rounds above and in
#     LATENCY_ROUNDS (default 3) more rounds of ONNX Runtime and embedkit alone (sentence-
#     transformers, ~3x slower, only in the first ones); each engine's best p50 is kept
#     (single-query timings on a shared VM move by ±20% from one minute to the next)
#
#   scripts/bench.sh [MODEL_DIR]        (BENCH_THREADS=2, BENCH_PYTHON=python with torch etc.;
#                                        BENCH_SMOKE=1: a few texts, one round, to try the script)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/all-MiniLM-L6-v2}
threads=${BENCH_THREADS:-2}

[ -d "$model" ] || scripts/fetch-models.sh
mkdir -p bench-data
smoke=${BENCH_SMOKE:-}
sentences=1000 documents=300 queries=1000 rounds=2 latency_rounds=${LATENCY_ROUNDS:-3}
[ -n "$smoke" ] && sentences=64 documents=32 queries=20 rounds=1 latency_rounds=1
python3 bench/make_sentences.py testdata/data/lee_background.cor "$sentences" > bench-data/sentences.txt
# One document per line, latin-1 in the source file.
python3 -c 'import sys; [print(l.strip()) for l in [l for l in open(sys.argv[1], encoding="latin-1") if l.strip()][: int(sys.argv[2])]]' \
  testdata/data/lee_background.cor "$documents" > bench-data/documents.txt

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

# run WORKLOAD TEXTS MAX_LENGTH(0 = the model's) BATCH LATENCY_QUERIES
run() {
  local workload=$1 texts=$2 max=$3 batch=$4 latency=$5 limit=()
  [ "$max" != 0 ] && limit=(--max-length "$max")
  for engine in st ort; do
    "$py" bench/baseline.py --engine "$engine" --model "$model" --texts "$texts" \
      --batch-size "$batch" --threads "$threads" "${limit[@]}" --latency "$latency" 2>/dev/null \
      | tail -n1 | sed "s/^{/{\"workload\": \"$workload\", /" >> "$results"
  done
  for precision in f32 bf16 int8; do
    target/release/embedkit --threads "$threads" bench --model "$model" --texts "$texts" \
      --batch-size "$batch" "${limit[@]}" --precision "$precision" --latency "$latency" \
      | sed "s/^{/{\"workload\": \"$workload\", /" >> "$results"
  done
}

# latency_round: batch-1 latency of ONNX Runtime and embedkit, interleaved.
latency_round() {
  "$py" bench/baseline.py --engine ort --model "$model" --texts bench-data/sentences.txt \
    --batch-size 32 --threads "$threads" --latency "$queries" 2>/dev/null \
    | tail -n1 | sed 's/^{/{"workload": "latency", /' >> "$results"
  for precision in f32 bf16 int8; do
    target/release/embedkit --threads "$threads" bench --model "$model" \
      --texts bench-data/sentences.txt --precision "$precision" --latency "$queries" \
      | sed 's/^{/{"workload": "latency", /' >> "$results"
  done
}

for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  run sentences bench-data/sentences.txt 0 32 "$queries"
  run docs128 bench-data/documents.txt 128 32 0
  run docs256 bench-data/documents.txt 256 32 0
done
for round in $(seq "$latency_rounds"); do
  echo "latency round $round/$latency_rounds" >&2
  latency_round
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def name(r):
    return r["engine"] + ("-" + r["precision"] if r["engine"] == "embedkit" else "")
best, lat, info = {}, {}, {}
for r in rows:
    key = (r["workload"], name(r))
    best[key] = max(best.get(key, 0), r["texts_per_s"])
    info[r["workload"]] = r
    if "latency_ms" in r:
        old = lat.get(name(r))
        if old is None or r["latency_ms"]["p50"] < old["p50"]:
            lat[name(r)] = r["latency_ms"]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}, {info['sentences'].get('batch_size')} per batch")
engines = ["st", "ort", "embedkit-f32", "embedkit-bf16", "embedkit-int8"]
for w in ["sentences", "docs128", "docs256"]:
    r = info[w]
    fastest = max(best.get((w, "st"), 0), best.get((w, "ort"), 0))
    print(f"\n{w}: {r['texts']} texts, {r['tokens']} tokens")
    print(f"{'engine':<14} {'texts/s':>9}  vs faster of st/ort")
    for e in engines:
        if (w, e) in best:
            print(f"{e:<14} {best[(w, e)]:>9.1f}  {best[(w, e)] / fastest:.2f}x")
if lat:
    rounds = sum(1 for r in rows if r["engine"] == "ort" and "latency_ms" in r)
    print(f"\nbatch-1 latency ({lat['ort']['queries']} single sentences, best p50 of {rounds} rounds)")
    print(f"{'engine':<14} {'p50 ms':>8} {'p99 ms':>8}  p50 vs ort")
    for e in engines:
        if e in lat:
            print(f"{e:<14} {lat[e]['p50']:>8.2f} {lat[e]['p99']:>8.2f}  {lat[e]['p50'] / lat['ort']['p50']:.2f}x")
PY

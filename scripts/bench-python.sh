#!/usr/bin/env bash
# The Python package against the command line, same model, same texts, same machine, same
# run, interleaved (ROUNDS rounds, default 3, best kept):
#
#   * steady state: `embedkit bench` vs `SentenceTransformer.encode` on the 1000 benchmark
#     sentences (all-MiniLM-L6-v2, batch 32, model loaded once)
#   * end to end: `embedkit embed --input --output x.npy` vs a Python process that imports
#     embedkit, loads the model, encodes and saves the same .npy
#   * threads: the 1000 texts in four shares from one Python thread, then from four at once,
#     with the model on every core and on one thread per call (which shows the GIL released)
#
#   scripts/bench-python.sh [MODEL_DIR]     (needs .venv-python: scripts/python-package-test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/all-MiniLM-L6-v2}
rounds=${ROUNDS:-3}
[ -d "$model" ] || scripts/fetch-models.sh
py=.venv-python/bin/python
"$py" -c "import embedkit" 2>/dev/null || { echo "run scripts/python-package-test.sh first (it builds .venv-python)" >&2; exit 1; }
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
cargo build --release --quiet --bin embedkit
texts=bench-data/sentences.txt
results=bench-data/python-results.jsonl
: > "$results"
for _ in $(seq "$rounds"); do
  target/release/embedkit bench --model "$model" --texts "$texts" --repeat 3 -q >> "$results"
  "$py" bench/python_package.py --model "$model" --texts "$texts" --repeat 3 >> "$results"
  "$py" bench/python_package.py --model "$model" --texts "$texts" --repeat 3 --model-threads 1 >> "$results"
  seconds=$( { TIMEFORMAT=%R; time target/release/embedkit embed --model "$model" --input "$texts" --output bench-data/cli.npy -q; } 2>&1 )
  echo "{\"engine\": \"cli\", \"end_to_end_s\": $seconds}" >> "$results"
  "$py" bench/python_package.py --model "$model" --texts "$texts" --save bench-data/python.npy >> "$results"
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cli = max(r["texts_per_s"] for r in rows if r.get("engine") == "embedkit")
pyc = [r for r in rows if r.get("engine") == "python" and r.get("model_threads") == "cores"]
py1 = [r for r in rows if r.get("engine") == "python" and r.get("model_threads") == 1]
best = lambda rs, k: max(r[k] for r in rs)
cli_e2e = min(r["end_to_end_s"] for r in rows if r.get("engine") == "cli")
py_e2e = min(r["end_to_end_s"] for r in rows if r.get("engine") == "python" and "end_to_end_s" in r)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
isa = " ".join(f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags)
print(f"CPU: {cpu} ({isa}), {len([l for l in open('/proc/cpuinfo') if l.startswith('processor')])} cores")
print("| workload | embedkit CLI | Python package | Python / CLI |")
print("|---|---:|---:|---:|")
p = best(pyc, "texts_per_s")
print(f"| 1000 sentences, steady state (texts/s) | {cli:.1f} | {p:.1f} | {p / cli:.3f} |")
print(f"| 1000 sentences, end to end incl. start and load (s) | {cli_e2e:.2f} | {py_e2e:.2f} | {cli_e2e / py_e2e:.3f} (speed) |")
print()
print("| Python threads (4 shares of the 1000 sentences) | 1 thread | 4 threads at once | ratio | cores busy (1 / 4 threads) |")
print("|---|---:|---:|---:|---:|")
for name, rs in (("model on every core", pyc), ("model on one thread per call", py1)):
    s, t = best(rs, "serial_texts_per_s"), best(rs, "threaded_texts_per_s")
    busy = max(rs, key=lambda r: r["threaded_texts_per_s"])
    print(f"| {name} (texts/s) | {s:.1f} | {t:.1f} | {t / s:.2f} | {busy['serial_cores_busy']:.2f} / {busy['threaded_cores_busy']:.2f} |")
PY
"$py" -c "import numpy as np; a, b = np.load('bench-data/cli.npy'), np.load('bench-data/python.npy'); print('CLI and Python vectors: max |diff|', float(abs(a - b).max()))"

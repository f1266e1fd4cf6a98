#!/usr/bin/env bash
# Images per second, embedkit beside torchvision, same images, same machine, same run,
# interleaved twice (best of two kept): the real MobileNetV2 and a random-weight ResNet-50.
#
#   scripts/bench-images.sh [BATCH_SIZE]
#
# Needs a Python with torch, torchvision, pillow and safetensors: BENCH_PYTHON, else
# .venv-bench (created on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
batch=${1:-16}
threads=${BENCH_THREADS:-2}  # BENCH_ROUNDS (default 2) sets the rounds

py=${BENCH_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x .venv-bench/bin/python ]; then
    echo "creating .venv-bench with torch, torchvision, safetensors (first run only)" >&2
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet torch torchvision pillow safetensors
  fi
  py=.venv-bench/bin/python
fi

scripts/fetch-models.sh
mkdir -p bench-data
[ -f bench-data/resnet50-random/model.safetensors ] || "$py" bench/make_resnet50.py bench-data/resnet50-random
# 64 images: the ten test photos (PNG and JPEG, 256 to 800 pixels wide), cycled.
mapfile -t photos < <(ls testdata/data/images/*)
images=()
for i in $(seq 0 63); do images+=("${photos[$((i % ${#photos[@]}))]}"); done

cargo build --release --quiet -p embedkit-vision --example image_bench
results=bench-data/image-results.jsonl
: > "$results"
for round in $(seq "${BENCH_ROUNDS:-2}"); do
  for m in "mobilenet_v2 models/mobilenet_v2/mobilenet_v2-b0353104.pth" \
           "resnet50 bench-data/resnet50-random/model.safetensors"; do
    set -- $m
    "$py" bench/images_baseline.py --arch "$1" --weights "$2" --batch-size "$batch" \
      --threads "$threads" "${images[@]}" >> "$results"
    RAYON_NUM_THREADS=$threads target/release/examples/image_bench "$2" "$batch" "${images[@]}" >> "$results"
  done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best = {}
for r in rows:
    key = (r["arch"], r["engine"])
    b = best.setdefault(key, [0, 0])
    b[0] = max(b[0], r["images_per_s"])
    b[1] = max(b[1], r["inference_images_per_s"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"CPU: {cpu}; {rows[0]['images']} images, batch {rows[0]['batch_size']}")
print(f"{'model':<14} {'engine':<12} {'images/s (files)':>17} {'images/s (tensors)':>19}")
for arch in ["mobilenet_v2", "resnet50"]:
    for e in ["torchvision", "embedkit"]:
        if (arch, e) in best:
            f, t = best[(arch, e)]
            print(f"{arch:<14} {e:<12} {f:>17.1f} {t:>19.1f}")
    if (arch, "torchvision") in best and (arch, "embedkit") in best:
        tv, ek = best[(arch, "torchvision")], best[(arch, "embedkit")]
        print(f"{arch:<14} {'ratio':<12} {ek[0] / tv[0]:>16.2f}x {ek[1] / tv[1]:>18.2f}x")
PY

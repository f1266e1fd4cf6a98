#!/usr/bin/env bash
# Fashion-MNIST image retrieval, embedkit beside torchvision + scikit-learn, same images,
# same machine, one after the other: a balanced split of the 10k test images is written as
# PNGs, the reference images are embedded with MobileNetV2 into an image collection of the
# store, and each query gets the majority label of its k nearest reference images.
#
#   scripts/bench-fashion-mnist.sh [REF_PER_CLASS QUERIES_PER_CLASS K]   # default 50 25 10
#
# The default (500 reference + 250 query images) keeps torchvision's side near 15 minutes on
# two busy cores (about 1 image/s there); give 200 100 on a quiet or larger machine.
#
# Needs a Python with torch, torchvision, pillow and scikit-learn: BENCH_PYTHON, else
# .venv-bench (created on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
per_ref=${1:-50}
per_query=${2:-25}
k=${3:-10}
threads=${BENCH_THREADS:-2}

py=${BENCH_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x .venv-bench/bin/python ]; then
    echo "creating .venv-bench with torch, torchvision, scikit-learn (first run only)" >&2
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet torch torchvision pillow scikit-learn
  fi
  py=.venv-bench/bin/python
fi

scripts/fetch-models.sh
data=$(scripts/fetch-fashion-mnist.sh)
out=datasets/fashion-mnist-knn
rm -rf "$out"
cargo build --quiet --release -p embedkit-integration --example fashion_mnist
echo "== embedkit (store: MobileNetV2 image collection, exact cosine search)"
RAYON_NUM_THREADS=$threads target/release/examples/fashion_mnist \
  "$data" "$out" models/mobilenet_v2 "$per_ref" "$per_query" "$k"
echo "== reference"
"$py" bench/fashion_mnist_reference.py --weights models/mobilenet_v2/mobilenet_v2-b0353104.pth \
  --threads "$threads" -k "$k" "$out"

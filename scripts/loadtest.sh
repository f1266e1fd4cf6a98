#!/usr/bin/env bash
# Bounded load test of `embedkit serve` on loopback (starts and stops its own servers).
#   scripts/loadtest.sh [CLIENTS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d models/all-MiniLM-L6-v2 ] || scripts/fetch-models.sh
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
cargo build --release --quiet --bin embedkit
cargo build --release --quiet -p embedkit-server --example loadtest
target/release/examples/loadtest --embedkit target/release/embedkit \
  --model models/all-MiniLM-L6-v2 --texts bench-data/sentences.txt \
  --clients "${1:-64}" --seconds "${2:-30}"

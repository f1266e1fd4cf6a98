#!/usr/bin/env bash
# Soak test of `embedkit serve` on loopback: CLIENTS clients (default 16) send 1–32 texts each
# for MINUTES minutes (default 10), every answer checked against in-process vectors; prints
# each minute's requests, p50 / p99 and errors and the server's RSS, then the RSS drift.
# Starts and stops its own server; exits 1 on any 5xx, wrong vector or transport error.
#   scripts/soak.sh [MINUTES] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d models/all-MiniLM-L6-v2 ] || scripts/fetch-models.sh
mkdir -p bench-data
python3 bench/make_sentences.py testdata/data/lee_background.cor 1000 > bench-data/sentences.txt
cargo build --release --quiet --bin embedkit
cargo build --release --quiet -p embedkit-server --example loadtest
target/release/examples/loadtest --embedkit target/release/embedkit \
  --model models/all-MiniLM-L6-v2 --texts bench-data/sentences.txt \
  --clients "${2:-16}" --soak "${1:-10}"

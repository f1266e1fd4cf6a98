#!/usr/bin/env bash
# Overload test of `embedkit serve` with its default limits on loopback: CLIENTS clients
# (default 64) send the largest text and image requests the limits accept, and some just over
# them, for SECONDS seconds (default 60), to all-MiniLM-L6-v2 and MobileNetV2 served together.
# Prints the requests by kind and status, the refusals /metrics counted by reason, and the
# server's peak RSS (VmHWM) against the documented bound. Starts and stops its own server;
# exits 1 on any 5xx, other refusal, broken connection, budget left held or peak over the bound.
#   scripts/overload.sh [SECONDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d models/all-MiniLM-L6-v2 ] && [ -d models/mobilenet_v2 ] || scripts/fetch-models.sh
cargo build --release --quiet --bin embedkit
cargo build --release --quiet -p embedkit-server --example loadtest
target/release/examples/loadtest --embedkit target/release/embedkit \
  --model models/all-MiniLM-L6-v2 --image-model models/mobilenet_v2 \
  --clients "${2:-64}" --overload "${1:-60}"

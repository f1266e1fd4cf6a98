#!/usr/bin/env bash
# Runs every seeded mutation test longer than CI does: each loop with ROUNDS rounds (default
# 2000) instead of its CI budget, in release, one test target after the other, and prints
# what each loop tried (its inputs, how many were accepted and refused) and each target's time.
# The seeds are fixed, so a failure reruns the same inputs with the same command.
#
#   scripts/fuzz.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2000}
targets=(
    "embedkit-models mutated_files"
    "embedkit-models mutated_tokenizers"
    "embedkit-vision mutated_files"
    "embedkit-words mutated_files"
    "embedkit-server mutated_requests"
)

build=()
for t in "${targets[@]}"; do
    read -r package test <<<"$t"
    build+=(-p "$package" --test "$test")
done
cargo test --release --no-run "${build[@]}"

ms() { date +%s%3N; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
total_start=$(ms)
for t in "${targets[@]}"; do
    read -r package test <<<"$t"
    echo "== $package --test $test (EMBEDKIT_MUTATION_ROUNDS=$rounds)"
    start=$(ms)
    if ! EMBEDKIT_MUTATION_ROUNDS=$rounds cargo test --release -q -p "$package" --test "$test" \
        -- --nocapture --test-threads=1 >"$log" 2>&1; then
        cat "$log"
        echo "FAILED: EMBEDKIT_MUTATION_ROUNDS=$rounds cargo test --release -p $package --test $test"
        exit 1
    fi
    # Each loop prints a line per seed: "<seed>: <N> inputs, ... refused".
    grep -E ' inputs, ' "$log" | sed 's/^/   /'
    inputs=$(grep -oE '[0-9]+ inputs, ' "$log" | awk '{ n += $1 } END { print n + 0 }')
    echo "   $test: $inputs inputs in $(( ($(ms) - start) / 1000 )) s"
done
echo "all targets: $(( ($(ms) - total_start) / 1000 )) s"

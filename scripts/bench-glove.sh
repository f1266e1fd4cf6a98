#!/usr/bin/env bash
# GloVe on the gcide corpus under `--memory 256` (MB) beside word2vec skip-gram on the same
# corpus, 2 threads: peak memory of the whole GloVe run (/usr/bin/time -v: maximum resident
# set size), co-occurring pairs and spilled chunks, and WordSim-353 / SimLex-999 Spearman
# of both models.
#
#   scripts/bench-glove.sh      (EMBEDKIT_BIN=target/debug/embedkit skips the release build;
#                                GLOVE_ARGS="--dim 100 ..." changes the GloVe settings)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-gcide.sh >/dev/null
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 1; }
bin=${EMBEDKIT_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin embedkit
  bin=target/release/embedkit
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
corpus=bench-data/gcide.txt
glove_args=${GLOVE_ARGS:---dim 100 --window 10 --epochs 25}

echo "== GloVe, --memory 256 ($glove_args)"
/usr/bin/time -v "$bin" --threads 2 --quiet words train --algo glove --corpus "$corpus" \
  --output "$out/glove.txt" --memory 256 $glove_args 2> "$out/glove.log"
grep -E "^GloVe" "$out/glove.log"
grep -E "Maximum resident set size|Elapsed \(wall" "$out/glove.log"

echo "== word2vec skip-gram (dim 100, window 5, negative 5, 5 epochs)"
"$bin" --threads 2 --quiet words train --corpus "$corpus" --output "$out/sg.bin" \
  --model skipgram --dim 100 --window 5 --negative 5 --epochs 5

for m in glove.txt sg.bin; do
  echo "== $m"
  "$bin" words eval --vectors "$out/$m" --pairs testdata/data/wordsim353.tsv \
    --pairs testdata/data/simlex999.txt
done

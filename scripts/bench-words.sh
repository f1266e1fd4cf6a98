#!/usr/bin/env bash
# word2vec: embedkit vs gensim on the gcide corpus, same hyperparameters, 2 threads,
# skip-gram and CBOW; prints words/s, the ratio, WordSim-353, SimLex-999 and analogy accuracy.
#
#   scripts/bench-words.sh            (WORDS_PYTHON=/path/to/python to use an existing gensim)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-gcide.sh
py=${WORDS_PYTHON:-}
if [ -z "$py" ]; then
  if [ ! -x .venv-bench-words/bin/python ]; then
    python3 -m venv .venv-bench-words
    .venv-bench-words/bin/pip install --quiet gensim
  fi
  py=.venv-bench-words/bin/python
fi
# EMBEDKIT_BIN=target/debug/embedkit skips the release build (the word trainers are compiled
# with opt-level 3 in dev builds too).
bin=${EMBEDKIT_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin embedkit
  bin=target/release/embedkit
fi
"$py" bench/words.py --corpus bench-data/gcide.txt --embedkit "$bin" "$@"

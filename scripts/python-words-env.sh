#!/usr/bin/env bash
# Creates .venv-words-test with gensim (from PyPI), which the word-vector round-trip test
# uses to read back what embedkit writes. Prints the variable to export.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-words-test
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import gensim" 2>/dev/null; then
  echo "creating $venv (gensim)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check gensim >&2
fi
echo "EMBEDKIT_WORDS_PYTHON=$PWD/$venv/bin/python"

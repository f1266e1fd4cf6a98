#!/usr/bin/env bash
# Builds the Python package the way its users install it (`pip install ./python`: maturin,
# a release build of crates/embedkit-python), into a fresh virtual environment with the
# libraries its tests compare against or plug into (pytest, langchain-core, Pillow, gensim), and runs
# python/tests. Needs the real models of scripts/fetch-models.sh.
#
#   scripts/python-package-test.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-python
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check pytest langchain-core pillow gensim >&2
echo "building and installing the embedkit Python package (pip install ./python)" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "./python[langchain,images]" >&2
"$venv/bin/python" -m pytest -q python/tests "$@"

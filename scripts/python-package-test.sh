#!/usr/bin/env bash
# Builds the Python package the way its users install it (`pip install ./python`: maturin,
# a release build of crates/embedkit-python) into a fresh virtual environment with the
# libraries its tests compare against or plug into (pytest, langchain-core, Pillow, gensim),
# and runs python/tests. Then, where a CPython 3.9 is installed (the oldest the abi3 wheel
# is for), builds the wheel (`pip wheel ./python`) and runs the same tests on it there.
# Needs the real models of scripts/fetch-models.sh.
#
#   scripts/python-package-test.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
test_deps=(pytest langchain-core pillow gensim)

fresh_venv() {  # fresh_venv DIR PYTHON
  rm -rf "$1"
  "$2" -m venv "$1"
  "$1/bin/pip" install --quiet --disable-pip-version-check "${test_deps[@]}" >&2
}

venv=.venv-python
fresh_venv "$venv" python3
echo "building and installing the embedkit Python package (pip install ./python)" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "./python[langchain,images]" >&2
"$venv/bin/python" -m pytest -q python/tests "$@"

oldest=""
for candidate in python3.9 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.9*/bin/python3.9; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null; then
    oldest=$candidate
    break
  fi
done
if [ -z "$oldest" ]; then
  echo "note: no CPython 3.9 here, so the abi3 wheel was tested on $("$venv/bin/python" -V) only" >&2
  exit 0
fi
rm -rf target/python-wheels
"$venv/bin/pip" wheel --quiet --disable-pip-version-check --no-deps ./python -w target/python-wheels >&2
wheel=$(ls target/python-wheels/embedkit-*-cp39-abi3-*.whl)
echo "testing $(basename "$wheel") on $("$oldest" -V)" >&2
fresh_venv .venv-python39 "$oldest"
.venv-python39/bin/pip install --quiet --disable-pip-version-check "$wheel[langchain,images]" >&2
.venv-python39/bin/python -m pytest -q python/tests "$@"

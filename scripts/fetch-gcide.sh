#!/usr/bin/env bash
# Builds bench-data/gcide.txt, an English training corpus, from Debian's dict-gcide package
# (the GNU Collaborative International Dictionary of English): markup stripped, lowercased,
# only the letters a-z kept, everything on one line, like text8's preprocessing.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-data/gcide.txt
[ -s "$out" ] && { echo "$out exists"; exit 0; }
mkdir -p bench-data/gcide-deb
cd bench-data/gcide-deb
ls dict-gcide_*.deb >/dev/null 2>&1 || apt-get download dict-gcide || { apt-get update -qq && apt-get download dict-gcide; }
dpkg-deb -x dict-gcide_*.deb unpacked
cd ../..
# The .dz is dictzip, which gzip reads.
zcat bench-data/gcide-deb/unpacked/usr/share/dictd/gcide.dict.dz \
  | sed -e 's/<[^>]*>/ /g' \
  | tr 'A-Z' 'a-z' \
  | tr -c 'a-z' ' ' \
  | tr -s ' ' > "$out"
echo "$out: $(wc -w < "$out") words"

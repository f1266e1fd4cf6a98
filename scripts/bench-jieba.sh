#!/usr/bin/env bash
# Training on Chinese with and without `--tokenizer jieba`: words/s of segmentation and of
# training. The corpus is the Chinese text of Debian's manpages-zh package (the Simplified
# Chinese man pages; roff markup stripped, lines with at least 5 Han characters, about 6 MB).
# The run without jieba trains on the same text segmented beforehand by Python's jieba.
#
#   scripts/bench-jieba.sh            (BENCH_DIR=... for the data, default bench-data/zh;
#                                      EMBEDKIT_BIN=target/debug/embedkit skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-bench-data/zh}
threads=${THREADS:-2}
mkdir -p "$dir"
if [ ! -s "$dir/man-zh.txt" ]; then
  (cd "$dir" && { ls manpages-zh_*.deb >/dev/null 2>&1 || apt-get download manpages-zh \
    || { apt-get update -qq && apt-get download manpages-zh; }; } && dpkg-deb -x manpages-zh_*.deb unpacked)
  python3 - "$dir" <<'EOF'
import glob, gzip, re, sys
d = sys.argv[1]
with open(f"{d}/man-zh.txt", "w", encoding="utf-8") as out:
    for f in sorted(glob.glob(f"{d}/unpacked/usr/share/man/**/*.gz", recursive=True)):
        try:
            text = gzip.open(f).read().decode("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.split("\n"):
            if line.startswith(('.\\"', "'\\\"")):
                continue
            line = re.sub(r"^\.[A-Za-z]+\s*", "", line)
            line = re.sub(r"\\f[BIRP]|\\\(..|\\[-&e]|\\s[+-]?\d", "", line)
            line = " ".join(line.split())
            if sum("\u4e00" <= c <= "\u9fff" for c in line) >= 5:
                out.write(line + "\n")
EOF
fi
if [ ! -s "$dir/man-zh.seg.txt" ]; then
  [ -x "$dir/venv/bin/python" ] || { python3 -m venv "$dir/venv" && "$dir/venv/bin/pip" install --quiet jieba; }
  "$dir/venv/bin/python" - "$dir" <<'EOF' 2>/dev/null
import sys, jieba
d = sys.argv[1]
with open(f"{d}/man-zh.txt", encoding="utf-8") as f, open(f"{d}/man-zh.seg.txt", "w", encoding="utf-8") as out:
    for line in f:
        out.write(" ".join(w for w in jieba.lcut(line.rstrip("\n")) if any(c.isalnum() for c in w)) + "\n")
EOF
fi
bin=${EMBEDKIT_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release --quiet --bin embedkit
  bin=target/release/embedkit
fi
echo "corpus: $(wc -c < "$dir/man-zh.txt") bytes, $(wc -l < "$dir/man-zh.txt") lines; $threads threads"
for algo in "word2vec --model skipgram" "word2vec --model cbow" "fasttext --model skipgram"; do
  echo "== $algo, --tokenizer jieba on the raw text"
  /usr/bin/time -f "wall %es, peak RSS %MkB" "$bin" --threads "$threads" --quiet words train --algo $algo \
    --corpus "$dir/man-zh.txt" --tokenizer jieba --output "$dir/out.txt" 2>&1
  echo "== $algo, whitespace on the text segmented beforehand (Python jieba)"
  /usr/bin/time -f "wall %es, peak RSS %MkB" "$bin" --threads "$threads" --quiet words train --algo $algo \
    --corpus "$dir/man-zh.seg.txt" --output "$dir/out.txt" 2>&1
done

#!/usr/bin/env bash
# Approximate search, embedkit's HNSW against hnswlib (PyPI), on the same vectors, the same
# M / ef_construction, sweeping ef_search; run back to back on this machine and printed side by
# side. Data (git-ignored, under bench-data/ann-*):
#   random: 100,000 unit-length Gaussian 384-d vectors, 1,000 more as queries;
#   real:   all-MiniLM-L6-v2 embeddings (max 16 tokens) of 101,000 gcide dictionary entries
#           (scripts/fetch-gcide.sh), the last 1,000 as queries.
# Recall@10 is against exact inner-product search (numpy). The last row of each table is the
# exact scan: embedkit's `Hnsw::search_exact` over the index's rows, hnswlib's BFIndex. A
# second table has embedkit's quantized scan (8-bit codes, the best 20/50/100 rescored in
# f32: what the store uses where the graph cannot reach 0.9 recall) beside hnswlib's fastest
# configuration at the same recall. The first line also has the graph's and the scan's recall
# on 32 of the index's own rows at the store's default ef_search, by which the store chooses
# between the two.
# Isotropic random vectors need a denser graph to reach recall 0.95 at all
# (M=32 EF_CONSTRUCTION=400 EFS=1280,1920,2560), and there the exact scan, and the quantized scan
# far more, is faster.
# Takes tens of minutes on 2 cores (embedding the real set alone is ~1.6M tokens).
#   scripts/bench-ann.sh [random|real]...   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
M=${M:-16}
EF_CONSTRUCTION=${EF_CONSTRUCTION:-200}
EFS=${EFS:-10,20,40,80,160,320,640,1280}
venv=.venv-bench-ann
if [ ! -x $venv/bin/python ]; then
  python3 -m venv $venv
  $venv/bin/pip install -q numpy hnswlib
fi
py=$venv/bin/python

prepare_real() {
  local dir=bench-data/ann-real
  [ -s $dir/truth.npy ] && return
  mkdir -p $dir
  local snippets=bench-data/gcide-snippets.txt
  if [ ! -s $snippets ]; then
    scripts/fetch-gcide.sh >/dev/null
    # Dictionary entries: one paragraph of the dict file each, 6 to 40 words, shuffled.
    $py - <<'EOF'
import gzip, random, re
raw = gzip.open("bench-data/gcide-deb/unpacked/usr/share/dictd/gcide.dict.dz", "rt", errors="replace").read()
seen, out = set(), []
for p in re.split(r"\n\s*\n", raw):
    t = " ".join(p.split())
    if 6 <= len(t.split()) <= 40 and not t.startswith("[") and t not in seen:
        seen.add(t); out.append(t)
random.seed(7); random.shuffle(out)
open("bench-data/gcide-snippets.txt", "w").write("\n".join(out[:101000]) + "\n")
EOF
  fi
  scripts/fetch-models.sh >/dev/null
  cargo build -q --release -p embedkit-cli
  target/release/embedkit embed -m models/all-MiniLM-L6-v2 --max-length 16 --batch-size 64 \
    -i $snippets -o bench-data/gcide-minilm16.npy
  $py scripts/bench-ann.py prepare-real bench-data/gcide-minilm16.npy $dir 1000
}

cargo build -q --release -p embedkit-store --example bench_ann
ours=target/release/examples/bench_ann
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(random real)
for set in "${sets[@]}"; do
  dir=bench-data/ann-$set
  if [ "$set" = random ]; then
    [ -s $dir/truth.npy ] || { mkdir -p $dir; $py scripts/bench-ann.py prepare-random $dir 100000 1000 384; }
  else
    prepare_real
  fi
  echo "== $set: $(uptime | sed 's/.*load/load/')"
  $ours $dir/data.npy $dir/queries.npy $dir/truth.npy "$M" "$EF_CONSTRUCTION" "$EFS" dot | tee /tmp/bench-ann-ours.jsonl
  $py scripts/bench-ann.py hnswlib $dir "$M" "$EF_CONSTRUCTION" "$EFS" | tee /tmp/bench-ann-hnswlib.jsonl
  echo "   $(uptime | sed 's/.*load/load/')"
  $py - /tmp/bench-ann-ours.jsonl /tmp/bench-ann-hnswlib.jsonl <<'EOF'
import json, sys
ours, theirs = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
print(f"build: embedkit {ours[0]['build_s']} s (8-bit codes alone, all the quantized scan needs: {ours[0]['scan_build_s']} s), hnswlib {theirs[0]['build_s']} s")
print("| ef | recall@10 embedkit | hnswlib | QPS 1 thread embedkit | hnswlib | ratio | QPS 2 threads embedkit | hnswlib | ratio |")
for a, b in zip(ours[1:], theirs[1:]):
    assert a["ef"] == b["ef"], (a, b)
    print(f"| {a['ef']} | {a['recall']:.3f} | {b['recall']:.3f} | {a['qps1']} | {b['qps1']} | {a['qps1']/b['qps1']:.2f} "
          f"| {a['qps2']} | {b['qps2']} | {a['qps2']/b['qps2']:.2f} |")
# The quantized scan has no hnswlib counterpart: it is set beside hnswlib's fastest
# configuration (graph or brute force) that reaches at least its recall, or 0.95.
scans = ours[len(theirs):]
if scans:
    print("| embedkit | recall@10 | QPS 1 thread | QPS 2 threads | hnswlib's fastest at that recall (or 0.95) | recall | QPS 1 | ratio | QPS 2 | ratio |")
for a in scans:
    need = min(a["recall"], 0.95)
    b = max((t for t in theirs[1:] if t["recall"] >= need - 1e-9), key=lambda t: t["qps1"])
    label = "brute force" if b["ef"] == "exact" else f"ef {b['ef']}"
    print(f"| {a['ef']} | {a['recall']:.3f} | {a['qps1']} | {a['qps2']} | {label} | {b['recall']:.3f} "
          f"| {b['qps1']} | {a['qps1']/b['qps1']:.2f} | {b['qps2']} | {a['qps2']/b['qps2']:.2f} |")
EOF
done

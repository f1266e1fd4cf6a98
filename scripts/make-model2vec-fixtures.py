"""Writes the static-model (Model2Vec) fixtures and their reference vectors, from the
model2vec package itself (run by hand; model2vec 0.10 with its `distill` extra, which wants
transformers < 5.4, so it gets a venv of its own that borrows torch from .venv-bench):

    python3.11 -m venv .venv-m2v
    echo "$PWD/.venv-bench/lib/python3.11/site-packages" > .venv-m2v/lib/python3.11/site-packages/zz-bench.pth
    .venv-m2v/bin/pip install "model2vec[distill]==0.10.0"
    .venv-m2v/bin/python scripts/make-model2vec-fixtures.py testdata/fixtures

* tiny-model2vec/: `model2vec.distill` of tiny-minilm-mean (random BERT, hidden 32) with
  `pca_dims=16` and its default float16 table, saved by `StaticModel.save_pretrained`.
* tiny-model2vec-vq/: the same model with its vocabulary quantized to 64 rows
  (`quantize_model(vocabulary_quantization=64)`): a `mapping` and per-token `weights`.
* reference/tiny-model2vec/encode.json: `StaticModel.encode` of the test texts by both
  folders, and by the float32 distillation (`quantize_to="float32"`) that embedkit's own
  `distill` must reproduce, and by the same with extra words (`vocabulary=`) on the texts and
  two more that use them; the distilled vocabularies' sizes.
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.modules["kernels"] = None  # .venv-bench's `kernels` is newer than transformers 5.3 accepts

import numpy as np  # noqa: E402
from model2vec import StaticModel  # noqa: E402
from model2vec.distill import distill  # noqa: E402
from model2vec.model import quantize_model  # noqa: E402

out = Path(sys.argv[1])
source = out / "tiny-minilm-mean"
texts = json.loads((out / "sentences.json").read_text(encoding="utf-8"))
texts += [
    "",
    "🦀🦀 🦀",  # unknown tokens only: dropped, a zero vector
    "办公室 office " * 400,  # past max_length (512 tokens)
    "[CLS] hello [SEP] [unused3] [MASK]",
]

np.random.seed(0)
model = distill(str(source), pca_dims=16)
model.save_pretrained(str(out / "tiny-model2vec"))
vq = quantize_model(model, vocabulary_quantization=64)
vq.save_pretrained(str(out / "tiny-model2vec-vq"))
exact = distill(str(source), pca_dims=16, quantize_to="float32")
# Extra words: new whole-word tokens, one already in the vocabulary, and multi-word ones
# (added tokens). model2vec encodes extra words with the tokenizer as it is, and this
# tokenizer.json pads every text to 128 tokens (as all-MiniLM-L6-v2's does): the words'
# vectors would average 120-odd [PAD] positions. embedkit encodes each word alone, unpadded;
# the reference is model2vec on a copy of the model whose tokenizer does not pad.
unpadded = Path(tempfile.mkdtemp()) / "tiny-minilm-mean"
shutil.copytree(source, unpadded)
tokenizer_json = json.loads((unpadded / "tokenizer.json").read_text(encoding="utf-8"))
tokenizer_json["padding"] = None
(unpadded / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
words = ["embedkit", "vectorstore", "hello", "new york", "Machine Learning", "embedkit"]
extended = distill(str(unpadded), vocabulary=words, pca_dims=16, quantize_to="float32")

reference = {
    "texts": texts,
    "tiny-model2vec": StaticModel.from_pretrained(str(out / "tiny-model2vec")).encode(texts).tolist(),
    "tiny-model2vec-vq": StaticModel.from_pretrained(str(out / "tiny-model2vec-vq")).encode(texts).tolist(),
    "distilled_f32": exact.encode(texts).tolist(),
    "distilled_vocabulary": len(exact.tokens),
    "extra_words": words,
    "distilled_words_f32": extended.encode(texts + ["embedkit vectorstore in new york", "machine learning"]).tolist(),
    "distilled_words_vocabulary": len(extended.tokens),
    "distilled_rows": int(exact.embedding.shape[0]),
}
ref_dir = out / "reference" / "tiny-model2vec"
ref_dir.mkdir(parents=True, exist_ok=True)
(ref_dir / "encode.json").write_text(json.dumps(reference, ensure_ascii=False), encoding="utf-8")
for folder in ["tiny-model2vec", "tiny-model2vec-vq"]:
    (out / folder / "README.md").unlink(missing_ok=True)  # a generated model card
print("wrote", ref_dir / "encode.json")

"""Writes the tiny random-weight DistilBERT fixture and sentence-transformers' outputs for it
(run by hand, with torch, transformers and sentence-transformers installed):

    .venv-bench/bin/python scripts/make-distilbert-fixture.py testdata/fixtures

* tiny-distilbert/: transformers' DistilBertModel (dim 32, 2 layers, 4 heads, hidden_dim 64,
  128 learned positions, GELU), tiny-minilm-mean's WordPiece tokenizer, saved by
  sentence-transformers as Transformer (max_seq_length 64) + mean Pooling + Normalize.
  Every parameter is random (biases and LayerNorm weights too), so a port that drops one
  fails the comparison.
* reference/tiny-distilbert/: token_ids.json (the ids and tokens sentence-transformers feeds
  the model for each text of sentences.json), embeddings.npy (`encode(sentences,
  batch_size=4)`) and embeddings_trunc{16,8}_norm.npy (`truncate_dim=N,
  normalize_embeddings=True`).
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.models import Normalize, Pooling, Transformer
from transformers import DistilBertConfig, DistilBertModel

out = Path(sys.argv[1])
tokenizer_from = out / "tiny-minilm-mean"
sentences = json.loads((out / "sentences.json").read_text(encoding="utf-8"))
name = "tiny-distilbert"

config = DistilBertConfig(
    vocab_size=30522,
    dim=32,
    n_layers=2,
    n_heads=4,
    hidden_dim=64,
    max_position_embeddings=128,
    activation="gelu",
    pad_token_id=0,
)
model = DistilBertModel(config).eval()
g = torch.Generator().manual_seed(21)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * 0.5)

folder = out / name
shutil.rmtree(folder, ignore_errors=True)
with tempfile.TemporaryDirectory() as tmp:
    model.save_pretrained(tmp, safe_serialization=True)
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]:
        shutil.copy(tokenizer_from / f, Path(tmp) / f)
    transformer = Transformer(tmp, max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(folder))
# The generated model card describes a trained model; this one is random.
(folder / "README.md").unlink()

st = SentenceTransformer(str(folder), device="cpu")
assert type(st[0].model).__name__ == "DistilBertModel", type(st[0].model)
ref = out / "reference" / name
shutil.rmtree(ref, ignore_errors=True)
ref.mkdir(parents=True)
features = st.tokenizer(sentences, padding=False, truncation=True, max_length=st.max_seq_length)
tokens = [st.tokenizer.convert_ids_to_tokens(ids) for ids in features["input_ids"]]
(ref / "token_ids.json").write_text(
    json.dumps({"default": {"input_ids": features["input_ids"], "tokens": tokens}}, ensure_ascii=False, indent=1)
    + "\n",
    encoding="utf-8",
)
np.save(ref / "embeddings.npy", st.encode(sentences, batch_size=4, convert_to_numpy=True).astype(np.float32))
for dims in [16, 8]:
    e = st.encode(sentences, batch_size=4, truncate_dim=dims, normalize_embeddings=True, convert_to_numpy=True)
    np.save(ref / f"embeddings_trunc{dims}_norm.npy", e.astype(np.float32))

"""Writes the tiny random-weight NomicBERT fixture (the architecture of nomic-embed-text-v1 and
v1.5) and sentence-transformers' outputs for it (run by hand, with torch, transformers and
sentence-transformers installed):

    .venv-bench/bin/python scripts/make-nomic-bert-fixture.py testdata/fixtures

* tiny-nomic-bert/: transformers' NomicBertModel (hidden 32, 2 layers, 4 heads, intermediate 64,
  rotary θ 1000, SwiGLU, no linear biases), tiny-minilm-mean's WordPiece tokenizer, saved by
  sentence-transformers as Transformer (max_seq_length 64) + mean Pooling + Normalize, with
  nomic-embed's `search_query: ` / `search_document: ` prompts. transformers writes the weights
  under the names of nomic-embed's hub checkpoints (`encoder.layers.N.attn.Wqkv`, `mlp.fc11`,
  `emb_ln`, ...), which is checked here. Every parameter is random (LayerNorm weights and biases
  too), so a port that drops one fails the comparison.
* reference/tiny-nomic-bert/: token_ids.json (the ids and tokens sentence-transformers feeds
  the model for each text of sentences.json, without and with the query prompt),
  embeddings.npy (`encode(sentences, batch_size=4)`), embeddings_query.npy (`prompt_name=
  "query"`) and embeddings_trunc{16,8}_norm.npy (`truncate_dim=N, normalize_embeddings=True`).
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from sentence_transformers import SentenceTransformer
from sentence_transformers.models import Normalize, Pooling, Transformer
from transformers import NomicBertConfig, NomicBertModel

out = Path(sys.argv[1])
tokenizer_from = out / "tiny-minilm-mean"
sentences = json.loads((out / "sentences.json").read_text(encoding="utf-8"))
name = "tiny-nomic-bert"
prompts = {"query": "search_query: ", "document": "search_document: "}

config = NomicBertConfig(
    vocab_size=30522,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    max_position_embeddings=128,
)
assert config.rope_parameters == {"rope_theta": 1000.0, "rope_type": "default"}, config.rope_parameters
model = NomicBertModel(config).eval()
g = torch.Generator().manual_seed(31)
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
    SentenceTransformer(modules=[transformer, pooling, Normalize()], prompts=prompts, device="cpu").save(str(folder))
# The generated model card describes a trained model; this one is random.
(folder / "README.md").unlink()
with safe_open(folder / "model.safetensors", "pt") as f:
    assert "encoder.layers.0.attn.Wqkv.weight" in f.keys(), sorted(f.keys())

st = SentenceTransformer(str(folder), device="cpu")
assert type(st[0].model).__name__ == "NomicBertModel", type(st[0].model)
# What was saved is what was randomized (the renamed checkpoint loads back whole).
ids = torch.tensor([[101, 7592, 2088, 102]])
with torch.no_grad():
    assert torch.equal(st[0].model(input_ids=ids).last_hidden_state, model(input_ids=ids).last_hidden_state)

ref = out / "reference" / name
shutil.rmtree(ref, ignore_errors=True)
ref.mkdir(parents=True)


def token_ids(texts):
    features = st.tokenizer(texts, padding=False, truncation=True, max_length=st.max_seq_length)
    tokens = [st.tokenizer.convert_ids_to_tokens(x) for x in features["input_ids"]]
    return {"input_ids": features["input_ids"], "tokens": tokens}


ids = {
    "default": token_ids(sentences),
    "query": {"prompt": prompts["query"], **token_ids([prompts["query"] + s for s in sentences])},
}
(ref / "token_ids.json").write_text(json.dumps(ids, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
np.save(ref / "embeddings.npy", st.encode(sentences, batch_size=4, convert_to_numpy=True).astype(np.float32))
query = st.encode(sentences, batch_size=4, prompt_name="query", convert_to_numpy=True)
np.save(ref / "embeddings_query.npy", query.astype(np.float32))
for dims in [16, 8]:
    e = st.encode(sentences, batch_size=4, truncate_dim=dims, normalize_embeddings=True, convert_to_numpy=True)
    np.save(ref / f"embeddings_trunc{dims}_norm.npy", e.astype(np.float32))

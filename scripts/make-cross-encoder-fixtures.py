"""Writes the tiny random-weight cross-encoder (reranker) fixtures and their reference
scores from sentence-transformers' CrossEncoder (run by hand, with torch, transformers and
sentence-transformers installed):

    .venv-bench/bin/python scripts/make-cross-encoder-fixtures.py testdata/fixtures

* tiny-cross-encoder/: BertForSequenceClassification (hidden 32, 2 layers, one label: BERT's
  pooler, then the classifier), tiny-bge's WordPiece tokenizer, model_max_length 64.
* tiny-cross-encoder-roberta/: RobertaForSequenceClassification (the RoBERTa / XLM-R head:
  dense + tanh on the first token, then out_proj; positions offset by padding_idx + 1) with
  three labels, the same tokenizer (type_vocab_size 2, so its segment ids are valid).

Every parameter is random (biases and LayerNorm weights too), so a port that drops one fails.
reference/<name>/scores.json: the query/document pairs, the token ids CrossEncoder feeds the
model, the raw logits, `predict` with the model's default activation (sigmoid for one label,
identity for more), and `rank` of the documents for each query.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from sentence_transformers import CrossEncoder
from transformers import BertConfig, BertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification

out = Path(sys.argv[1])
tokenizer_from = out / "tiny-bge"
sentences = json.loads((out / "sentences.json").read_text(encoding="utf-8"))
queries = [sentences[0], sentences[1], sentences[-1]]
pairs = [[q, d] for q in queries for d in sentences]


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


def write(name, model):
    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json"]:
        shutil.copy(tokenizer_from / f, folder / f)
    cfg = json.loads((tokenizer_from / "tokenizer_config.json").read_text())
    cfg["model_max_length"] = 64
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    ce = CrossEncoder(str(folder), device="cpu")
    features = ce.tokenizer(*zip(*pairs), padding=False, truncation=True, max_length=ce.max_length)
    logits = ce.predict(pairs, batch_size=5, activation_fn=torch.nn.Identity(), convert_to_numpy=True)
    scores = ce.predict(pairs, batch_size=5, convert_to_numpy=True)
    ranks = [
        [{"corpus_id": int(r["corpus_id"]), "score": float(r["score"])} for r in ce.rank(q, sentences)]
        for q in queries
    ] if model.config.num_labels == 1 else None
    ref = out / "reference" / name
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "scores.json").write_text(
        json.dumps(
            {
                "pairs": pairs,
                "queries": queries,
                "documents": sentences,
                "max_length": ce.max_length,
                "activation": type(ce.activation_fn).__name__,
                "input_ids": features["input_ids"],
                "token_type_ids": features.get("token_type_ids"),
                "logits": logits.tolist(),
                "scores": scores.tolist(),
                "rank": ranks,
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )


common = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=128, hidden_act="gelu")
bert = BertForSequenceClassification(BertConfig(num_labels=1, type_vocab_size=2, **common)).eval()
randomize(bert, 11)
write("tiny-cross-encoder", bert)
roberta = RobertaForSequenceClassification(
    RobertaConfig(num_labels=3, type_vocab_size=2, pad_token_id=1, **{**common, "max_position_embeddings": 130})
).eval()
randomize(roberta, 12)
write("tiny-cross-encoder-roberta", roberta)

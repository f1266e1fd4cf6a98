"""Writes one small model in every form transformers ships weights in, and its reference
vectors (run by hand with torch, transformers and sentence-transformers, e.g. .venv-bench):

    .venv-bench/bin/python scripts/make-weight-format-fixtures.py testdata/fixtures/weight-formats

The model is tiny-bge (random BERT, hidden 32, CLS pooling, Normalize) cut down so that each
copy stays small: its first layer only, a vocabulary of the special tokens, a few words and
single letters (their rows of tiny-bge's table), 32 positions. Each folder holds the same
configs and tokenizer and one form of the weights:

* safetensors/: model.safetensors (float32), what the others are compared with;
* sharded/: save_pretrained(max_shard_size=...) safetensors shards with
  model.safetensors.index.json;
* pytorch-zip/: torch.save(state_dict) as pytorch_model.bin (zip format, torch >= 1.6);
* pytorch-legacy/: the same with _use_new_zipfile_serialization=False; its query weight is
  saved as a transposed view of a transposed copy (strides (1, 32)), which readers gather;
* bf16-safetensors/, bf16-pytorch/: the model cast to bfloat16, as safetensors and as a zip
  pytorch_model.bin.

expected.json: SentenceTransformer(safetensors/).encode of the test sentences (float32).
"""
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from transformers import BertConfig, BertModel, BertTokenizerFast

SOURCE = Path(__file__).resolve().parent.parent / "testdata/fixtures/tiny-bge"
WORDS = "the a cat dog sat on mat runs fast slow hello world model weights file big small".split()
SENTENCES = [
    "the cat sat on the mat",
    "a dog runs fast",
    "hello world",
    "big model weights , small file",
    "zebra quartz",  # split into letters
]

out = Path(sys.argv[1])
source = BertModel.from_pretrained(SOURCE).eval()
old_vocab = (SOURCE / "vocab.txt").read_text().splitlines()
old_id = {t: i for i, t in enumerate(old_vocab)}
letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", "."] + WORDS
tokens += letters + ["##" + c for c in letters]
rows = [old_id[t] for t in tokens]

cfg = BertConfig.from_pretrained(SOURCE)
cfg.vocab_size = len(tokens)
cfg.num_hidden_layers = 1
cfg.max_position_embeddings = 32
cfg.pad_token_id = 0
model = BertModel(cfg, add_pooling_layer=False).eval()
state = {k: v for k, v in source.state_dict().items() if k in model.state_dict()}
state["embeddings.word_embeddings.weight"] = source.embeddings.word_embeddings.weight[rows]
state["embeddings.position_embeddings.weight"] = source.embeddings.position_embeddings.weight[:32]
model.load_state_dict(state, strict=False)
sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
sd = {k: v for k, v in sd.items() if v.is_floating_point()}


def common(folder: Path, dtype=torch.float32):
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(tokens) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True, model_max_length=32)
    tok.save_pretrained(folder)
    c = BertConfig.from_dict(cfg.to_dict())
    c.dtype = dtype
    c.save_pretrained(folder)
    for f in ["modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"]:
        shutil.copy(SOURCE / f, folder / f)
    for d in ["1_Pooling", "2_Normalize"]:
        shutil.copytree(SOURCE / d, folder / d)


common(out / "safetensors")
save_file(sd, out / "safetensors/model.safetensors", metadata={"format": "pt"})

common(out / "sharded")
model.save_pretrained(out / "sharded", max_shard_size="20KB")
assert not (out / "sharded/model.safetensors").exists(), "the model must be sharded"

common(out / "pytorch-zip")
torch.save(sd, out / "pytorch-zip/pytorch_model.bin")

common(out / "pytorch-legacy")
legacy = dict(sd)
q = "encoder.layer.0.attention.self.query.weight"
legacy[q] = sd[q].t().contiguous().t()
assert not legacy[q].is_contiguous() and torch.equal(legacy[q], sd[q])
torch.save(legacy, out / "pytorch-legacy/pytorch_model.bin", _use_new_zipfile_serialization=False)

half = {k: v.to(torch.bfloat16) for k, v in sd.items()}
common(out / "bf16-safetensors", torch.bfloat16)
save_file(half, out / "bf16-safetensors/model.safetensors", metadata={"format": "pt"})
common(out / "bf16-pytorch", torch.bfloat16)
torch.save(half, out / "bf16-pytorch/pytorch_model.bin")

st = SentenceTransformer(str(out / "safetensors"), device="cpu")
vectors = st.encode(SENTENCES, convert_to_numpy=True)
expected = {"sentences": SENTENCES, "embeddings": vectors.tolist()}
(out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
for p in sorted(out.rglob("*")):
    if p.is_file() and ("model" in p.name or p.suffix == ".bin"):
        print(p.relative_to(out), p.stat().st_size)

"""Quality of embedkit's bf16 numerics on CPUs with AMX (every linear layer's input and weight
rounded to bf16, the token table too, sums and everything else in f32) against f32, reproduced
with sentence-transformers on all-MiniLM-L6-v2: worst cosine over the fixture sentences and the
Lee-50 Pearson with human ratings. Runs on any CPU.

    python bench/bf16_amx_numerics.py .     (the repository root; models/ fetched)"""
import json, sys, numpy as np, torch
from sentence_transformers import SentenceTransformer
root = sys.argv[1]
m = SentenceTransformer(f"{root}/models/all-MiniLM-L6-v2", device="cpu")
sentences = json.load(open(f"{root}/testdata/fixtures/sentences.json"))
docs = [l.strip() for l in open(f"{root}/testdata/data/lee.cor", encoding="latin-1") if l.strip()]
human = np.array([[float(v) for v in l.split()] for l in open(f"{root}/testdata/data/similarities0-1.txt") if l.strip()])
def lee(e):
    iu = np.triu_indices(50, 1); s = e @ e.T
    return np.corrcoef(s[iu], human[iu])[0, 1]
f32_s = m.encode(sentences, normalize_embeddings=True); f32_l = m.encode(docs, normalize_embeddings=True)
def rounding_hook(mod, args):
    return (args[0].to(torch.bfloat16).to(torch.float32),)
emb = m[0].auto_model.embeddings.word_embeddings  # embedkit's bf16 mode rounds the token table too
emb.weight.data = emb.weight.data.to(torch.bfloat16).to(torch.float32)
for mod in m.modules():
    if isinstance(mod, torch.nn.Linear):
        mod.weight.data = mod.weight.data.to(torch.bfloat16).to(torch.float32)
        mod.register_forward_pre_hook(rounding_hook)
bf_s = m.encode(sentences, normalize_embeddings=True); bf_l = m.encode(docs, normalize_embeddings=True)
print(json.dumps({"sentences": len(sentences), "worst_cosine": float((f32_s * bf_s).sum(1).min()),
                  "lee_f32": round(float(lee(f32_l)), 4), "lee_bf16_amx_numerics": round(float(lee(bf_l)), 4)}))

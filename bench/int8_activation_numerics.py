"""How 8-bit activations (embedkit's int8 mode on AVX512-VNNI + AVX512-BF16 CPUs) hold up, and
why they are built the way they are, reproduced with sentence-transformers on all-MiniLM-L6-v2:
the worst cosine with f32 over the fixture sentences and the Lee-50 Pearson for each choice.
Linear layers not taking 8-bit activations get bf16 weights and inputs, as in embedkit.

    python bench/int8_activation_numerics.py .     (the repository root; models/ fetched)

8-bit activations: per token, per group of `group` features, asymmetric (255 levels, a zero
point) or symmetric (±127); weights: int8 per output channel. Smoothing: x / s into the
quantizer and W · s into the weight, s = sqrt(m / max|W[:, j]|) with m = |gamma| + |beta| of the
LayerNorm feeding the layer, computed over the weights of each smoothing part."""
import json, sys, numpy as np, torch
from sentence_transformers import SentenceTransformer

root = sys.argv[1]
m = SentenceTransformer(f"{root}/models/all-MiniLM-L6-v2", device="cpu")
bert = m[0].auto_model
sentences = json.load(open(f"{root}/testdata/fixtures/sentences.json"))
docs = [l.strip() for l in open(f"{root}/testdata/data/lee.cor", encoding="latin-1") if l.strip()]
human = np.array([[float(v) for v in l.split()] for l in open(f"{root}/testdata/data/similarities0-1.txt") if l.strip()])


def lee(e):
    iu = np.triu_indices(50, 1)
    return np.corrcoef((e @ e.T)[iu], human[iu])[0, 1]


f32_s = m.encode(sentences, normalize_embeddings=True)
f32_l = m.encode(docs, normalize_embeddings=True)
bf16 = lambda x: x.to(torch.bfloat16).to(torch.float32)


def weight_int8(w):  # symmetric, one scale per output channel
    s = w.abs().amax(1, keepdim=True).clamp(min=1e-30) / 127
    return (w / s).round().clamp(-127, 127) * s


def act_8bit(x, group, asymmetric):
    g = x.reshape(*x.shape[:-1], x.shape[-1] // group, group)
    if asymmetric:
        lo, hi = g.amin(-1, keepdim=True).clamp(max=0), g.amax(-1, keepdim=True).clamp(min=0)
        s = ((hi - lo) / 255).clamp(min=1e-30)
        z = (-lo / s).round()
        q = ((g / s).round() + z).clamp(0, 255) - z
    else:
        s = (g.abs().amax(-1, keepdim=True) / 127).clamp(min=1e-30)
        q = (g / s).round().clamp(-127, 127)
    return (q * s).reshape(x.shape)


original = {}


def configure(eight_bit, group=64, asymmetric=True, smoothing="parts", qk_together=True):
    """eight_bit: which of q k v o up down take 8-bit activations. smoothing: none | parts |
    one (one factor for Q, K and V)."""
    for i, layer in enumerate(bert.encoder.layer):
        lin = {"q": layer.attention.self.query, "k": layer.attention.self.key, "v": layer.attention.self.value,
               "o": layer.attention.output.dense, "up": layer.intermediate.dense, "down": layer.output.dense}
        for name, l in lin.items():
            original.setdefault((i, name), l.weight.data.clone())
        norm_in = bert.embeddings.LayerNorm if i == 0 else bert.encoder.layer[i - 1].output.LayerNorm
        norms = {"q": norm_in, "k": norm_in, "v": norm_in, "up": layer.attention.output.LayerNorm}
        if smoothing == "one":
            parts = {"q": "qkv", "k": "qkv", "v": "qkv"}
        else:
            parts = {"q": "qk", "k": "qk", "v": "v"} if qk_together else {"q": "q", "k": "k", "v": "v"}
        parts["up"] = "up"
        for name, l in lin.items():
            w = original[(i, name)]
            if name not in eight_bit:
                wb = bf16(w)
                l.forward = lambda x, l=l, wb=wb: torch.nn.functional.linear(bf16(x), wb, l.bias)
                continue
            s = torch.ones(w.shape[1])
            if smoothing != "none" and name in norms:
                n = norms[name]
                part = torch.cat([original[(i, p)] for p in ("q", "k", "v", "up") if parts.get(p) == parts[name]])
                s = ((n.weight.data.abs() + n.bias.data.abs()) / part.abs().amax(0)).sqrt()
            wq = weight_int8(w * s)
            l.forward = lambda x, l=l, wq=wq, s=s: torch.nn.functional.linear(
                act_8bit(x / s, group, asymmetric), wq, l.bias)


def run(label, **kw):
    configure(**kw)
    with torch.no_grad():
        e_s = m.encode(sentences, normalize_embeddings=True)
        e_l = m.encode(docs, normalize_embeddings=True)
    print(json.dumps({"variant": label, "worst_cosine": round(float((f32_s * e_s).sum(1).min()), 5),
                      "lee": round(float(lee(e_l)), 4), "lee_f32": round(float(lee(f32_l)), 4)}), flush=True)


bounded = {"q", "k", "v", "o", "up"}
run("embedkit: q k v o up in 8 bits, groups of 64, asymmetric, Q+K and V smoothed", eight_bit=bounded)
run("Q, K, V smoothed apart", eight_bit=bounded, qk_together=False)
run("one smoothing for Q, K and V", eight_bit=bounded, smoothing="one")
run("no smoothing", eight_bit=bounded, smoothing="none")
run("per token instead of per group of 64", eight_bit=bounded, group=384)
run("symmetric (127 levels)", eight_bit=bounded, asymmetric=False)
run("the feed-forward's second layer in 8 bits too", eight_bit=bounded | {"down"})

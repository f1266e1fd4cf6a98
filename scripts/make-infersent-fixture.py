"""Writes the tiny InferSent fixture and its reference vectors (run by hand with torch and nltk):

    .venv-bench/bin/python scripts/make-infersent-fixture.py

InferSent's architecture (Conneau et al. 2017, facebookresearch/InferSent `models.py`): a
one-layer bidirectional nn.LSTM over word vectors, max-pooled over time. Here word_emb_dim 8,
enc_lstm_dim 6 (12-d sentence vectors), PyTorch's own random initialization with seed 1.

testdata/fixtures/tiny-infersent/
  v1/infersent1.pkl      version 1: torch.save(state_dict) in the zip format
  v1/vectors.txt         GloVe text (no header), with <s> and </s>
  v2/infersent2.pkl      version 2: torch.save(state_dict, _use_new_zipfile_serialization=False)
  v2/crawl.vec           fastText .vec text (`N D` header), with <p> and </p>
  v2/infersent.json      names the vector file
  infersent1-legacy.pkl  v1's weights in the legacy format

testdata/fixtures/reference/tiny-infersent/
  v1.json, v2.json       per sentence: the words the LSTM reads and the sentence vector
  tokenize.json          NLTK's tokens for texts that exercise every tokenizer rule

How the reference vectors are computed, as InferSent's `encode(sentences, tokenize=True)`:
the text is tokenized with nltk's `word_tokenize(text, preserve_line=True)` (NLTK's punkt
sentence splitter needs a data download; embedkit documents the same choice), version 2
rewrites " n't " as "n 't ", `[bos] + tokens + [eos]` keeps the words with a vector, the
vectors are read from the file as `get_w2v` reads them (float64, then float32), and the
batch goes through pack_padded_sequence -> LSTM -> pad_packed_sequence -> max over time.
Version 1 pools the padded output (max_pad), so each sentence is encoded in a batch of its
own; version 2 masks padding with -1e9, so one batch of all sentences is used, sorted by
length as `encode` sorts it. An independent NumPy LSTM re-checks every vector.
"""
import json
import os
import sys

import numpy as np
import torch
from nltk.tokenize import word_tokenize

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "fixtures")
FIX = os.path.join(ROOT, "tiny-infersent")
REF = os.path.join(ROOT, "reference", "tiny-infersent")
E, H = 8, 6

ENGLISH = """the a an of to and in is was it that for on with as by at from this be are were
he she they we you i me my your his her its our their them us not no yes do does did done
have has had will would can could should may might must shall go went gone come came see saw
seen know knew think thought make made take took give gave say said tell told get got find
found cat cats dog dogs bird fish man woman men women child children people person house home
city country world day night time year week morning evening weather good bad great small big
large little old new young long short high low hot cold warm happy sad quick slow brown lazy
fox jumps jumped over under through into out up down off again very really quite just only
also too still never always often sometimes here there where when why how what which who whom
whose all some any many much more most few less one two three four five ten hundred first last
next book books read reads reading write wrote written music song songs play plays played game
games movie movies film love loves loved like likes liked hate want wants eat eats ate food
water tea coffee bread apple apples tree trees garden park river sea sky sun moon star rain
snow wind car cars train road street school student students teacher learn learned language
languages model models sentence sentences word words vector vectors Paris London Beijing New
York John Mary I'm can't won't n't 's 're 've 'll 'd 't do don ca wo it is wanna gon na got ta
. , ? ! ; : ( ) `` '' ' - -- ... $ % & @ # * 3.88 3,36 2017""".split()
CHINESE = """我 你 他 她 我们 喜欢 猫 狗 今天 明天 天气 很 好 不 是 的 了 在 北京 上海 中国
首都 学习 语言 模型 句子 向量 吃 苹果 喝 茶 咖啡 读 书 音乐 电影 下雨 太阳 朋友 学生 老师 。 ，
？ ！""".split()
# Words only one of the two files has: out of vocabulary for the other model.
ONLY_V1 = ["cat", "Paris", "猫", "coffee"]
ONLY_V2 = ["dog", "London", "狗", "tea"]

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "I don't think the cat likes cold weather, but the dog does!",
    "She said: \"Paris is a great city\" (really).",
    "We can't go -- it's raining... Won't you come?",
    "我 喜欢 猫 。",
    "今天 天气 很 好 ， 我们 喝 茶 吧 ！",
    "北京 是 中国 的 首都",
    "I read 书 and 喝 coffee with my 朋友 .",
    "Zyxxq blorft unknownword",
    "",
    "cat",
    "Gimme the book , I wanna read it 'til night.",
    "The students learned three new languages in one year; the teacher was happy.",
    "'Tis the season: 3,36 euros for $3.88 coffee & bread @ home #good",
]

TOKENIZE = SENTENCES + [
    "Good muffins cost $3.88 (roughly 3,36 euros)\nin New York.  Please buy me\ntwo of them.\nThanks.",
    "«Bonjour» ‘quoted’ “double” „low“ ``tex'' 'single' it's",
    "They'll say we've done what you'd do, I'm sure; he's ok.",
    "CANNOT d'ye gonna gotta lemme more'n 'twas wanna go",
    "Hello... world!? Really?! [x] {y} <z> a--b a*b 1:2 a:b a,b 1,000.",
    "The end.\") ",
    "naïve café résumé Über straße",
    "multi   spaces\tand\ttabs\n",
    "' quote at start and 'x inside and 'M and 'd",
]


def moses(tokens):
    return " ".join(tokens).replace(" n't ", "n 't ").split()


def write_vectors(path, words, header, seed):
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((len(words), E)).astype(np.float32)
    lines = [f"{w} " + " ".join(f"{v:.6f}" for v in row) for w, row in zip(words, rows)]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if header:
            f.write(f"{len(words)} {E}\n")
        f.write("\n".join(lines) + "\n")


def read_vectors(path):
    """As InferSent's get_w2v: `word, vec = line.split(' ', 1)`, later lines win."""
    table = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            word, vec = line.split(" ", 1)
            values = np.array(vec.split(), dtype=np.float64)
            if values.shape == (E,):
                table[word] = values
    return table


class InferSentEncoder(torch.nn.Module):
    """The reference architecture: enc_lstm and max pooling, keys `enc_lstm.*`."""

    def __init__(self, version):
        super().__init__()
        self.enc_lstm = torch.nn.LSTM(E, H, 1, bidirectional=True)
        self.version = version
        self.bos, self.eos = ("<s>", "</s>") if version == 1 else ("<p>", "</p>")

    def words(self, text):
        tokens = word_tokenize(text, preserve_line=True)
        return tokens if self.version == 1 else moses(tokens)

    def forward(self, batch, lengths):
        packed = torch.nn.utils.rnn.pack_padded_sequence(batch, lengths)
        out = torch.nn.utils.rnn.pad_packed_sequence(self.enc_lstm(packed)[0])[0]
        if self.version == 2:  # max_pad False
            out[out == 0] = -1e9
        return torch.max(out, 0)[0]

    def encode(self, sentences, table, bsize):
        kept = [[w for w in [self.bos] + self.words(s) + [self.eos] if w in table] for s in sentences]
        lengths = np.array([len(k) for k in kept])
        order = np.argsort(-lengths, kind="stable")
        out = [None] * len(kept)
        for start in range(0, len(order), bsize):
            idx = order[start:start + bsize]
            longest = lengths[idx[0]]
            batch = np.zeros((longest, len(idx), E))
            for b, i in enumerate(idx):
                for t, w in enumerate(kept[i]):
                    batch[t, b] = table[w]
            with torch.no_grad():
                emb = self(torch.FloatTensor(batch), lengths[idx].tolist())
            for b, i in enumerate(idx):
                out[i] = emb[b].numpy()
        return kept, np.stack(out)


def numpy_lstm_max(sd, x):
    """An independent BiLSTM-max in float64 NumPy."""
    def run(suffix, seq):
        wi, wh = sd["enc_lstm.weight_ih_l0" + suffix], sd["enc_lstm.weight_hh_l0" + suffix]
        b = sd["enc_lstm.bias_ih_l0" + suffix] + sd["enc_lstm.bias_hh_l0" + suffix]
        h, c, outs = np.zeros(H), np.zeros(H), []
        sig = lambda v: 1 / (1 + np.exp(-v))
        for v in seq:
            z = wi @ v + wh @ h + b
            i, f, g, o = sig(z[:H]), sig(z[H:2 * H]), np.tanh(z[2 * H:3 * H]), sig(z[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            outs.append(h)
        return np.max(outs, axis=0)
    return np.concatenate([run("", x), run("_reverse", x[::-1])])


def main():
    os.makedirs(os.path.join(FIX, "v1"), exist_ok=True)
    os.makedirs(os.path.join(FIX, "v2"), exist_ok=True)
    os.makedirs(REF, exist_ok=True)
    common = [w for w in dict.fromkeys(ENGLISH + CHINESE) if w not in ONLY_V1 + ONLY_V2]
    v1_words = ["<s>", "</s>"] + common + ONLY_V1
    v2_words = ["<p>", "</p>"] + ONLY_V2 + common
    assert len(set(v1_words)) == len(v1_words) and len(set(v2_words)) == len(v2_words)
    write_vectors(os.path.join(FIX, "v1", "vectors.txt"), v1_words, header=False, seed=1)
    write_vectors(os.path.join(FIX, "v2", "crawl.vec"), v2_words, header=True, seed=2)
    with open(os.path.join(FIX, "v2", "infersent.json"), "w") as f:
        json.dump({"version": 2, "word_vectors": "crawl.vec", "enc_lstm_dim": H}, f, indent=2)
        f.write("\n")

    torch.manual_seed(1)
    for version in (1, 2):
        model = InferSentEncoder(version).eval()
        sd = model.state_dict()
        d = os.path.join(FIX, f"v{version}")
        if version == 1:
            torch.save(sd, os.path.join(d, "infersent1.pkl"))
            torch.save(sd, os.path.join(FIX, "infersent1-legacy.pkl"),
                       _use_new_zipfile_serialization=False)
            table = read_vectors(os.path.join(d, "vectors.txt"))
        else:
            torch.save(sd, os.path.join(d, "infersent2.pkl"), _use_new_zipfile_serialization=False)
            table = read_vectors(os.path.join(d, "crawl.vec"))
        # Version 1 pools padded outputs: one sentence per batch (see the docstring).
        kept, emb = model.encode(SENTENCES, table, bsize=1 if version == 1 else 64)
        npsd = {k: v.double().numpy() for k, v in sd.items()}
        for k, e in zip(kept, emb):
            x = np.stack([table[w].astype(np.float32).astype(np.float64) for w in k])
            check = numpy_lstm_max(npsd, x)
            assert np.abs(check - e).max() < 1e-5, (k, check, e)
        with open(os.path.join(REF, f"v{version}.json"), "w", encoding="utf-8") as f:
            json.dump({
                "version": version,
                "sentences": SENTENCES,
                "words": kept,
                "embeddings": [[float(v) for v in row] for row in emb],
            }, f, ensure_ascii=False, indent=1)
            f.write("\n")
    with open(os.path.join(REF, "tokenize.json"), "w", encoding="utf-8") as f:
        json.dump([
            {"text": t, "nltk": word_tokenize(t, preserve_line=True),
             "moses": moses(word_tokenize(t, preserve_line=True))}
            for t in TOKENIZE
        ], f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("torch", torch.__version__, "numpy", np.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()

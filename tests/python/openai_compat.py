#!/usr/bin/env python3
"""The seed's Python snippets against `embedkit serve`, with nothing changed but base_url.

Run by the Rust test `openai_sdk_and_langchain_work_unchanged` (scripts/test.sh sets up the
clients). Compares every vector with `embedkit embed` on the same texts.
"""
import argparse, os, subprocess, sys, tempfile

import numpy as np
import openai
from openai import OpenAI
from langchain_openai import OpenAIEmbeddings

p = argparse.ArgumentParser()
p.add_argument("--base-url", required=True)
p.add_argument("--api-key", required=True)
p.add_argument("--model", required=True)
p.add_argument("--model-dir", required=True)
p.add_argument("--embedkit", required=True)
a = p.parse_args()

passed, failed = 0, 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def direct(texts, dims=None):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "e.npy")
        cmd = [a.embedkit, "embed", "--quiet", "--model", a.model_dir, "--output", out, *texts]
        if dims:
            cmd += ["--dimensions", str(dims)]
        subprocess.run(cmd, check=True)
        return np.load(out)


def min_cos(got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return -1.0
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    return float(cos.min())


client = OpenAI(base_url=a.base_url, api_key=a.api_key)
texts = ["你好，你是一个机器人。", "I like large language models.", "The weather is lovely today."]

# 1. The SDK with numpy installed asks for base64 and decodes it itself.
r = client.embeddings.create(input=texts[0], model=a.model)
check("single string", min_cos([r.data[0].embedding], direct(texts[:1])) >= 0.99999)
check("usage counts real tokens", r.usage.prompt_tokens > 3, r.usage)
r = client.embeddings.create(input=texts, model=a.model)
check("list of 3", min_cos([d.embedding for d in r.data], direct(texts)) >= 0.99999)
r = client.embeddings.create(input=texts, model=a.model, dimensions=128)
check("dimensions=128", min_cos([d.embedding for d in r.data], direct(texts, 128)) >= 0.99999)
r = client.embeddings.create(input=texts, model=a.model, encoding_format="float")
check("encoding_format=float", min_cos([d.embedding for d in r.data], direct(texts)) >= 0.99999)

# 2. The seed's snippet asks for 512 dimensions; this model has 384: the documented 400.
try:
    client.embeddings.create(input=texts, model=a.model, dimensions=512)
    check("dimensions=512 is a 400", False, "no error")
except openai.BadRequestError as e:
    check("dimensions=512 is a 400", e.status_code == 400 and "dimensions" in str(e), e)
r = client.embeddings.create(input=texts, model=a.model, dimensions=256)
check("dimensions=256 gives 256 values", all(len(d.embedding) == 256 for d in r.data))
try:
    client.embeddings.create(input="x", model="no-such-model")
    check("unknown model is a 404", False, "no error")
except openai.NotFoundError as e:
    check("unknown model is a 404", e.status_code == 404, e)
try:
    OpenAI(base_url=a.base_url, api_key="wrong").embeddings.create(input="x", model=a.model)
    check("wrong key is a 401", False, "no error")
except openai.AuthenticationError as e:
    check("wrong key is a 401", e.status_code == 401, e)

# 3. LangChain with default settings: it sends tiktoken token ids in chunks.
docs = [
    "RAG embeds documents into a vector database.",
    "每个用户问题也会被嵌入并在数据库中检索。",
    "Word2Vec, GloVe and fastText learn word vectors.",
    "ResNet features can serve as image embeddings.",
    "Semantic search finds passages by meaning, not keywords.",
]
lc = OpenAIEmbeddings(base_url=a.base_url, api_key=a.api_key, model=a.model)
got = lc.embed_documents(docs)
check("langchain embed_documents", min_cos(got, direct(docs)) >= 0.9999)
q = "what is retrieval augmented generation?"
check("langchain embed_query", min_cos([lc.embed_query(q)], direct([q])) >= 0.9999)
lc512 = OpenAIEmbeddings(base_url=a.base_url, api_key=a.api_key, model=a.model, dimensions=256)
check("langchain dimensions", len(lc512.embed_query(q)) == 256)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

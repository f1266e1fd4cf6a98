#!/usr/bin/env python3
"""The OpenAI SDK code below, as written for OpenAI's API, against `embedkit serve` of
all-mpnet-base-v2 served as text-embedding-3-large and text-embedding-3-small. Only the
address in base_url is ever changed (by the test `openai_dropin`).

Prints the model name of the answer and, for each input, the text and its vector, as JSON.
"""
import json

# ---- the code as written for OpenAI ----
from openai import OpenAI
client = OpenAI(api_key="", base_url="http://127.0.0.1:8080/v1/")
r = client.embeddings.create(input="你好,你是一个机器人。", model="text-embedding-3-large", dimensions=512)
# ---- end ----

print(json.dumps({"model": r.model, "texts": ["你好,你是一个机器人。"], "vectors": [d.embedding for d in r.data]}))

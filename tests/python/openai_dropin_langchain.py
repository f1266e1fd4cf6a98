#!/usr/bin/env python3
"""The LangChain code below, as written for OpenAI's API, against `embedkit serve` of
all-mpnet-base-v2 served as text-embedding-3-large and text-embedding-3-small. Only the
address in base_url is ever changed (by the test `openai_dropin`). LangChain sends tiktoken
token ids, not text, by default.

Prints, for each text, the text and its vector, as JSON.
"""
import json

# ---- the code as written for OpenAI ----
from langchain_openai import OpenAIEmbeddings
emb = OpenAIEmbeddings(api_key="", base_url="http://127.0.0.1:8080/v1/", model="text-embedding-3-small", dimensions=512)
query_zh = emb.embed_query("你好，你是一个机器人。")
query_en = emb.embed_query("what is retrieval augmented generation?")
docs = emb.embed_documents(["I like large language models.", "每个用户问题也会被嵌入并在数据库中检索。", "RAG embeds documents into a vector database."])
# ---- end ----

texts = ["你好，你是一个机器人。", "what is retrieval augmented generation?", "I like large language models.", "每个用户问题也会被嵌入并在数据库中检索。", "RAG embeds documents into a vector database."]
print(json.dumps({"texts": texts, "vectors": [query_zh, query_en, *docs]}))

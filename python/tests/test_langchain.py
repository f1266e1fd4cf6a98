"""embedkit.langchain: user code written for LangChain's Hugging Face classes and for
sentence-transformers runs with its import lines changed only, and gives
sentence-transformers' stored vectors. snippets/original/ holds the code as users have it,
snippets/embedkit/ the same code with embedkit's imports."""

import asyncio
import difflib
import runpy
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

import embedkit
from conftest import FIXTURES, REFERENCE, SENTENCES, assert_same_vectors
from embedkit.langchain import (
    DEFAULT_QUERY_BGE_INSTRUCTION_ZH,
    EmbedkitEmbeddings,
    HuggingFaceBgeEmbeddings,
    HuggingFaceEmbeddings,
)

SNIPPETS = Path(__file__).parent / "snippets"


@pytest.mark.parametrize("name", ["bge_langchain.py", "qwen3_langchain.py"])
def test_snippets_differ_in_their_import_lines_only(name):
    original = (SNIPPETS / "original" / name).read_text().splitlines()
    ported = (SNIPPETS / "embedkit" / name).read_text().splitlines()
    changed = [
        line[2:]
        for line in difflib.ndiff(original, ported)
        if line.startswith(("- ", "+ "))
    ]
    assert changed, "the snippets should differ in their imports"
    assert all(line.startswith(("from ", "import ")) for line in changed), changed
    assert any("embedkit" in line for line in changed)


def run_snippet(name):
    return runpy.run_path(str(SNIPPETS / "embedkit" / name), init_globals={"texts": list(SENTENCES)})


def test_bge_snippet_gives_sentence_transformers_vectors(hub_cache):
    hub_cache("BAAI/bge-small-en-v1.5", FIXTURES / "tiny-bge")
    out = run_snippet("bge_langchain.py")
    docs = np.load(REFERENCE / "tiny-bge" / "embeddings.npy")
    queries = np.load(REFERENCE / "tiny-bge" / "embeddings_query.npy")
    assert isinstance(out["doc_vectors"], list) and isinstance(out["doc_vectors"][0][0], float)
    assert_same_vectors(out["doc_vectors"], docs)
    assert_same_vectors(out["query_vector"], docs[1])
    assert_same_vectors(out["bge_doc_vectors"], docs)
    assert_same_vectors(out["bge_query_vectors"], queries)


def test_qwen3_class_gives_sentence_transformers_vectors(hub_cache):
    hub_cache("Qwen/Qwen3-Embedding-0.6B", FIXTURES / "tiny-qwen3")
    out = run_snippet("qwen3_langchain.py")
    assert_same_vectors(out["doc_vectors"], np.load(REFERENCE / "tiny-qwen3" / "embeddings.npy"))
    assert_same_vectors(out["query_vectors"], np.load(REFERENCE / "tiny-qwen3" / "embeddings_query.npy"))


@pytest.mark.parametrize("name", ["tiny-bge", "tiny-qwen3"])
def test_embedkit_embeddings_prompts_queries_only(name):
    emb = EmbedkitEmbeddings(str(FIXTURES / name))
    assert isinstance(emb, Embeddings)
    assert_same_vectors(emb.embed_documents(SENTENCES), np.load(REFERENCE / name / "embeddings.npy"))
    queries = np.load(REFERENCE / name / "embeddings_query.npy")
    assert_same_vectors([emb.embed_query(t) for t in SENTENCES], queries)
    assert_same_vectors(asyncio.run(emb.aembed_query(SENTENCES[1])), queries[1])
    short = EmbedkitEmbeddings(str(FIXTURES / name), dimensions=16)
    assert_same_vectors(short.embed_documents(SENTENCES), np.load(REFERENCE / name / "embeddings_trunc16_norm.npy"))


def test_bge_chinese_models_get_the_chinese_instruction(hub_cache):
    hub_cache("BAAI/bge-small-zh-v1.5", FIXTURES / "tiny-bge")
    bge = HuggingFaceBgeEmbeddings(model_name="BAAI/bge-small-zh-v1.5")
    assert bge.query_instruction == DEFAULT_QUERY_BGE_INSTRUCTION_ZH
    model = embedkit.SentenceTransformer(str(FIXTURES / "tiny-bge"))
    expected = model.encode(DEFAULT_QUERY_BGE_INSTRUCTION_ZH + "办公室在哪里？")
    assert_same_vectors(bge.embed_query("办公室在哪里？"), expected)


def test_hugging_face_embeddings_query_kwargs_and_newlines():
    hf = HuggingFaceEmbeddings(
        model_name=str(FIXTURES / "tiny-bge"),
        query_encode_kwargs={"prompt_name": "query"},
    )
    queries = np.load(REFERENCE / "tiny-bge" / "embeddings_query.npy")
    assert_same_vectors(hf.embed_query(SENTENCES[0]), queries[0])
    # Newlines become spaces, as LangChain's class does.
    model = embedkit.SentenceTransformer(str(FIXTURES / "tiny-qwen3"))
    qwen = HuggingFaceEmbeddings(model=str(FIXTURES / "tiny-qwen3"))
    assert_same_vectors(qwen.embed_documents(["a\nb"])[0], model.encode("a b"))

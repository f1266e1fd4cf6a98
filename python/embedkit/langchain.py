"""LangChain embeddings run by embedkit (needs ``langchain-core``: ``pip install
"embedkit[langchain]"``).

* :class:`EmbedkitEmbeddings` — any embedkit model as a LangChain ``Embeddings``; queries get
  the model's ``query`` prompt (BGE's or Qwen3's instruction), documents its ``document``
  prompt, as sentence-transformers' ``encode_query`` / ``encode_document``.
* :class:`HuggingFaceEmbeddings` and :class:`HuggingFaceBgeEmbeddings` — the classes of
  ``langchain_huggingface`` / ``langchain_community`` with the same keyword arguments and the
  same vectors, so existing code runs by changing its import line only.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

try:
    from langchain_core.embeddings import Embeddings
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        'embedkit.langchain needs langchain-core: pip install "embedkit[langchain]" '
        "(or pip install langchain-core)"
    ) from e

from .sentence import SentenceTransformer

DEFAULT_MODEL_NAME = "sentence-transformers/all-mpnet-base-v2"
DEFAULT_BGE_MODEL = "BAAI/bge-large-en"
DEFAULT_QUERY_BGE_INSTRUCTION_EN = "Represent this question for searching relevant passages: "
DEFAULT_QUERY_BGE_INSTRUCTION_ZH = "为这个句子生成表示以用于检索相关文章："


class EmbedkitEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` over an embedkit model.

    >>> emb = EmbedkitEmbeddings(model="BAAI/bge-small-zh-v1.5", normalize=True)
    >>> doc_vectors = emb.embed_documents(["办公室在三楼。", "The office is upstairs."])
    >>> query_vector = emb.embed_query("办公室在哪里？")   # with the model's query instruction

    ``dimensions`` keeps the first N dimensions (Matryoshka models) and re-normalizes;
    ``precision`` (``"auto"``, ``"f32"``, ``"bf16"``, ``"int8"``) chooses how weights are kept.
    The async methods run in LangChain's executor; the model releases the GIL, so concurrent
    calls use several cores.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL_NAME,
        *,
        normalize: bool = False,
        dimensions: Optional[int] = None,
        batch_size: int = 32,
        precision: str = "auto",
        query_prompt: Optional[str] = None,
        document_prompt: Optional[str] = None,
        model_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.model = model
        self.normalize = normalize or dimensions is not None
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.document_prompt = document_prompt
        self.client = SentenceTransformer(model, precision=precision, **(model_kwargs or {}))

    def _options(self) -> Dict[str, Any]:
        return dict(
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            truncate_dim=self.dimensions,
        )

    def embed_documents(self, texts: List[str]) -> List[List[float]]:
        """Embeds passages (with the model's document prompt, if it has one)."""
        return self.client.encode_document(
            list(texts), prompt=self.document_prompt, **self._options()
        ).tolist()

    def embed_query(self, text: str) -> List[float]:
        """Embeds a search query (with the model's query prompt, if it has one)."""
        return self.client.encode_query([text], prompt=self.query_prompt, **self._options())[0].tolist()


class HuggingFaceEmbeddings(Embeddings):
    """``langchain_huggingface.HuggingFaceEmbeddings``, same arguments, same vectors: texts
    have their newlines replaced by spaces, then go through ``encode`` with ``encode_kwargs``
    (queries with ``query_encode_kwargs`` when given)."""

    def __init__(
        self,
        *,
        model_name: Optional[str] = None,
        model: Optional[str] = None,
        cache_folder: Optional[str] = None,
        model_kwargs: Optional[Dict[str, Any]] = None,
        encode_kwargs: Optional[Dict[str, Any]] = None,
        query_encode_kwargs: Optional[Dict[str, Any]] = None,
        multi_process: bool = False,
        show_progress: bool = False,
    ) -> None:
        self.model_name = model_name or model or DEFAULT_MODEL_NAME
        self.cache_folder = cache_folder
        self.model_kwargs = dict(model_kwargs or {})
        self.encode_kwargs = dict(encode_kwargs or {})
        self.query_encode_kwargs = dict(query_encode_kwargs or {})
        # Several processes bring nothing here: the model already uses every core and
        # releases the GIL.
        self.multi_process = multi_process
        self.show_progress = show_progress
        self._client = SentenceTransformer(
            self.model_name, cache_folder=cache_folder, **self.model_kwargs
        )

    def _embed(self, texts: List[str], encode_kwargs: Dict[str, Any]) -> List[List[float]]:
        texts = [x.replace("\n", " ") for x in texts]
        return self._client.encode(
            texts, show_progress_bar=self.show_progress, **encode_kwargs
        ).tolist()

    def embed_documents(self, texts: List[str]) -> List[List[float]]:
        return self._embed(texts, self.encode_kwargs)

    def embed_query(self, text: str) -> List[float]:
        kwargs = self.query_encode_kwargs if self.query_encode_kwargs else self.encode_kwargs
        return self._embed([text], kwargs)[0]


class HuggingFaceBgeEmbeddings(Embeddings):
    """``langchain_community``'s ``HuggingFaceBgeEmbeddings``, same arguments, same vectors:
    queries are embedded as ``query_instruction + text`` (BGE's English instruction, or its
    Chinese one for models whose name contains ``-zh``), documents as
    ``embed_instruction + text``, newlines replaced by spaces."""

    def __init__(
        self,
        *,
        model_name: str = DEFAULT_BGE_MODEL,
        cache_folder: Optional[str] = None,
        model_kwargs: Optional[Dict[str, Any]] = None,
        encode_kwargs: Optional[Dict[str, Any]] = None,
        query_instruction: str = DEFAULT_QUERY_BGE_INSTRUCTION_EN,
        embed_instruction: str = "",
        show_progress: bool = False,
    ) -> None:
        self.model_name = model_name
        self.cache_folder = cache_folder
        self.model_kwargs = dict(model_kwargs or {})
        self.encode_kwargs = dict(encode_kwargs or {})
        self.query_instruction = query_instruction
        self.embed_instruction = embed_instruction
        self.show_progress = self.encode_kwargs.pop("show_progress_bar", show_progress)
        # langchain_community moves these into sentence-transformers' model_kwargs.
        inner = {
            k: self.model_kwargs.pop(k)
            for k in ("torch_dtype", "attn_implementation", "provider", "file_name", "export")
            if k in self.model_kwargs
        }
        self.client = SentenceTransformer(
            model_name, cache_folder=cache_folder, model_kwargs=inner, **self.model_kwargs
        )
        if "-zh" in model_name:
            self.query_instruction = DEFAULT_QUERY_BGE_INSTRUCTION_ZH

    def embed_documents(self, texts: List[str]) -> List[List[float]]:
        texts = [self.embed_instruction + t.replace("\n", " ") for t in texts]
        return self.client.encode(
            texts, show_progress_bar=self.show_progress, **self.encode_kwargs
        ).tolist()

    def embed_query(self, text: str) -> List[float]:
        text = text.replace("\n", " ")
        return self.client.encode(
            self.query_instruction + text, show_progress_bar=self.show_progress, **self.encode_kwargs
        ).tolist()


__all__ = ["EmbedkitEmbeddings", "HuggingFaceBgeEmbeddings", "HuggingFaceEmbeddings"]

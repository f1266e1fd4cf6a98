"""``embedkit.CrossEncoder``: sentence-transformers' ``CrossEncoder`` (rerankers) on embedkit's
engine. A query and a document are read together and scored; ``rank`` orders documents for
a query, the last step of a retrieval pipeline.

    from embedkit import CrossEncoder
    model = CrossEncoder("cross-encoder/ms-marco-MiniLM-L-6-v2")
    model.predict([("how many people live in Berlin?", "Berlin has 3.7 million inhabitants.")])
    model.rank("how many people live in Berlin?", documents, top_k=3, return_documents=True)
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _embedkit
from .sentence import _check_device, _resolve_spec, _to_torch

Pair = Union[Tuple[str, str], List[str]]


class CrossEncoder:
    """A cross-encoder from a folder or a hub id: transformers' BERT or RoBERTa / XLM-R
    ``*ForSequenceClassification`` models (ms-marco MiniLM, bge-reranker). ``precision``
    (``"auto"``, ``"f32"``, ``"bf16"``, ``"int8"``) chooses how the transformer keeps its
    weights; ``max_length``, ``trust_remote_code`` and the other loading arguments of
    sentence-transformers are accepted (``max_length`` must not exceed the model's limit)."""

    def __init__(
        self,
        model_name_or_path: Union[str, os.PathLike],
        num_labels: Optional[int] = None,
        max_length: Optional[int] = None,
        activation_fn: Any = None,
        device: Optional[str] = None,
        cache_folder: Optional[Union[str, os.PathLike]] = None,
        trust_remote_code: bool = False,
        revision: Optional[str] = None,
        local_files_only: bool = False,
        token: Optional[Union[bool, str]] = None,
        model_kwargs: Optional[dict] = None,
        tokenizer_kwargs: Optional[dict] = None,
        config_kwargs: Optional[dict] = None,
        precision: str = "auto",
    ) -> None:
        _check_device(device)
        if cache_folder is None:
            cache_folder = os.environ.get("SENTENCE_TRANSFORMERS_HOME")
        spec = os.fspath(model_name_or_path)
        if not os.path.exists(spec) and revision:
            spec = f"{spec}@{revision}"
        self._model = _embedkit.CrossEncoderModel(
            spec,
            precision=precision,
            cache_folder=os.fspath(cache_folder) if cache_folder is not None else None,
            token=token if isinstance(token, str) else None,
            offline=local_files_only,
        )
        if num_labels is not None and num_labels != self._model.labels:
            raise ValueError(f"the model has {self._model.labels} labels, not {num_labels}")
        if max_length is not None and max_length != self._model.max_length:
            raise ValueError(
                f"max_length {max_length}: embedkit uses the model's own limit, {self._model.max_length} tokens"
            )
        self.activation_fn = activation_fn
        self.device = "cpu"

    @property
    def num_labels(self) -> int:
        return self._model.labels

    @property
    def max_length(self) -> int:
        return self._model.max_length

    def predict(
        self,
        sentences: Union[Pair, Sequence[Pair]],
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        activation_fn: Any = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
    ):
        """Scores (query, document) pairs: one score per pair for rerankers (a vector), one
        row of ``num_labels`` scores otherwise. A single pair gives a single score (row).
        ``activation_fn`` (default: the model's, sigmoid for one label) is applied to the
        logits; ``apply_softmax`` normalizes rows of several labels."""
        single = len(sentences) == 2 and all(isinstance(s, str) for s in sentences)
        pairs = [tuple(sentences)] if single else [tuple(p) for p in sentences]
        for i, p in enumerate(pairs):
            if len(p) != 2 or not all(isinstance(s, str) for s in p):
                raise TypeError(f"pair {i} is not two strings")
        activation_fn = activation_fn if activation_fn is not None else self.activation_fn
        scores = self._model.predict(pairs, batch_size, activation_fn is None)
        if activation_fn is not None:
            scores = _apply(activation_fn, scores)
        if apply_softmax and scores.shape[1] > 1:
            e = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores = e / e.sum(axis=1, keepdims=True)
        if scores.shape[1] == 1:
            scores = scores[:, 0]
        if convert_to_tensor:
            scores = _to_torch(np.ascontiguousarray(scores))
        elif not convert_to_numpy:
            scores = list(scores)
        return scores[0] if single else scores

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: Optional[int] = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        activation_fn: Any = None,
        apply_softmax: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
    ) -> List[Dict[str, Any]]:
        """The documents by score for ``query``, best first: dicts with ``corpus_id``,
        ``score`` and, with ``return_documents``, ``text`` (sentence-transformers' ``rank``)."""
        if self.num_labels != 1:
            raise ValueError(f"rank needs a model with one score per pair; this one has {self.num_labels} labels")
        scores = self.predict([(query, d) for d in documents], batch_size=batch_size, activation_fn=activation_fn)
        order = sorted(range(len(documents)), key=lambda i: (-float(scores[i]), i))
        if top_k is not None:
            order = order[:top_k]
        out = []
        for i in order:
            hit: Dict[str, Any] = {"corpus_id": i, "score": float(scores[i])}
            if return_documents:
                hit["text"] = documents[i]
            out.append(hit)
        return out


def _apply(fn: Any, logits: np.ndarray) -> np.ndarray:
    """An activation given as a callable: torch modules get a tensor, anything else the
    NumPy array."""
    if type(fn).__module__.startswith("torch"):
        import torch

        return fn(torch.from_numpy(logits)).detach().numpy()
    return np.asarray(fn(logits), dtype=np.float32)

"""``embedkit.SentenceTransformer``: sentence-transformers' ``SentenceTransformer`` API on
embedkit's engine.

Code written for ``sentence_transformers.SentenceTransformer`` runs by changing its import:
the constructor takes the same model ids and folders (through the Hugging Face cache, with
``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``, ``HF_TOKEN``), ``encode`` the same
arguments and returns the same shapes (a string gives one vector, a list a matrix). The
differences: results are NumPy arrays (``convert_to_tensor=True`` wraps them in torch tensors
when torch is installed), and the model runs on the CPU only.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Iterable, Optional, Union

import numpy as np

from . import _embedkit

logger = logging.getLogger(__name__)

# sentence-transformers resolves a bare model name ("all-MiniLM-L6-v2") in this organisation.
_HUB_ORGANIZATION = "sentence-transformers"

# sentence-transformers' `encode_document` looks for these prompt names, in this order.
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")

_PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def _weights_precision(precision: str, model_kwargs: Optional[dict]) -> str:
    """The precision the weights are kept in: ``precision``, or the ``torch_dtype`` / ``dtype``
    of ``model_kwargs`` as sentence-transformers users pass it."""
    dtype = None
    for key in ("torch_dtype", "dtype"):
        if model_kwargs and model_kwargs.get(key) is not None:
            dtype = str(model_kwargs[key]).replace("torch.", "")
    if dtype is None or precision != "auto":
        return precision
    known = {"auto": "auto", "float32": "f32", "float": "f32", "bfloat16": "bf16"}
    if dtype not in known:
        raise ValueError(
            f"torch_dtype {dtype!r} is not supported: embedkit keeps weights in float32, "
            "bfloat16 or int8 (precision='int8')"
        )
    return known[dtype]


def _check_device(device: Optional[str]) -> None:
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(
            f"device {device!r} is not supported: embedkit runs models on the CPU "
            "(device='cpu' or None); its speed comes from AVX2 / AVX-512 kernels"
        )


def _resolve_spec(name: str, revision: Optional[str]) -> str:
    if os.path.exists(name):
        return name
    if "/" not in name:
        name = f"{_HUB_ORGANIZATION}/{name}"
    if revision:
        name = f"{name}@{revision}"
    return name


def _progress(show: Optional[bool], total: int) -> Optional[Any]:
    """A tqdm bar over ``total`` texts when asked for (by default when this module logs at
    INFO or DEBUG, as sentence-transformers decides), if tqdm is installed."""
    if show is None:
        show = logger.getEffectiveLevel() in (logging.INFO, logging.DEBUG)
    if not show:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        logger.warning("show_progress_bar needs tqdm (pip install tqdm); encoding without it")
        return None
    return tqdm(total=total, desc="Batches", unit="text")


def quantize_embeddings(embeddings: np.ndarray, precision: str) -> np.ndarray:
    """sentence-transformers' ``quantize_embeddings`` without calibration data: ``int8`` /
    ``uint8`` map each dimension's range over these embeddings to 256 steps; ``binary`` /
    ``ubinary`` pack the signs into bits (``binary`` shifted by -128 into int8)."""
    if precision == "float32":
        return embeddings
    if precision in ("int8", "uint8"):
        if embeddings.shape[0] < 100:
            logger.warning(
                "computing %s quantization ranges from only %d embeddings; the ranges are "
                "better estimated from more", precision, embeddings.shape[0]
            )
        starts = embeddings.min(axis=0)
        steps = (embeddings.max(axis=0) - starts) / 255
        scaled = (embeddings - starts) / steps
        if precision == "uint8":
            return scaled.astype(np.uint8)
        return (scaled - 128).astype(np.int8)
    bits = np.packbits(embeddings > 0).reshape(embeddings.shape[0], -1)
    if precision == "ubinary":
        return bits
    return (bits.astype(np.int16) - 128).astype(np.int8)


class SentenceTransformer:
    """A sentence-embedding model, loaded from a folder or a hub id.

    >>> model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
    >>> model.encode(["你好，你是一个机器人。", "Hello, you are a robot."]).shape
    (2, 384)

    Arguments mirror sentence-transformers'; ``precision`` (``"auto"``, ``"f32"``, ``"bf16"``,
    ``"int8"``) chooses how the weights are kept (``model_kwargs={"torch_dtype": ...}`` too).
    ``trust_remote_code``, ``backend``, ``tokenizer_kwargs`` and ``config_kwargs`` are
    accepted and ignored: embedkit runs no code from model repositories.
    """

    def __init__(
        self,
        model_name_or_path: Union[str, os.PathLike],
        modules: Any = None,
        device: Optional[str] = None,
        prompts: Optional[dict] = None,
        default_prompt_name: Optional[str] = None,
        similarity_fn_name: Optional[str] = None,
        cache_folder: Optional[Union[str, os.PathLike]] = None,
        trust_remote_code: bool = False,
        revision: Optional[str] = None,
        local_files_only: bool = False,
        token: Optional[Union[bool, str]] = None,
        use_auth_token: Optional[Union[bool, str]] = None,
        truncate_dim: Optional[int] = None,
        model_kwargs: Optional[dict] = None,
        tokenizer_kwargs: Optional[dict] = None,
        config_kwargs: Optional[dict] = None,
        model_card_data: Any = None,
        backend: str = "torch",
        precision: str = "auto",
    ) -> None:
        if modules is not None:
            raise ValueError("building a model from modules is not supported: give a model id or folder")
        _check_device(device)
        if cache_folder is None:
            cache_folder = os.environ.get("SENTENCE_TRANSFORMERS_HOME")
        token = token if token is not None else use_auth_token
        spec = _resolve_spec(os.fspath(model_name_or_path), revision)
        self._model = _embedkit.SentenceModel(
            spec,
            precision=_weights_precision(precision, model_kwargs),
            cache_folder=os.fspath(cache_folder) if cache_folder is not None else None,
            token=token if isinstance(token, str) else None,
            offline=local_files_only,
        )
        self.device = "cpu"
        self.truncate_dim = truncate_dim
        self.prompts: dict = dict(self._model.prompts)
        if prompts:
            self.prompts.update(prompts)
        self.default_prompt_name = default_prompt_name or self._model.default_prompt_name
        if self.default_prompt_name is not None and self.default_prompt_name not in self.prompts:
            raise ValueError(
                f"default prompt name {self.default_prompt_name!r} is not among the prompts "
                f"{sorted(self.prompts)}"
            )
        self._similarity_fn_name = similarity_fn_name

    def __repr__(self) -> str:
        return (
            f"SentenceTransformer({str(self._model.path)!r}, dimensions="
            f"{self.get_sentence_embedding_dimension()}, max_seq_length={self.max_seq_length})"
        )

    # -- encoding -----------------------------------------------------------------------

    def encode(
        self,
        sentences: Union[str, Iterable[str]],
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        output_value: Optional[str] = "sentence_embedding",
        precision: str = "float32",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: Optional[str] = None,
        normalize_embeddings: bool = False,
        truncate_dim: Optional[int] = None,
        **kwargs: Any,
    ):
        """Embeds a string (one vector) or a list of strings (a matrix, one row each).

        ``prompt`` (text) wins over ``prompt_name``; with neither, the model's default
        prompt applies. Vectors are truncated to ``truncate_dim`` (default: the model's),
        then normalized when ``normalize_embeddings`` is set. ``precision`` quantizes the
        result as sentence-transformers' ``quantize_embeddings`` does.
        """
        return self._encode(
            sentences, None, prompt_name, prompt, batch_size, show_progress_bar, output_value,
            precision, convert_to_numpy, convert_to_tensor, device, normalize_embeddings,
            truncate_dim, kwargs,
        )

    def encode_query(self, sentences, prompt_name=None, prompt=None, **kwargs):
        """``encode`` for search queries: uses the model's ``query`` prompt (BGE's or Qwen3's
        instruction) unless a prompt is given."""
        return self._encode_role(sentences, "query", prompt_name, prompt, kwargs)

    def encode_document(self, sentences, prompt_name=None, prompt=None, **kwargs):
        """``encode`` for passages: uses the model's ``document``, ``passage`` or ``corpus``
        prompt, if it has one, unless a prompt is given."""
        return self._encode_role(sentences, "document", prompt_name, prompt, kwargs)

    def _encode_role(self, sentences, role, prompt_name, prompt, kwargs):
        args = dict(
            batch_size=32, show_progress_bar=None, output_value="sentence_embedding",
            precision="float32", convert_to_numpy=True, convert_to_tensor=False, device=None,
            normalize_embeddings=False, truncate_dim=None,
        )
        for key in list(args):
            if key in kwargs:
                args[key] = kwargs.pop(key)
        return self._encode(
            sentences, role, prompt_name, prompt, args["batch_size"], args["show_progress_bar"],
            args["output_value"], args["precision"], args["convert_to_numpy"],
            args["convert_to_tensor"], args["device"], args["normalize_embeddings"],
            args["truncate_dim"], kwargs,
        )

    def _encode(
        self, sentences, role, prompt_name, prompt, batch_size, show_progress_bar,
        output_value, precision, convert_to_numpy, convert_to_tensor, device,
        normalize_embeddings, truncate_dim, kwargs,
    ):
        if kwargs:
            raise TypeError(f"encode() got unexpected keyword arguments: {sorted(kwargs)}")
        _check_device(device)
        if output_value != "sentence_embedding":
            raise ValueError(
                f"output_value={output_value!r} is not supported: embedkit returns sentence embeddings"
            )
        if precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, got {precision!r}")
        single = isinstance(sentences, str) or not hasattr(sentences, "__len__")
        texts = [sentences] if single else list(sentences)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"sentences[{i}] is {type(t).__name__}, not str")
        if truncate_dim is None:
            truncate_dim = self.truncate_dim
        bar = _progress(show_progress_bar, len(texts))
        try:
            embeddings = self._model.encode(
                texts,
                prompts=self.prompts,
                default_prompt_name=self.default_prompt_name,
                prompt_name=prompt_name,
                prompt=prompt,
                role=role,
                normalize=normalize_embeddings,
                truncate_dim=truncate_dim,
                batch_size=batch_size,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        embeddings = quantize_embeddings(embeddings, precision)
        if convert_to_tensor:
            embeddings = _to_torch(embeddings)
        elif not convert_to_numpy:
            embeddings = list(embeddings)
        if single:
            embeddings = embeddings[0]
        return embeddings

    # -- what the model is ----------------------------------------------------------------

    def get_sentence_embedding_dimension(self) -> int:
        """Width of the vectors ``encode`` returns (``truncate_dim`` when set)."""
        full = self._model.dimensions
        return min(full, self.truncate_dim) if self.truncate_dim else full

    def get_max_seq_length(self) -> int:
        return self._model.max_seq_length

    @property
    def max_seq_length(self) -> int:
        """Token limit per input; longer inputs are truncated. Settable."""
        return self._model.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._model.max_seq_length = value

    @property
    def similarity_fn_name(self) -> str:
        """``cosine``, ``dot``, ``euclidean`` or ``manhattan`` (the model's, unless set)."""
        return self._similarity_fn_name or self._model.similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str) -> None:
        if value not in _SIMILARITIES:
            raise ValueError(f"similarity_fn_name must be one of {sorted(_SIMILARITIES)}")
        self._similarity_fn_name = value

    @property
    def model_path(self) -> str:
        """The folder the model was loaded from."""
        return str(self._model.path)

    def info(self) -> dict:
        """What ``embedkit info`` shows about the model."""
        import json

        return json.loads(self._model.info_json())

    # -- comparing embeddings ---------------------------------------------------------------

    def similarity(self, embeddings1, embeddings2):
        """All-pairs scores between two sets of embeddings with the model's similarity
        function (distances negated, as sentence-transformers returns them)."""
        return _similarity(self.similarity_fn_name, embeddings1, embeddings2, pairwise=False)

    def similarity_pairwise(self, embeddings1, embeddings2):
        """Scores of row *i* against row *i*."""
        return _similarity(self.similarity_fn_name, embeddings1, embeddings2, pairwise=True)


def _to_torch(embeddings: np.ndarray):
    try:
        import torch
    except ImportError as e:
        raise ImportError("convert_to_tensor=True needs torch; use the NumPy result instead") from e
    return torch.from_numpy(embeddings)


def _cosine(a: np.ndarray, b: np.ndarray, pairwise: bool) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return _dot(a, b, pairwise)


def _dot(a: np.ndarray, b: np.ndarray, pairwise: bool) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b) if pairwise else a @ b.T


def _euclidean(a: np.ndarray, b: np.ndarray, pairwise: bool) -> np.ndarray:
    d = a - b if pairwise else a[:, None, :] - b[None, :, :]
    return -np.sqrt(np.sum(d * d, axis=-1))


def _manhattan(a: np.ndarray, b: np.ndarray, pairwise: bool) -> np.ndarray:
    d = a - b if pairwise else a[:, None, :] - b[None, :, :]
    return -np.sum(np.abs(d), axis=-1)


_SIMILARITIES: dict = {
    "cosine": _cosine,
    "dot": _dot,
    "euclidean": _euclidean,
    "manhattan": _manhattan,
}


def _similarity(name: str, x, y, pairwise: bool):
    torch_in = type(x).__module__.startswith("torch")

    def matrix(v) -> np.ndarray:
        if type(v).__module__.startswith("torch"):
            v = v.detach().cpu().numpy()
        m = np.asarray(v, dtype=np.float32)
        return m[None, :] if m.ndim == 1 else m

    scores = _SIMILARITIES[name](matrix(x), matrix(y), pairwise).astype(np.float32)
    return _to_torch(scores) if torch_in else scores

"""embedkit: sentence, word and image embeddings on the CPU, run by a Rust engine.

* :class:`SentenceTransformer` — the ``sentence_transformers.SentenceTransformer`` API
  (``encode``, ``encode_query``, ``encode_document``, ``similarity``, prompts, Matryoshka
  ``truncate_dim``) on Hugging Face model folders and hub ids.
* :class:`CrossEncoder` — sentence-transformers' ``CrossEncoder`` (rerankers: ``predict``,
  ``rank``).
* :class:`KeyedVectors` — gensim's word-vector queries on word2vec / GloVe / fastText files.
* :class:`ImageEncoder` — ResNet / VGG / MobileNetV2 image embeddings with torchvision's
  preprocessing.
* :mod:`embedkit.langchain` — LangChain ``Embeddings`` classes (needs ``langchain-core``).

Models run with the GIL released: several Python threads embed at once.
"""

from ._embedkit import __version__, set_threads
from .cross_encoder import CrossEncoder
from .images import ImageEncoder
from .keyed_vectors import KeyedVectors, load_facebook_vectors
from .sentence import SentenceTransformer

__all__ = [
    "CrossEncoder",
    "ImageEncoder",
    "KeyedVectors",
    "SentenceTransformer",
    "__version__",
    "load_facebook_vectors",
    "set_threads",
]

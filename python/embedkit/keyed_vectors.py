"""``embedkit.KeyedVectors``: gensim's ``KeyedVectors`` queries on the files word2vec, GloVe and
fastText write, run by embedkit's engine.

Code written for gensim runs by changing its import::

    from embedkit import KeyedVectors          # was: from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format("vectors.bin", binary=True)
    kv.most_similar(positive=["woman", "king"], negative=["man"], topn=3)
    kv.evaluate_word_pairs("wordsim353.tsv")

``load_facebook_vectors`` (as ``gensim.models.fasttext.load_facebook_vectors``) reads a fastText
``.bin`` model, whose character n-grams give vectors to words it never saw.
"""

from __future__ import annotations

import math
import os
from typing import Iterable, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from . import _embedkit


class Correlation(NamedTuple):
    """A correlation and its two-sided p-value (scipy's ``PearsonRResult`` /
    ``SignificanceResult`` as gensim returns them: ``result[0]`` or ``result.statistic``)."""

    statistic: float
    pvalue: float

    @property
    def correlation(self) -> float:
        return self.statistic


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction
    (modified Lentz), accurate to ~1e-12 for the arguments correlation tests use."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * f / a


def correlation_pvalue(r: float, n: int) -> float:
    """Two-sided p-value of a correlation ``r`` over ``n`` pairs under the null hypothesis of
    no correlation (Student's t with n - 2 degrees of freedom, as scipy's ``pearsonr`` and
    ``spearmanr`` compute it)."""
    if n < 3:
        return float("nan")
    r2 = min(r * r, 1.0)
    return _betainc((n - 2) / 2.0, 0.5, 1.0 - r2)


class KeyedVectors:
    """Word vectors: a vocabulary (most frequent first) and one vector per word."""

    def __init__(self, native: _embedkit.WordVectors) -> None:
        self._v = native
        self.index_to_key: List[str] = native.words()
        self.key_to_index = {w: i for i, w in enumerate(self.index_to_key)}
        self._vectors: Optional[np.ndarray] = None

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load_word2vec_format(
        cls,
        fname: Union[str, os.PathLike],
        fvocab=None,
        binary: bool = False,
        encoding: str = "utf8",
        unicode_errors: str = "strict",
        limit: Optional[int] = None,
        datatype=np.float32,
        no_header: bool = False,
    ) -> "KeyedVectors":
        """Reads the word2vec C tool's text (``binary=False``) or binary format; with
        ``no_header=True``, GloVe's text format."""
        if fvocab is not None:
            raise ValueError("fvocab (a separate word-count file) is not supported")
        if encoding.replace("-", "").lower() != "utf8":
            raise ValueError("only UTF-8 files are supported")
        if binary and no_header:
            raise ValueError("no_header applies to the text format only")
        fmt = "binary" if binary else ("glove" if no_header else "word2vec")
        return cls(_embedkit.WordVectors.load(os.fspath(fname), format=fmt, limit=limit))

    # -- what is in it ------------------------------------------------------------------------

    @property
    def vectors(self) -> np.ndarray:
        """All vectors, one row per word of ``index_to_key``."""
        if self._vectors is None:
            self._vectors = self._v.matrix()
        return self._vectors

    @property
    def vector_size(self) -> int:
        return self._v.dim

    def __len__(self) -> int:
        return len(self._v)

    def __contains__(self, key: str) -> bool:
        return key in self.key_to_index or (self._v.has_subwords and isinstance(key, str))

    def has_index_for(self, key: str) -> bool:
        return key in self.key_to_index

    def get_index(self, key: str, default: Optional[int] = None) -> int:
        if key in self.key_to_index:
            return self.key_to_index[key]
        if default is not None:
            return default
        raise KeyError(f"Key '{key}' not present")

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (from n-grams for an unseen word of a fastText model)."""
        v = self._v.vector(key)
        if norm:
            v = v / max(float(np.linalg.norm(v)), 1e-12)
        return v

    def __getitem__(self, key_or_keys: Union[str, Iterable[str]]) -> np.ndarray:
        if isinstance(key_or_keys, str):
            return self.get_vector(key_or_keys)
        return np.vstack([self.get_vector(k) for k in key_or_keys])

    # -- queries -------------------------------------------------------------------------------

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(self._v.similarity(w1, w2))

    def distance(self, w1: str, w2: str) -> float:
        """1 - cosine similarity."""
        return 1.0 - self.similarity(w1, w2)

    def most_similar(
        self,
        positive=None,
        negative=None,
        topn: Optional[int] = 10,
        clip_start: int = 0,
        clip_end: Optional[int] = None,
        restrict_vocab: Optional[int] = None,
        indexer=None,
    ) -> List[Tuple[str, float]]:
        """The ``topn`` words nearest to the mean of the unit vectors of ``positive`` minus
        those of ``negative`` (``positive=["woman", "king"], negative=["man"]`` answers
        man : king :: woman : ?), query words excluded."""
        pos, neg, topn = self._query(positive, negative, topn)
        if clip_start or clip_end is not None or indexer is not None:
            raise ValueError("clip_start, clip_end and indexer are not supported")
        return self._v.most_similar(pos, neg, topn, restrict_vocab)

    def most_similar_cosmul(
        self, positive=None, negative=None, topn: Optional[int] = 10, restrict_vocab: Optional[int] = None
    ) -> List[Tuple[str, float]]:
        """3CosMul (Levy & Goldberg 2014), as gensim's ``most_similar_cosmul``."""
        pos, neg, topn = self._query(positive, negative, topn)
        return self._v.most_similar_cosmul(pos, neg, topn, restrict_vocab)

    def similar_by_word(self, word: str, topn: int = 10, restrict_vocab: Optional[int] = None):
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word that fits least with the others."""
        return self._v.doesnt_match(list(words))

    @staticmethod
    def _query(positive, negative, topn) -> Tuple[List[str], List[str], int]:
        def words(arg) -> List[str]:
            if arg is None:
                return []
            if isinstance(arg, str):
                return [arg]
            out = list(arg)
            for w in out:
                if not isinstance(w, str):
                    raise TypeError("query words must be strings (vectors are not supported)")
            return out

        if topn is None or topn < 0:
            raise ValueError("topn must be a non-negative number")
        return words(positive), words(negative), int(topn)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate_word_pairs(
        self,
        pairs: Union[str, os.PathLike],
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> Tuple[Correlation, Correlation, float]:
        """Pearson and Spearman correlation of cosine similarity with human scores on a
        ``word1<TAB>word2<TAB>score`` file (WordSim-353, SimLex-999), as gensim computes
        them: words matched case-insensitively among the first ``restrict_vocab`` words,
        pairs with an unknown word skipped. Returns ``(pearson, spearman, oov_ratio)``, the
        ratio in percent."""
        if delimiter != "\t" or not case_insensitive or dummy4unknown:
            raise ValueError(
                "only tab-separated files, case-insensitive matching and skipped unknown pairs are supported"
            )
        if encoding.replace("-", "").lower() != "utf8":
            raise ValueError("only UTF-8 files are supported")
        pearson, spearman, scored, skipped = self._v.evaluate_word_pairs(os.fspath(pairs), restrict_vocab)
        oov = 100.0 * skipped / max(scored + skipped, 1)
        return (
            Correlation(pearson, correlation_pvalue(pearson, scored)),
            Correlation(spearman, correlation_pvalue(spearman, scored)),
            oov,
        )


def load_facebook_vectors(path: Union[str, os.PathLike]) -> KeyedVectors:
    """Reads a fastText ``.bin`` model (as ``gensim.models.fasttext.load_facebook_vectors``):
    its vectors, and its n-gram table for words outside the vocabulary."""
    return KeyedVectors(_embedkit.WordVectors.load(os.fspath(path), format="fasttext"))

"""embedkit.KeyedVectors against gensim itself (installed beside it in the test environment)
on the word2vec / fastText fixtures that gensim wrote (testdata/fixtures/wordvec)."""

import math

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKeyedVectors
from gensim.models.fasttext import load_facebook_vectors as gensim_load_facebook_vectors

import embedkit
from conftest import DATA, FIXTURES

WORDVEC = FIXTURES / "wordvec"


@pytest.fixture(scope="module", params=[("w2v.txt", False), ("w2v.bin", True)])
def both(request):
    name, binary = request.param
    ours = embedkit.KeyedVectors.load_word2vec_format(WORDVEC / name, binary=binary)
    theirs = GensimKeyedVectors.load_word2vec_format(str(WORDVEC / name), binary=binary)
    return ours, theirs


def test_vocabulary_and_vectors(both):
    ours, theirs = both
    assert ours.index_to_key == theirs.index_to_key
    assert ours.key_to_index == theirs.key_to_index
    assert len(ours) == len(theirs) and ours.vector_size == theirs.vector_size == 16
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)
    np.testing.assert_array_equal(ours["fire"], theirs["fire"])
    np.testing.assert_array_equal(ours[["fire", "police"]], theirs[["fire", "police"]])
    np.testing.assert_allclose(ours.get_vector("fire", norm=True), theirs.get_vector("fire", norm=True), rtol=1e-6)
    assert "fire" in ours and "xyzzyq" not in ours


def test_queries(both):
    ours, theirs = both
    for positive, negative in [(["fire"], []), (["australia", "police"], ["government"]), ("world", None)]:
        got = ours.most_similar(positive=positive, negative=negative, topn=5)
        want = theirs.most_similar(positive=positive, negative=negative, topn=5)
        assert [w for w, _ in got] == [w for w, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)
    got = ours.most_similar_cosmul(positive=["australia", "police"], negative=["government"], topn=5)
    want = theirs.most_similar_cosmul(positive=["australia", "police"], negative=["government"], topn=5)
    assert [w for w, _ in got] == [w for w, _ in want]
    got = ours.most_similar("fire", restrict_vocab=100)
    want = theirs.most_similar("fire", restrict_vocab=100)
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-5)
    assert ours.similarity("fire", "police") == pytest.approx(float(theirs.similarity("fire", "police")), rel=1e-5)
    assert ours.distance("fire", "police") == pytest.approx(float(theirs.distance("fire", "police")), rel=1e-5)
    words = ["fire", "police", "government", "minister"]
    assert ours.doesnt_match(words) == theirs.doesnt_match(words)
    with pytest.raises(KeyError, match="xyzzyq"):
        ours.most_similar("xyzzyq")
    with pytest.raises(KeyError):
        ours["xyzzyq"]


def test_evaluate_word_pairs_matches_gensim(both):
    ours, theirs = both
    pearson, spearman, oov = ours.evaluate_word_pairs(DATA / "wordsim353.tsv")
    g_pearson, g_spearman, g_oov = theirs.evaluate_word_pairs(str(DATA / "wordsim353.tsv"))
    assert pearson[0] == pytest.approx(g_pearson[0], abs=1e-6)
    # The p-values move with the last bits of the correlations (cosines in float32).
    assert pearson.pvalue == pytest.approx(g_pearson[1], rel=1e-4)
    assert spearman.correlation == pytest.approx(g_spearman.correlation, abs=1e-6)
    assert spearman.pvalue == pytest.approx(g_spearman.pvalue, rel=1e-4)
    assert oov == pytest.approx(g_oov)


def test_correlation_pvalue_by_hand():
    # r = 0.5 over 10 pairs: 8 degrees of freedom, x = 1 - r² = 3/4. For an even count the
    # two-sided p is a finite sum: 1 - sqrt(1 - x) * (1 + x/2 + 3x²/8 + 5x³/16)
    # = 1 - (1/2)(1 + 3/8 + 27/128 + 135/1024) = 289/2048.
    from embedkit.keyed_vectors import correlation_pvalue

    assert correlation_pvalue(0.5, 10) == pytest.approx(289 / 2048, abs=1e-12)
    assert correlation_pvalue(0.0, 50) == pytest.approx(1.0)
    assert math.isnan(correlation_pvalue(0.3, 2))


def test_fasttext_vectors_for_unseen_words():
    ours = embedkit.load_facebook_vectors(WORDVEC / "fasttext.bin")
    theirs = gensim_load_facebook_vectors(str(WORDVEC / "fasttext.bin"))
    assert ours.index_to_key == theirs.index_to_key
    for word in ["fire", "café", "unbelievableness", "tokenizers", "xyzzyq", "火车"]:
        np.testing.assert_allclose(ours[word], theirs[word], rtol=1e-5, atol=1e-6)
        assert word in ours
    got = ours.most_similar("unbelievableness", topn=5)
    want = theirs.most_similar("unbelievableness", topn=5)
    assert [w for w, _ in got] == [w for w, _ in want]


def test_glove_text_and_limit(tmp_path):
    lines = (WORDVEC / "w2v.txt").read_text(encoding="utf-8").splitlines()
    (tmp_path / "glove.txt").write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    ours = embedkit.KeyedVectors.load_word2vec_format(tmp_path / "glove.txt", no_header=True, limit=100)
    theirs = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "glove.txt"), no_header=True, limit=100)
    assert ours.index_to_key == theirs.index_to_key and len(ours) == 100
    np.testing.assert_array_equal(ours.vectors, theirs.vectors)


def test_bad_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        embedkit.KeyedVectors.load_word2vec_format(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("2 3\nword 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="malformed"):
        embedkit.KeyedVectors.load_word2vec_format(tmp_path / "bad.txt")

"""embedkit.CrossEncoder against sentence-transformers' CrossEncoder outputs stored for the
tiny random-weight fixtures (scripts/make-cross-encoder-fixtures.py)."""

import json

import numpy as np
import pytest

import embedkit
from conftest import FIXTURES, REFERENCE


def reference(name):
    return json.loads((REFERENCE / name / "scores.json").read_text(encoding="utf-8"))


def test_predict_and_rank_match_sentence_transformers():
    ref = reference("tiny-cross-encoder")
    model = embedkit.CrossEncoder(FIXTURES / "tiny-cross-encoder")
    assert model.num_labels == 1 and model.max_length == ref["max_length"]
    pairs = [tuple(p) for p in ref["pairs"]]
    scores = model.predict(pairs, batch_size=5)
    assert scores.shape == (len(pairs),) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, ref["scores"], atol=2e-5)
    np.testing.assert_allclose(model.predict(pairs, activation_fn=lambda x: x), ref["logits"], atol=2e-5)
    assert model.predict(pairs[4]) == pytest.approx(ref["scores"][4], abs=2e-5)
    for query, want in zip(ref["queries"], ref["rank"]):
        got = model.rank(query, ref["documents"], top_k=3, return_documents=True)
        assert len(got) == 3
        for g, w in zip(got, want):
            assert g["score"] == pytest.approx(w["score"], abs=2e-5)
            assert g["text"] == ref["documents"][g["corpus_id"]]
        assert [g["score"] for g in got] == sorted((g["score"] for g in got), reverse=True)


def test_several_labels():
    ref = reference("tiny-cross-encoder-roberta")
    model = embedkit.CrossEncoder(FIXTURES / "tiny-cross-encoder-roberta")
    pairs = [tuple(p) for p in ref["pairs"]]
    scores = model.predict(pairs)
    assert scores.shape == (len(pairs), 3)
    np.testing.assert_allclose(scores, ref["scores"], atol=2e-5)
    soft = model.predict(pairs, apply_softmax=True)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="3 labels"):
        model.rank("q", ["d"])


def test_errors():
    with pytest.raises(ValueError, match="CPU"):
        embedkit.CrossEncoder(FIXTURES / "tiny-cross-encoder", device="cuda")
    with pytest.raises(RuntimeError, match="cross-encoder"):
        embedkit.CrossEncoder(FIXTURES / "tiny-qwen3")
    model = embedkit.CrossEncoder(FIXTURES / "tiny-cross-encoder")
    with pytest.raises(TypeError, match="two strings"):
        model.predict([("a", "b"), ("c",)])
    with pytest.raises(ValueError, match="max_length"):
        embedkit.CrossEncoder(FIXTURES / "tiny-cross-encoder", max_length=4096)

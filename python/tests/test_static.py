"""Static (Model2Vec) models through embedkit.SentenceTransformer: the folder model2vec distilled
from the tiny BERT fixture gives model2vec's StaticModel.encode vectors (model2vec averages its
float16 table in float16, embedkit in float32: equal to float16 rounding)."""

import json

import numpy as np

import embedkit
from conftest import FIXTURES, REFERENCE


def test_model2vec_folder_encodes_as_model2vec():
    reference = json.loads((REFERENCE / "tiny-model2vec" / "encode.json").read_text(encoding="utf-8"))
    model = embedkit.SentenceTransformer(str(FIXTURES / "tiny-model2vec"))
    got = model.encode(reference["texts"])
    want = np.array(reference["tiny-model2vec"], dtype=np.float32)
    assert got.shape == want.shape == (len(reference["texts"]), 16)
    np.testing.assert_allclose(got, want, atol=1e-3)
    # A text with no known token (only emoji here) is the zero vector, as in model2vec.
    crab = reference["texts"].index("🦀🦀 🦀")
    assert not got[crab].any()
    assert model.get_sentence_embedding_dimension() == 16

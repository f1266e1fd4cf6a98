"""embedkit.SentenceTransformer against sentence-transformers' stored outputs."""

import threading

import numpy as np
import pytest

import embedkit
from conftest import FIXTURES, REFERENCE, SENTENCES, assert_same_vectors, real_model

MINILM_REF = REFERENCE / "all-MiniLM-L6-v2"


@pytest.fixture(scope="module")
def minilm():
    return embedkit.SentenceTransformer(str(real_model("all-MiniLM-L6-v2")))


def test_minilm_list_matches_sentence_transformers(minilm):
    got = minilm.encode(SENTENCES, batch_size=4)
    assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
    assert_same_vectors(got, np.load(MINILM_REF / "embeddings.npy"))


def test_a_string_gives_one_vector(minilm):
    expected = np.load(MINILM_REF / "embeddings.npy")
    for i in (0, 1, 4):
        got = minilm.encode(SENTENCES[i])
        assert got.shape == (384,)
        assert_same_vectors(got, expected[i])


def test_truncate_dim_and_normalize(minilm):
    expected = np.load(MINILM_REF / "embeddings_trunc128_norm.npy")
    got = minilm.encode(SENTENCES, truncate_dim=128, normalize_embeddings=True)
    assert got.shape == (12, 128)
    assert_same_vectors(got, expected)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    # sentence-transformers truncates without re-normalizing unless asked.
    full = np.load(MINILM_REF / "embeddings.npy")
    np.testing.assert_allclose(minilm.encode(SENTENCES, truncate_dim=128), full[:, :128], atol=2e-5)


def test_truncate_dim_of_the_model_sets_the_dimension():
    model = embedkit.SentenceTransformer(str(real_model("all-MiniLM-L6-v2")), truncate_dim=128)
    assert model.get_sentence_embedding_dimension() == 128
    assert model.encode(["hello"]).shape == (1, 128)


def test_model_description(minilm):
    assert minilm.get_sentence_embedding_dimension() == 384
    assert minilm.max_seq_length == 256
    assert minilm.similarity_fn_name == "cosine"
    assert minilm.prompts == {}
    assert minilm.info()["architecture"] == "bert"


@pytest.mark.parametrize("name", ["tiny-bge", "tiny-minilm-mean", "tiny-mpnet", "tiny-qwen3"])
def test_fixture_models_match(name):
    model = embedkit.SentenceTransformer(str(FIXTURES / name))
    assert_same_vectors(model.encode(SENTENCES, batch_size=4), np.load(REFERENCE / name / "embeddings.npy"))
    for n in (8, 16):
        got = model.encode(SENTENCES, truncate_dim=n, normalize_embeddings=True)
        assert_same_vectors(got, np.load(REFERENCE / name / f"embeddings_trunc{n}_norm.npy"))


@pytest.mark.parametrize("name", ["tiny-bge", "tiny-qwen3"])
def test_query_prompt(name):
    model = embedkit.SentenceTransformer(str(FIXTURES / name))
    expected = np.load(REFERENCE / name / "embeddings_query.npy")
    assert_same_vectors(model.encode(SENTENCES, prompt_name="query"), expected)
    # encode_query picks the model's query prompt; an explicit prompt text is the same.
    assert_same_vectors(model.encode_query(SENTENCES), expected)
    assert_same_vectors(model.encode(SENTENCES, prompt=model.prompts["query"]), expected)
    # encode_document uses the "document" prompt, empty for both models.
    assert_same_vectors(model.encode_document(SENTENCES), np.load(REFERENCE / name / "embeddings.npy"))


def test_prompts_given_to_the_constructor_and_the_default_prompt():
    bge = FIXTURES / "tiny-bge"
    query = np.load(REFERENCE / "tiny-bge" / "embeddings_query.npy")
    instruction = "Represent this sentence for searching relevant passages: "
    model = embedkit.SentenceTransformer(str(bge), prompts={"search": instruction}, default_prompt_name="search")
    assert_same_vectors(model.encode(SENTENCES), query)
    # An explicit empty prompt turns the default off.
    assert_same_vectors(model.encode(SENTENCES, prompt=""), np.load(REFERENCE / "tiny-bge" / "embeddings.npy"))


def test_hub_ids_resolve_through_the_cache(hub_cache):
    hub_cache("BAAI/bge-small-en-v1.5", FIXTURES / "tiny-bge")
    model = embedkit.SentenceTransformer("BAAI/bge-small-en-v1.5")
    assert_same_vectors(model.encode(SENTENCES), np.load(REFERENCE / "tiny-bge" / "embeddings.npy"))
    # A bare name is looked up in the sentence-transformers organisation.
    hub_cache("sentence-transformers/tiny-mpnet", FIXTURES / "tiny-mpnet")
    assert embedkit.SentenceTransformer("tiny-mpnet").model_path.endswith("0123456789abcdef0123456789abcdef01234567")


def test_cache_folder_argument(tmp_path, hub_cache, monkeypatch):
    hub_cache("Qwen/Qwen3-Embedding-0.6B", FIXTURES / "tiny-qwen3")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "elsewhere"))
    with pytest.raises(OSError, match="HF_HUB_OFFLINE"):
        embedkit.SentenceTransformer("Qwen/Qwen3-Embedding-0.6B")
    model = embedkit.SentenceTransformer("Qwen/Qwen3-Embedding-0.6B", cache_folder=str(tmp_path / "hub"))
    assert model.get_sentence_embedding_dimension() == 16


def test_errors_are_python_exceptions_with_clear_messages(minilm, tmp_path):
    with pytest.raises(ValueError, match="CPU"):
        embedkit.SentenceTransformer(str(FIXTURES / "tiny-bge"), device="cuda")
    with pytest.raises(ValueError, match="CPU"):
        minilm.encode("x", device="mps")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        embedkit.SentenceTransformer(str(tmp_path / "nothing-here"))
    with pytest.raises(ValueError, match="known: none"):
        minilm.encode("x", prompt_name="query")
    with pytest.raises(ValueError, match="512 positions"):
        minilm.max_seq_length = 100_000
    with pytest.raises(ValueError, match="precision"):
        embedkit.SentenceTransformer(str(FIXTURES / "tiny-bge"), precision="fp4")
    with pytest.raises(TypeError, match="not str"):
        minilm.encode(["ok", 3])
    with pytest.raises(ValueError, match="batch size"):
        minilm.encode(["x"], batch_size=0)
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(RuntimeError, match="config"):
        embedkit.SentenceTransformer(str(tmp_path))


def test_max_seq_length_truncates(minilm):
    long_text = " ".join(["hello"] * 400)
    model = embedkit.SentenceTransformer(str(real_model("all-MiniLM-L6-v2")))
    model.max_seq_length = 16
    assert model.max_seq_length == 16
    short = model.encode(long_text)
    # [CLS], 14 words of one token each, [SEP].
    assert_same_vectors(short, model.encode(" ".join(["hello"] * 14)))
    assert not np.allclose(short, minilm.encode(long_text))


def test_output_kinds(minilm):
    rows = minilm.encode(SENTENCES[:3], convert_to_numpy=False)
    assert isinstance(rows, list) and len(rows) == 3 and rows[0].shape == (384,)
    assert minilm.encode([]).shape == (0, 384)
    with pytest.raises(ValueError, match="output_value"):
        minilm.encode("x", output_value="token_embeddings")


def test_quantized_precisions_follow_sentence_transformers(minilm):
    e = minilm.encode(SENTENCES)
    bits = minilm.encode(SENTENCES, precision="ubinary")
    assert bits.dtype == np.uint8 and bits.shape == (12, 48)
    # Bit i of byte j (most significant first) is the sign of dimension 8j + i.
    assert bits[0, 0] == sum(1 << (7 - i) for i in range(8) if e[0, i] > 0)
    np.testing.assert_array_equal(minilm.encode(SENTENCES, precision="binary"), (bits.astype(np.int16) - 128).astype(np.int8))
    q = minilm.encode(SENTENCES, precision="uint8")
    lo, hi = e.min(0), e.max(0)
    np.testing.assert_array_equal(q, ((e - lo) / ((hi - lo) / 255)).astype(np.uint8))
    assert q[e.argmin(0), np.arange(384)].max() == 0


def test_similarity_functions(minilm):
    a = np.array([[1.0, 0.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[0.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(minilm.similarity(a, b), [[0.0], [0.8]], atol=1e-7)
    minilm.similarity_fn_name = "dot"
    np.testing.assert_allclose(minilm.similarity(a, b), [[0.0], [8.0]])
    minilm.similarity_fn_name = "euclidean"
    np.testing.assert_allclose(minilm.similarity(a, b), [[-np.sqrt(5.0)], [-np.sqrt(13.0)]], rtol=1e-6)
    minilm.similarity_fn_name = "manhattan"
    np.testing.assert_allclose(minilm.similarity_pairwise(a, np.vstack([b, b])), [-3.0, -5.0])
    minilm.similarity_fn_name = "cosine"
    with pytest.raises(ValueError):
        minilm.similarity_fn_name = "jaccard"


def test_progress_callback_sees_every_text():
    model = embedkit._embedkit.SentenceModel(str(FIXTURES / "tiny-bge"))
    seen = []
    model.encode(SENTENCES, prompts={}, batch_size=5, progress=seen.append)
    assert sorted(seen) == [2, 5, 5]


def test_an_exception_in_the_callback_stops_the_work():
    model = embedkit._embedkit.SentenceModel(str(FIXTURES / "tiny-bge"))
    calls = []

    def fail(n):
        calls.append(n)
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        model.encode(SENTENCES, prompts={}, batch_size=2, progress=fail)
    assert calls == [2]


def test_ctrl_c_stops_a_long_call_after_the_batch_in_flight():
    import _thread

    model = embedkit._embedkit.SentenceModel(str(FIXTURES / "tiny-bge"))
    calls = []

    def interrupt_once(n):
        calls.append(n)
        if len(calls) == 1:
            _thread.interrupt_main()  # what Ctrl-C does: SIGINT's handler runs in the main thread

    with pytest.raises(KeyboardInterrupt):
        model.encode(SENTENCES, prompts={}, batch_size=2, progress=interrupt_once)
    assert calls == [2], "the batch after the signal was not started"


def test_four_threads_at_once_give_the_serial_vectors(minilm):
    texts = [f"{s} #{k}" for k in range(8) for s in SENTENCES]
    serial = minilm.encode(texts)
    results = [None] * 4
    errors = []

    def work(i):
        try:
            for _ in range(3):
                results[i] = minilm.encode(texts[i::4])
        except Exception as e:  # reported below: a thread's exception would be lost
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        np.testing.assert_allclose(results[i], serial[i::4], atol=1e-6)


def test_a_model_that_produces_nan_raises(tmp_path):
    from conftest import poisoned_copy

    folder = poisoned_copy(FIXTURES / "tiny-bge", "embeddings.LayerNorm.weight", tmp_path / "nan-bge")
    model = embedkit.SentenceTransformer(str(folder))
    with pytest.raises(RuntimeError, match="non-finite"):
        model.encode(["hello"])

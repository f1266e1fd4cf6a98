"""Shared paths and helpers: the fixtures and references under testdata/ (made with
sentence-transformers, torchvision and gensim; see testdata/README.md) and the real models
scripts/fetch-models.sh puts under models/."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "testdata" / "fixtures"
REFERENCE = FIXTURES / "reference"
DATA = ROOT / "testdata" / "data"
MODELS = ROOT / "models"

SENTENCES = json.loads((FIXTURES / "sentences.json").read_text(encoding="utf-8"))


def real_model(name: str) -> Path:
    path = MODELS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/fetch-models.sh")
    return path


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def assert_same_vectors(got, expected, min_cos: float = 0.99999) -> None:
    """Row by row: cosine ≥ min_cos and the same length within a matching tolerance (so
    scale errors show too)."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert cosines(got, expected).min() >= min_cos
    np.testing.assert_allclose(
        np.linalg.norm(np.atleast_2d(got), axis=1),
        np.linalg.norm(np.atleast_2d(expected), axis=1),
        rtol=max(1e-4, 2 * (1 - min_cos)),
    )


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    """A Hugging Face cache (HF_HOME) holding fixture folders under real hub ids, offline:
    model ids resolve through embedkit's hub code exactly as for a downloaded model."""

    def add(repo_id: str, folder: Path) -> None:
        repo = tmp_path / "hub" / ("models--" + repo_id.replace("/", "--"))
        commit = "0123456789abcdef0123456789abcdef01234567"
        shutil.copytree(folder, repo / "snapshots" / commit)
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(commit)

    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("SENTENCE_TRANSFORMERS_HOME", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return add


def poisoned_copy(folder: Path, tensor: str, dest: Path) -> Path:
    """A copy of a model folder whose safetensors `tensor` is all NaN (the file format: an
    8-byte little-endian header length, a JSON header with each tensor's byte range, the
    data)."""
    shutil.copytree(folder, dest)
    path = dest / "model.safetensors"
    raw = bytearray(path.read_bytes())
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    info = header[tensor]
    assert info["dtype"] == "F32", info
    start, end = (8 + n + o for o in info["data_offsets"])
    raw[start:end] = np.full((end - start) // 4, np.nan, dtype="<f4").tobytes()
    path.write_bytes(bytes(raw))
    return dest

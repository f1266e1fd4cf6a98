"""embedkit.ImageEncoder against torchvision's stored outputs (testdata/fixtures/reference):
the random-weight ResNet fixture and the real MobileNetV2, from paths and from PIL images."""

import json

import numpy as np
import pytest
from PIL import Image

import embedkit
from conftest import DATA, FIXTURES, REFERENCE, assert_same_vectors, real_model


def tiny_resnet_images():
    info = json.loads((REFERENCE / "images" / "images.json").read_text())
    return [FIXTURES / entry["file"] for entry in info["images"]]


def test_tiny_resnet_from_paths_and_pil_images():
    encoder = embedkit.ImageEncoder(FIXTURES / "tiny-resnet")
    paths = tiny_resnet_images()
    expected = np.load(REFERENCE / "tiny-resnet" / "pooled.npy")
    assert_same_vectors(encoder.encode(paths, batch_size=2), expected, min_cos=0.999)
    assert_same_vectors(encoder.encode([Image.open(p) for p in paths]), expected, min_cos=0.999)
    # One image gives one vector; paths and images mix, in order.
    assert_same_vectors(encoder.encode(str(paths[1])), expected[1], min_cos=0.999)
    mixed = encoder.encode([paths[0], Image.open(paths[1]), str(paths[2])])
    assert_same_vectors(mixed, expected, min_cos=0.999)
    assert encoder.get_embedding_dimension() == expected.shape[1]


def test_mobilenet_v2_embeddings_and_labels():
    ref = json.loads((REFERENCE / "mobilenet_v2" / "reference.json").read_text())
    paths = [DATA / "images" / name for name in ref["images"]]
    encoder = embedkit.ImageEncoder(real_model("mobilenet_v2"))
    pooled = np.load(REFERENCE / "mobilenet_v2" / "pooled.npy")
    # JPEG decoders differ in their last bits: the bound of the Rust tests.
    assert_same_vectors(encoder.encode(paths), pooled, min_cos=0.999)
    # Grayscale (camera.png) and palette images go through Pillow's RGB conversion, as
    # torchvision's loader does.
    pil = [Image.open(p) for p in paths]
    assert_same_vectors(encoder.encode(pil), pooled, min_cos=0.999)
    top = encoder.classify(pil, top_k=5)
    for name, got in zip(ref["images"], top):
        assert len(got) == 5
        label, p = ref["top5"][name][0]
        assert got[0][0] == label, name
        assert got[0][1] == pytest.approx(p, abs=0.01), name


def test_errors():
    encoder = embedkit.ImageEncoder(FIXTURES / "tiny-resnet")
    with pytest.raises(FileNotFoundError):
        encoder.encode(["no/such/image.png"])
    with pytest.raises(TypeError, match="PIL image"):
        encoder.encode([42])
    with pytest.raises(ValueError, match="CPU"):
        embedkit.ImageEncoder(FIXTURES / "tiny-resnet", device="cuda")
    with pytest.raises(FileNotFoundError):
        embedkit.ImageEncoder(FIXTURES / "no-such-model")


def test_a_model_that_produces_nan_raises(tmp_path):
    from conftest import poisoned_copy

    folder = poisoned_copy(FIXTURES / "tiny-resnet", "fc.weight", tmp_path / "nan-resnet")
    encoder = embedkit.ImageEncoder(folder)
    path = tiny_resnet_images()[0]
    # The embedding comes before the classifier: still fine; the class scores are not.
    assert np.isfinite(encoder.encode(path)).all()
    with pytest.raises(RuntimeError, match="non-finite"):
        encoder.classify(path)

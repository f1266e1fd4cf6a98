"""``embedkit.ImageEncoder``: image embeddings (ResNet, VGG, MobileNetV2 from torchvision
weights) with torchvision's preprocessing, from files or PIL images.

    from embedkit import ImageEncoder
    encoder = ImageEncoder("models/mobilenet_v2")
    vectors = encoder.encode(["cat.jpg", "dog.png"])          # (2, 1280) float32
    encoder.classify("cat.jpg", top_k=3)                       # [(label, probability), ...]
"""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional, Tuple, Union

import numpy as np

from . import _embedkit

Image = Union[str, os.PathLike, Any]  # a path, or a PIL.Image.Image


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _pixels(img: Any) -> Tuple[bytes, int, int]:
    """A PIL image as RGB bytes, converted as Pillow's ``convert("RGB")`` does (what
    torchvision's pipeline sees after ``Image.open(path).convert("RGB")``)."""
    if not hasattr(img, "convert") or not hasattr(img, "size"):
        raise TypeError(f"expected an image path or a PIL image, got {type(img).__name__}")
    rgb = np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    height, width = rgb.shape[:2]
    return rgb.tobytes(), width, height


class ImageEncoder:
    """An image network: ``path`` is a weights file (``.safetensors``, ``.pth``) or a folder
    holding one; ``arch`` (e.g. ``"resnet50"``) is checked against what the weights hold."""

    def __init__(self, path: Union[str, os.PathLike], arch: Optional[str] = None, device: Optional[str] = None) -> None:
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"device {device!r} is not supported: embedkit runs models on the CPU")
        self._model = _embedkit.ImageModel(os.fspath(path), arch=arch)

    def get_embedding_dimension(self) -> int:
        return self._model.dimensions

    def _run(self, images, batch_size: int):
        single = _is_path(images) or not isinstance(images, Iterable)
        items = [images] if single else list(images)
        if not items:
            return single, np.zeros((0, self._model.dimensions), np.float32), None
        if all(_is_path(i) for i in items):
            emb, logits = self._model.run_files([os.fspath(i) for i in items], batch_size)
        elif not any(_is_path(i) for i in items):
            emb, logits = self._model.run_pixels([_pixels(i) for i in items], batch_size)
        else:
            # Keep input order across the two kinds.
            parts = [self._run([i], batch_size) for i in items]
            emb = np.vstack([p[1] for p in parts])
            logits = np.vstack([p[2] for p in parts])
        return single, emb, logits

    def encode(self, images: Union[Image, Iterable[Image]], batch_size: int = 32) -> np.ndarray:
        """Embeds one image (a vector) or a list of them (a matrix, one row each); paths and
        PIL images may be mixed."""
        single, emb, _ = self._run(images, batch_size)
        return emb[0] if single else emb

    def classify(self, images: Union[Image, Iterable[Image]], top_k: int = 5, batch_size: int = 32):
        """The ``top_k`` most probable classes (ImageNet labels for 1000-class models) of each
        image, as ``(label, probability)`` pairs."""
        single, _, logits = self._run(images, batch_size)
        if logits is None:
            return []
        ranked: List[List[Tuple[str, float]]] = [
            [(label, score) for _, label, score in row]
            for row in self._model.top_k(logits.ravel().tolist(), top_k)
        ]
        return ranked[0] if single else ranked

"""Readers for the public datasets the models learn from, given a local copy of each file as distributed.

Training scripts pass the path from their ``--data`` flag (or download the public file when there is
none); the Formats page's evaluation subsets (``showcase.evaluation``) use ``local_copy``, which never
downloads: the shared data folder beside the checkout, else a copy Keras downloaded earlier.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np

from showcase import paths

# Relative path under the shared data folder -> file name in the Keras download cache.
MNIST = ("data/mnist.npz", "mnist.npz")
FLOWER_PHOTOS = ("data/flower_photos.tgz", "flower_photos.tgz")
IMDB = ("data/aclImdb_v1_labeled.tar.gz", "aclImdb_v1.tar.gz")
# The tf_flowers archive's class folders, in the order the flowers model numbers its classes.
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
# Debian's dataset-fashion-mnist package.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
# A member such as aclImdb/test/pos/123_9.txt: split, label, review id, star rating.
_IMDB_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def local_copy(dataset: tuple[str, str]) -> Path | None:
    """The dataset's file in the shared data folder or the Keras cache, or None when neither has it."""
    shared_relative, keras_name = dataset
    for candidate in (paths.shared_file(shared_relative), Path.home() / ".keras" / "datasets" / keras_name):
        if candidate is not None and candidate.exists():
            return candidate
    return None


def mnist(path: Path):
    """MNIST from an .npz in the keras ``load_data`` layout: (x_train, y_train), (x_test, y_test), uint8."""
    with np.load(path) as data:
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])


def flower_photos(path: Path) -> dict[str, bytes]:
    """Every photo of flower_photos.tgz: ``{"daisy/100080576_f52e8ee070_n.jpg": jpeg bytes, ...}``."""
    photos = {}
    with tarfile.open(path) as archive:
        for member in archive:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 3 and parts[1] in FLOWER_CLASSES and parts[2].lower().endswith(".jpg"):
                photos[f"{parts[1]}/{parts[2]}"] = archive.extractfile(member).read()
    if not photos:
        raise ValueError(f"{path} holds no flower_photos/<class>/*.jpg files; is it the tf_flowers archive?")
    return photos


def imdb(path: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """{"train": (texts, labels), "test": (texts, labels)} read straight from the aclImdb tarball, sorted by
    file name; label 1 is positive."""
    reviews = {"train": [], "test": []}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            match = _IMDB_MEMBER.match(member.name)
            if member.isfile() and match:
                split, label = match.group(1), int(match.group(2) == "pos")
                review = archive.extractfile(member).read().decode("utf-8")
                reviews[split].append((member.name, review, label))
    return {
        split: ([review for _, review, _ in sorted(rows)], np.array([label for *_, label in sorted(rows)]))
        for split, rows in reviews.items()
    }


def fashion_mnist_test(folder: Path) -> np.ndarray:
    """The 10,000 Fashion-MNIST test images, uint8 (10000, 28, 28), white objects on black like MNIST."""
    from showcase.tasks.anomaly import read_idx_images

    return read_idx_images((Path(folder) / "t10k-images-idx3-ubyte.gz").read_bytes())

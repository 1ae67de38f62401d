"""The tf_flowers photos, read straight from flower_photos.tgz, and the fixed stratified split.

The archive is read with ``tarfile`` into memory (about 115 MB of JPEG bytes); nothing is extracted into
the repository. Without a local archive the public TensorFlow download is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from showcase import datasets
from showcase.tasks.flowers import LABELS

DOWNLOAD_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
VALIDATION_FRACTION = 0.2


def archive_path(path: Path | None) -> Path:
    """The local archive, or the public one downloaded into the Keras cache."""
    if path is not None:
        return path
    import tf_keras

    return Path(tf_keras.utils.get_file("flower_photos.tgz", DOWNLOAD_URL))


def read_archive(path: Path) -> dict[str, bytes]:
    """Every photo of the archive: ``{"daisy/100080576_f52e8ee070_n.jpg": jpeg bytes, ...}``."""
    return datasets.flower_photos(path)


def label_of(name: str) -> int:
    return LABELS.index(name.split("/")[0])


def stratified_split(names, seed: int) -> tuple[list[str], list[str]]:
    """A fixed 80/20 split per class: sorted names, shuffled with ``seed``, the first 20% validate."""
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for label in LABELS:
        members = sorted(name for name in names if name.startswith(label + "/"))
        order = rng.permutation(len(members))
        cut = round(len(members) * VALIDATION_FRACTION)
        validation += [members[i] for i in sorted(order[:cut])]
        train += [members[i] for i in sorted(order[cut:])]
    return train, validation

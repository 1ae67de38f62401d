"""Fixtures shared by every test folder."""

from __future__ import annotations

import numpy as np
import pytest

from showcase import paths


def shared_file_or_skip(relative_path: str):
    """Return a file from ../shared, or skip the test (with the reason) on machines without it."""
    path = paths.shared_file(relative_path)
    if path is None:
        pytest.skip(f"needs {paths.SHARED_DIR / relative_path} (full dataset, present in CI)")
    return path


@pytest.fixture(scope="session")
def mnist_test():
    """The full MNIST test set as (images uint8 (10000, 28, 28), labels)."""
    with np.load(shared_file_or_skip("data/mnist.npz")) as data:
        return data["x_test"], data["y_test"]

"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from showcase import paths
from showcase.formats import SAVEDMODEL


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


def pytest_collection_modifyitems(items):
    # A test run in the SavedModel format loads it with TensorFlow.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and SAVEDMODEL in callspec.params.values():
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def tensorflow_only_in_slow_tests(request):
    """Fail a test that imports TensorFlow into this process without the ``slow`` marker.

    Once imported, TensorFlow stays for the rest of the session, so a full run checks only the first importer;
    ``pytest -m "not slow"`` imports it nowhere and so checks every test.
    """
    imported_before = "tensorflow" in sys.modules
    yield
    if not imported_before and "tensorflow" in sys.modules and request.node.get_closest_marker("slow") is None:
        pytest.fail("this test imports TensorFlow: mark it @pytest.mark.slow (or its module with pytestmark)")


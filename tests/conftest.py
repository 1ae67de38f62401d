"""Fixtures shared by every test folder."""

from __future__ import annotations

import importlib.abc
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


class TensorFlowImportWatch(importlib.abc.MetaPathFinder):
    """Records which test (or "collection") imports TensorFlow into this process; finds nothing itself.

    ``importlib.util.find_spec("tensorflow")`` (which the format checks call) asks the finders too, without
    importing anything, so each ask overwrites the record until the module is really in ``sys.modules``: from
    then on Python asks no finder, and the record names the test whose ask was the import.
    """

    def __init__(self):
        self.running = "collection"
        self.importer = None

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" and "tensorflow" not in sys.modules:
            self.importer = self.running
        return None


TENSORFLOW_WATCH = TensorFlowImportWatch()
sys.meta_path.insert(0, TENSORFLOW_WATCH)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before any fixture, so that a module-scoped fixture's import counts for the test that set it up.
    TENSORFLOW_WATCH.running = item.nodeid


@pytest.fixture(autouse=True)
def tensorflow_only_in_slow_tests(request):
    """Fail a test that imports TensorFlow into this process without the ``slow`` marker.

    Once imported, TensorFlow stays for the rest of the session, so a full run checks only the first importer;
    ``pytest -m "not slow"`` imports it nowhere and so checks every test.
    """
    yield
    importer = TENSORFLOW_WATCH.importer if "tensorflow" in sys.modules else None
    if importer in (request.node.nodeid, "collection") and request.node.get_closest_marker("slow") is None:
        TENSORFLOW_WATCH.importer = "reported"
        where = "this test" if importer != "collection" else "a test module, while being collected,"
        pytest.fail(f"{where} imports TensorFlow: mark it @pytest.mark.slow (or its module with pytestmark)")

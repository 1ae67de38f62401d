"""Behavioural tests of the committed artifacts: every model in every format, SavedModel (TensorFlow) included."""

import os

import pytest


def pytest_collection_modifyitems(items):
    # Nearly every test here compares a format with SavedModel, which imports TensorFlow.
    for item in items:
        if "tests/model/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.slow)

"""showcase.formats: which formats a server offers, from the installed runtimes and SHOWCASE_FORMATS."""

import importlib.abc
import sys

import pytest

from showcase import formats
from showcase.formats import FORMAT_LABELS


class BlockTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@pytest.fixture
def without_tensorflow(monkeypatch):
    """TensorFlow not importable in this process, as on a host with the hosted set (when it was not imported)."""
    if "tensorflow" in sys.modules:
        pytest.skip("TensorFlow was imported by an earlier test in this process")
    monkeypatch.setattr(sys, "meta_path", [BlockTensorFlow(), *sys.meta_path])


def test_every_format_belongs_to_a_runtime():
    assert {formats.runtime_module(name) for name in FORMAT_LABELS} == {"tensorflow", "ai_edge_litert", "onnxruntime"}
    with pytest.raises(ValueError, match="Unknown format 'pickle'"):
        formats.runtime_module("pickle")


def test_without_tensorflow_savedmodel_is_left_out_with_the_reason(without_tensorflow):
    assert formats.offered_formats(environ={}) == [name for name in FORMAT_LABELS if name != "savedmodel"]
    reasons = formats.unavailable_formats(environ={})
    assert list(reasons) == ["savedmodel"] and "tensorflow, which is not installed" in reasons["savedmodel"]
    assert "tensorflow" not in sys.modules


def test_the_check_does_not_import_tensorflow():
    already = "tensorflow" in sys.modules
    formats.offered_formats(environ={})
    assert ("tensorflow" in sys.modules) == already


def test_no_restriction_when_the_variable_is_unset_or_blank():
    assert formats.operator_allowed({}) is None
    assert formats.operator_allowed({"SHOWCASE_FORMATS": " , "}) is None
    assert formats.settings_problem({}) is None


def test_the_operator_restricts_the_offer_case_and_spaces_ignored():
    environ = {"SHOWCASE_FORMATS": " ONNX , tflite_int8"}
    assert formats.offered_formats(["savedmodel", "tflite", "onnx", "tflite_int8"], environ) == ["tflite_int8", "onnx"]
    reasons = formats.unavailable_formats(["savedmodel", "tflite", "onnx"], environ)
    assert list(reasons) == ["savedmodel", "tflite"]
    assert all("turned off on this server (SHOWCASE_FORMATS)" in reason for reason in reasons.values())
    assert formats.settings_problem(environ) is None


def test_unknown_names_are_reported_and_the_rest_still_restrict():
    environ = {"SHOWCASE_FORMATS": "tflite,saved_model,h5"}
    problem = formats.settings_problem(environ)
    assert "'saved_model', 'h5', which are not formats; only tflite stay offered" in problem
    assert "Known formats: savedmodel, tflite" in problem
    assert formats.offered_formats(FORMAT_LABELS, environ) == ["tflite"]


def test_a_list_of_only_unknown_names_offers_nothing_and_says_so():
    environ = {"SHOWCASE_FORMATS": "pickle"}
    assert "no format is offered" in formats.settings_problem(environ)
    assert formats.offered_formats(FORMAT_LABELS, environ) == []

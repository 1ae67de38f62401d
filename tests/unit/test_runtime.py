"""The runtime: one predict interface over SavedModel, TFLite and ONNX, and clear errors for bad artifacts."""

import copy
import shutil

import numpy as np
import pytest

from showcase import manifest as manifest_lib
from showcase import paths, runtime

MANIFEST = manifest_lib.load_manifest()
DIGITS = MANIFEST["models"]["digits"]


@pytest.mark.parametrize("format_name", list(DIGITS["artifacts"]))
def test_every_format_returns_probabilities_for_any_batch_size(format_name):
    predictor = runtime.load("digits", format_name)
    assert predictor.format_name == format_name
    for batch_size in (1, 5, 1):  # also checks that TFLite re-allocates when the batch size changes back
        output = predictor.predict(np.zeros((batch_size, 28, 28, 1), dtype=np.float32))
        assert output.shape == (batch_size, 10) and output.dtype == np.float32
        np.testing.assert_allclose(output.sum(axis=1), 1.0, atol=1e-2)


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="Unknown format"):
        runtime.open_file(paths.MODELS_DIR, "pickle")


def test_format_the_model_lacks_names_the_rebuild_command():
    manifest = copy.deepcopy(MANIFEST)
    del manifest["models"]["digits"]["artifacts"]["onnx"]
    with pytest.raises(runtime.ArtifactError, match="train_digits.py"):
        runtime.load("digits", "onnx", manifest)


def test_missing_file_names_the_rebuild_command(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)
    with pytest.raises(runtime.ArtifactError, match=r"missing.*train_digits\.py"):
        runtime.load("digits", "tflite", MANIFEST)


def test_corrupt_file_that_matches_its_record_still_fails_cleanly(tmp_path, monkeypatch):
    """A file that passes the sha256 check but cannot be parsed (say, a manifest rebuilt over a bad file)."""
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "model.onnx").write_bytes(b"not a protobuf at all")
    manifest = copy.deepcopy(MANIFEST)
    manifest["models"]["digits"]["artifacts"]["onnx"] = manifest_lib.describe_artifact(tmp_path / "digits" / "model.onnx")
    with pytest.raises(runtime.ArtifactError, match=r"could not be loaded.*train_digits\.py"):
        runtime.load("digits", "onnx", manifest)


def test_tampered_file_is_refused(tmp_path, monkeypatch):
    shutil.copytree(paths.MODELS_DIR / "digits", tmp_path / "digits")
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)
    with open(tmp_path / "digits" / "model.tflite", "r+b") as artifact:
        artifact.seek(200)
        artifact.write(b"\xff\xff\xff\xff")
    with pytest.raises(runtime.ArtifactError, match="does not match the manifest"):
        runtime.load("digits", "tflite", MANIFEST)


def test_quantize_and_dequantize_round_trip():
    detail = {"dtype": np.int8, "quantization": (0.5, -3)}
    values = np.array([-10.0, 0.0, 1.2, 200.0], dtype=np.float32)
    quantized = runtime._quantize(values, detail)
    assert quantized.dtype == np.int8 and quantized.tolist() == [-23, -3, -1, 127]
    np.testing.assert_allclose(runtime._dequantize(quantized, detail), [-10.0, 0.0, 1.0, 65.0])


def test_float_artifacts_are_fed_unchanged():
    detail = {"dtype": np.float32, "quantization": (0.0, 0)}
    values = np.array([0.25], dtype=np.float64)
    assert runtime._quantize(values, detail).dtype == np.float32

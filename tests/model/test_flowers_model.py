"""Behavioural checks on the committed flowers artifacts: samples, flips, formats, size and the manifest's claims."""

import json

import numpy as np
import pytest

from showcase import calibration, paths, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import flowers
from showcase.tasks.flowers import LABELS, prepare_photo, to_model_input
from tests.conftest import shared_file_or_skip

FORMATS = ("tflite", "tflite_int8", "onnx", "savedmodel")
SAMPLES = flowers.sample_photos()


@pytest.fixture(scope="module")
def entry():
    return manifest_lib.model_entry("flowers")


@pytest.fixture(scope="module")
def sample_views():
    return to_model_input([prepare_photo(path.read_bytes())[1] for path in SAMPLES])


def test_there_are_about_ten_samples_covering_every_class():
    assert 8 <= len(SAMPLES) <= 12
    assert {flowers.sample_label(path) for path in SAMPLES} == set(LABELS)
    credits = (paths.SAMPLES_DIR / "flowers" / "CREDITS.md").read_text()
    assert all(path.name in credits for path in SAMPLES) and "CC BY 2.0" in credits


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_sample_is_classified_correctly_and_surely(entry, sample_views, format_name):
    probabilities = runtime.load("flowers", format_name).predict(sample_views)
    predicted = [LABELS[i] for i in probabilities.argmax(1)]
    assert predicted == [flowers.sample_label(path) for path in SAMPLES]
    # int8 outputs are quantized in steps of 1/256.
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-3 if format_name != "tflite_int8" else 1 / 64)
    if format_name != "tflite_int8":  # The samples were chosen with the SavedModel's confidence.
        assert (probabilities.max(1) >= flowers.threshold(entry) - 0.05).all()


@pytest.mark.parametrize("format_name", FORMATS)
def test_the_classifier_names_every_sample_as_the_page_always_has(entry, sample_views, format_name):
    """The page showed the verdict of the calibrated probabilities of the photo's centre crop."""
    predictor = runtime.load("flowers", format_name)
    classifier = flowers.FlowerClassifier(predictor, entry)
    shown = calibration.calibrated(predictor, entry).predict(sample_views)
    for path, view, probabilities in zip(SAMPLES, sample_views, shown):
        result = classifier.classify(path.read_bytes())
        expected = flowers.verdict(probabilities, entry)
        assert (result.label, result.sure) == (expected.label, expected.sure)
        assert result.label == flowers.sample_label(path)
        assert np.array_equal(result.view, view)
        assert np.allclose(result.probabilities, expected.probabilities, rtol=0, atol=1e-6)
        assert f"{result.confidence:.1%}" == f"{expected.confidence:.1%}"


@pytest.mark.parametrize("format_name", ["tflite", "tflite_int8"])
def test_a_horizontal_flip_keeps_the_label(sample_views, format_name):
    predictor = runtime.load("flowers", format_name)
    original = predictor.predict(sample_views).argmax(1)
    flipped = predictor.predict(sample_views[:, :, ::-1].copy()).argmax(1)
    assert np.array_equal(original, flipped)


def test_formats_agree_closely(sample_views):
    reference = runtime.load("flowers", "tflite").predict(sample_views)
    onnx = runtime.load("flowers", "onnx").predict(sample_views)
    assert np.abs(reference - onnx).max() < 1e-3


def test_manifest_claims_meet_the_requirements(entry):
    values, per_format = entry["metrics"]["values"], entry["metrics"]["per_format"]
    assert values["accuracy"] >= 0.90
    assert abs(per_format["tflite_int8"]["accuracy"] - per_format["tflite"]["accuracy"]) <= 0.01
    assert sum(record["bytes"] for record in entry["artifacts"].values()) <= 30_000_000
    assert entry["metrics"]["n"] == sum(figures["support"] for figures in entry["extra"]["per_class"].values())
    assert np.asarray(entry["extra"]["confusion_matrix"]).sum() == entry["metrics"]["n"]
    assert 0.3 <= entry["extra"]["not_sure"]["threshold"] < 1.0
    assert entry["extra"]["backbone_rebuild_check"]["top1_agreement"] >= 0.90


@pytest.mark.shared_data
def test_int8_accuracy_on_the_recorded_validation_split_matches_the_manifest(entry):
    """Re-evaluate the fastest artifact on the validation photos named in models/flowers/split.json."""
    import tarfile

    archive = shared_file_or_skip("data/flower_photos.tgz")
    split = json.loads((paths.MODELS_DIR / "flowers" / "split.json").read_text())
    wanted = set(split["validation"])
    views, labels = [], []
    with tarfile.open(archive) as photos:
        for member in photos:
            name = member.name.removeprefix("flower_photos/")
            if name in wanted:
                views.append(prepare_photo(photos.extractfile(member).read())[1])
                labels.append(LABELS.index(name.split("/")[0]))
    assert len(views) == entry["metrics"]["n"]
    predictor = runtime.load("flowers", "tflite_int8")
    predictions = np.concatenate([predictor.predict(to_model_input(views[i:i + 32])).argmax(1)
                                  for i in range(0, len(views), 32)])
    accuracy = float(np.mean(predictions == np.array(labels)))
    assert accuracy == pytest.approx(entry["metrics"]["per_format"]["tflite_int8"]["accuracy"], abs=0.002)

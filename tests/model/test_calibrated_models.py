"""Each served classifier's calibrated confidences, re-measured on the committed evaluation subsets.

The manifest records, per format, the ECE of the served temperature on the same fixed subsets that
``showcase.evaluation`` defines (``training/calibrate.py`` writes it); here the serving code path is run
again on them. The subsets need the datasets in ../shared: without them the tests skip with the reason.
"""

import numpy as np
import pytest

from showcase import calibration, evaluation, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import sentiment

MANIFEST = manifest_lib.load_manifest()
CASES = [pytest.param(model_name, format_name, marks=[pytest.mark.shared_data]
                      + ([pytest.mark.slow] if format_name == "savedmodel" else []), id=f"{model_name}-{format_name}")
         for model_name in ("digits", "flowers", "sentiment")
         for format_name in MANIFEST["models"][model_name]["calibration"]["per_format"]]


def served_outputs(model_name: str, format_name: str):
    """Raw and served (calibrated) probabilities per item of the subset, and its labels."""
    entry = MANIFEST["models"][model_name]
    try:
        arrays = evaluation.load_arrays(model_name)
    except evaluation.DataUnavailable as reason:
        pytest.skip(f"needs the full dataset (present in CI): {reason}")
    predictor = runtime.load(model_name, format_name)
    batches = range(0, len(arrays["inputs"]), evaluation.BATCH)
    raw = np.concatenate([predictor.predict(arrays["inputs"][i:i + evaluation.BATCH]) for i in batches])
    temperature = calibration.temperature(entry, format_name)
    if "owner" in arrays:  # Sentiment: one probability per review, computed as the page does.
        logits = sentiment.review_logits(raw[:, 0], arrays["owner"], len(arrays["targets"]))
        before = np.array([[sentiment.calibrated_probability(logit)] for logit in logits])
        after = np.array([[sentiment.calibrated_probability(logit, temperature)] for logit in logits])
    else:
        served = calibration.calibrated(predictor, entry)
        before = raw
        after = np.concatenate([served.predict(arrays["inputs"][i:i + evaluation.BATCH]) for i in batches])
    return before, after, arrays["targets"]


@pytest.mark.parametrize("model_name,format_name", CASES)
def test_calibrated_ece_matches_the_manifest_and_no_prediction_changes(model_name, format_name):
    before, after, labels = served_outputs(model_name, format_name)
    recorded = MANIFEST["models"][model_name]["calibration"]["per_format"][format_name]["evaluation_subset"]
    assert recorded["n"] == len(labels)
    assert abs(calibration.ece(after, labels) - recorded["ece_after"]) <= 0.005
    predicted_before = calibration.class_probabilities(before).argmax(1)
    predicted_after = calibration.class_probabilities(after).argmax(1)
    assert np.mean(predicted_before == predicted_after) == 1.0


@pytest.mark.parametrize("model_name", ["digits", "flowers", "sentiment"])
def test_every_served_format_meets_the_target_or_the_miss_is_recorded(model_name):
    """ECE ≤ 2% after calibration on the report split; the flowers model's misses are stated in docs/flowers.md."""
    record = MANIFEST["models"][model_name]["calibration"]
    for format_name, figures in record["per_format"].items():
        assert figures["after"]["ece"] < figures["before"]["ece"], format_name
        assert figures["after"]["nll"] < figures["before"]["nll"], format_name
        if model_name != "flowers":
            assert figures["after"]["ece"] <= 0.02, format_name

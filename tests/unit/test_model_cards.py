"""The committed model cards (docs/model_cards/) are what the manifest gives now, and their intervals are right."""

import numpy as np
import pytest

from showcase import manifest, model_cards
from showcase.tasks import anomaly

REGENERATE = "regenerate the cards with `python -m showcase.model_cards` and commit docs/model_cards/"


@pytest.fixture(scope="module")
def models():
    return manifest.load_manifest()["models"]


def test_every_model_has_a_card_that_matches_the_manifest(models):
    assert sorted(path.stem for path in model_cards.CARDS_DIR.glob("*.md")) == sorted(models)
    for name, entry in models.items():
        committed = model_cards.card_path(name).read_text()
        assert committed == model_cards.markdown(entry), f"docs/model_cards/{name}.md is out of date: {REGENERATE}"


def test_every_card_has_the_sections_of_mitchell_et_al(models):
    expected = ["Model details", "Intended use", "Out-of-scope uses", "Training data", "Evaluation data", "Metrics",
                "Per-group results", "Known failure modes (measured)", "Caveats and recommendations"]
    for entry in models.values():
        # A model with classical baselines recorded (sentiment) also gets the comparison table.
        compared = expected[:6] + ["Compared with"] + expected[6:] if entry.get("extra", {}).get("baselines") else expected
        assert [title for title, _ in model_cards.sections(entry)] == compared
        assert entry["data"]["license"] in model_cards.markdown(entry)


def test_the_forecast_card_says_it_is_not_investment_advice_and_sentiment_names_other_text(models):
    assert "Investment advice" in model_cards.markdown(models["forecast"])
    assert "Non-movie text" in model_cards.markdown(models["sentiment"])


def test_the_wilson_interval_matches_the_textbook_value():
    low, high = model_cards.wilson_interval(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    low, high = model_cards.wilson_interval(1.0, 10_000)
    assert high == 1.0 and 0.9995 < low < 1.0
    with pytest.raises(ValueError, match="Wilson"):
        model_cards.wilson_interval(1.2, 10)


def test_the_bootstrap_interval_brackets_the_auc_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.normal(0, 1, 200), rng.normal(1, 1, 200)
    large = rng.normal(0, 1, 4000), rng.normal(1, 1, 4000)
    for normal, anomalous in (small, large):
        low, high = model_cards.bootstrap_auc_interval(normal, anomalous, resamples=200)
        assert low < anomaly.roc_auc(normal, anomalous) < high
    assert np.subtract(*model_cards.bootstrap_auc_interval(*large, resamples=200)[::-1]) < \
        np.subtract(*model_cards.bootstrap_auc_interval(*small, resamples=200)[::-1])


def test_the_anomaly_models_auc_intervals_were_measured_on_its_committed_artifact(models):
    entry = models["anomaly"]
    for metric in ("roc_auc_fashion_mnist", "roc_auc_occlusion_blocks"):
        interval = model_cards.recorded_interval(entry, metric)
        assert interval is not None, f"no bootstrap interval of {metric} for the committed anomaly model: run " \
                                     f"`{model_cards.BOOTSTRAP_COMMAND}`"
        assert interval["low"] <= entry["metrics"]["values"][metric] <= interval["high"]

"""The Home page's card pictures exist and were made from the committed models (``python -m showcase.cards``)."""

import json

import pytest
from PIL import Image

from showcase import cards, manifest, paths, tasks

REGENERATE = "remake them with `python -m showcase.cards` and commit app/static/cards/"


@pytest.fixture(scope="module")
def committed():
    benchmarks = json.loads(paths.BENCHMARKS_PATH.read_text()) if paths.BENCHMARKS_PATH.exists() else {}
    return manifest.load_manifest(), benchmarks, cards.read_record()


def test_every_model_and_the_formats_page_has_a_picture(committed):
    models, benchmarks, record = committed
    expected = [name for name in tasks.names() if name in models["models"]]
    expected += [cards.FORMATS_CARD] if benchmarks.get("models") else []
    assert list(record) == expected, f"the pictures do not cover the models: {REGENERATE}"
    for name, card in record.items():
        with Image.open(cards.CARDS_DIR / card["file"]) as picture:
            assert picture.size == cards.SIZE
        assert card["alt"] and card["sources"]


def test_every_picture_was_made_from_the_committed_artifacts(committed):
    models, benchmarks, record = committed
    for name, card in record.items():
        now = cards.expected_sources(models, benchmarks, name, card["sources"])
        stale = sorted(source for source, digest in card["sources"].items() if now[source] != digest)
        assert not stale, f"the {name} picture was made from other artifacts than {', '.join(stale)}: {REGENERATE}"


def test_each_models_picture_names_that_models_served_artifact(committed):
    _, _, record = committed
    for name in tasks.names():
        if name in record:
            assert list(record[name]["sources"]) == [f"{name}/{cards.PICTURE_FORMAT}"]


def test_the_registry_words_the_manifests_headline_metric(committed):
    models, _, _ = committed
    for model in tasks.MODELS:
        if model.name in models["models"]:
            assert model.headline.metric == models["models"][model.name]["metrics"]["headline"], model.name
    assert tasks.info("gan").headline.text(0.9885) == "98.85% of generated digits read as requested"
    assert tasks.info("anomaly").headline.text(0.99951).startswith("0.9995 ROC-AUC")

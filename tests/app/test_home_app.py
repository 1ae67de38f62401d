"""AppTest: the Home page's cards follow the navigation, word each headline for people and carry their pictures."""

import pytest
from streamlit.testing.v1 import AppTest

from showcase import cards, manifest, paths, tasks

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


@pytest.fixture(scope="module")
def home() -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_cards_come_in_the_navigations_order_then_formats(home):
    models = manifest.load_manifest()["models"]
    titles = [models[model.name]["title"] for model in tasks.MODELS if model.name in models]
    assert [subheader.value for subheader in home.subheader] == [*titles, "Formats compared"]


def test_every_headline_is_worded_for_people_with_its_data(home):
    text = [block.value for block in home.markdown]
    models = manifest.load_manifest()["models"]
    for model in tasks.MODELS:
        value = models[model.name]["metrics"]["values"][model.headline.metric]
        number, words = model.headline.text(value).split(" ", 1)
        assert f"**{number}** {words}" in text
    assert any(block.startswith("**") and block.endswith("of generated digits read as requested") for block in text)
    captions = [caption.value for caption in home.caption]
    assert "MNIST, test split, n = 10,000" in captions
    assert not any("_" in block for block in text if block.startswith("**"))


def test_every_card_has_its_picture_with_a_caption(home):
    record = cards.read_record()
    images = home.get("image")
    shown = [image.proto.imgs[0].caption for image in images]
    assert shown == [record[name]["alt"] for name in [*tasks.names(), cards.FORMATS_CARD] if name in record]
    assert len(shown) == 7 and all(shown)

"""AppTest: the Digit GAN page generates reproducible grids, reads them with the Digits model, and walks the latents.

Seams used: the settings form (digit ``gan_digit``, seed ``gan_seed``, grid size ``gan_size`` and its
"Generate" button), the format picker (``gan_format``) and the walk's widgets (``gan_walk_digit``,
``gan_seed_a``, ``gan_seed_b``, ``gan_steps``). Images are read from the element tree (AppTest has no typed
accessor for st.image): each sample is one image element whose caption is the classifier's verdict.
"""


import pytest
from streamlit.testing.v1 import AppTest

from showcase import paths

ENTRY = str(paths.REPO_ROOT / "app" / "streamlit_app.py")


def open_gan_page(query: dict[str, str] | None = None) -> AppTest:
    app = AppTest.from_file(ENTRY, default_timeout=120)
    app.run()
    app.switch_page("pages/gan.py")
    for name, value in (query or {}).items():
        app.query_params[name] = value
    app.run()
    return app


def images(app: AppTest) -> list:
    """(caption, width, height-independent url) of every image on the page, grid samples first, the strip last."""
    return [image.proto.imgs[0] for image in app.get("image")]


def generate(app: AppTest, digit, seed: int, size: int) -> AppTest:
    app.selectbox(key="gan_digit").set_value(digit)
    app.number_input(key="gan_seed").set_value(seed)
    app.select_slider(key="gan_size").set_value(size)
    next(button for button in app.button if button.label == "Generate").click()
    return app.run()


def test_the_page_opens_with_a_default_grid_verdicts_a_download_and_a_walk():
    app = open_gan_page()
    assert not app.exception and not app.error
    assert app.title[0].value == "Digit GAN"
    pictures = images(app)
    assert len(pictures) == 4 * 4 + 1  # A 4×4 grid and the interpolation strip.
    assert all("reads" in picture.caption for picture in pictures[:16])
    assert "Seed 42 → seed 43" in pictures[-1].caption and "classifier reads" in pictures[-1].caption
    assert app.get("download_button")[0].label == "Download the grid (PNG)"
    assert any("Generating 16 digits took" in caption.value for caption in app.caption)


def test_a_requested_digit_is_drawn_and_read_as_that_digit():
    app = generate(open_gan_page(), 7, seed=2024, size=3)
    assert not app.exception
    captions = [picture.caption for picture in images(app)[:9]]
    assert len(captions) == 9
    assert sum(caption.startswith("✓ reads 7") for caption in captions) >= 8, captions
    assert any("generated 7s as 7" in caption.value for caption in app.caption)
    assert dict(app.query_params) == {"digit": "7", "seed": "2024", "size": "3"}


def test_the_same_seed_gives_the_same_grid():
    first = [picture.url for picture in images(generate(open_gan_page(), 3, seed=99, size=2))]
    again = [picture.url for picture in images(generate(open_gan_page(), 3, seed=99, size=2))]
    other = [picture.url for picture in images(generate(open_gan_page(), 3, seed=100, size=2))]
    # Media URLs are content hashes: the same pixels give the same URL.
    assert first == again
    assert first[:4] != other[:4]


def test_a_shared_address_restores_the_grid():
    app = open_gan_page({"digit": "5", "seed": "123", "size": "2"})
    assert not app.exception and not app.warning
    assert app.selectbox(key="gan_digit").value == 5 and app.number_input(key="gan_seed").value == 123
    assert len(images(app)) == 2 * 2 + 1


def test_a_bad_address_gets_a_warning_and_the_defaults():
    app = open_gan_page({"digit": "eleven", "seed": "-4", "size": "99"})
    assert not app.exception
    assert any("Ignored from the address" in warning.value for warning in app.warning)
    assert app.selectbox(key="gan_digit").value == "any" and len(images(app)) == 4 * 4 + 1


@pytest.mark.parametrize("query", [
    {"digit": "²"}, {"seed": "²"}, {"size": "²"}, {"seed": "1" + "0" * 5000}, {"seed": "٤٢"},
    {"digit": "7", "seed": str(2**31), "size": "3"},
])
def test_odd_digits_and_huge_numbers_in_the_address_get_a_warning_not_an_error(query):
    app = open_gan_page(query)
    assert not app.exception and not app.error
    warning = next(warning.value for warning in app.warning if "Ignored from the address" in warning.value)
    assert len(warning) < 200
    assert app.number_input(key="gan_seed").value == 42 and len(images(app)) == 1 + app.select_slider(
        key="gan_size").value ** 2


@pytest.mark.parametrize("format_name", ["onnx", "tflite_int8", "savedmodel"])
def test_every_format_generates(format_name):
    app = open_gan_page()
    app.selectbox(key="gan_format").set_value(format_name).run()
    assert not app.exception and not app.error
    assert len(images(app)) == 17


def test_the_latent_walk_follows_its_widgets():
    app = open_gan_page()
    app.selectbox(key="gan_walk_digit").set_value(4)
    app.number_input(key="gan_seed_a").set_value(10)
    app.number_input(key="gan_seed_b").set_value(20)
    app.slider(key="gan_steps").set_value(5).run()
    assert not app.exception
    strip = images(app)[-1].caption
    assert strip.startswith("Seed 10 → seed 20, digit 4.")
    assert len(strip.split("reads:")[1].split()) == 5

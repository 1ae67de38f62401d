"""Property-based fuzzing of every parser that reads a visitor's input.

Each parser gets arbitrary bytes or text plus inputs built near the valid ones (real images and CSV files
with odd cells, encodings, separators and date styles), and may only fail with the project's own typed
input errors: ValueError subclasses with a message, which the pages turn into a message on the page. Any
other exception, a bare ValueError included, fails the test with the input that caused it.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from showcase import csvfiles, imaging, runtime
from showcase import manifest as manifest_lib
from showcase.tasks import anomaly, gan, sentiment
from showcase.tasks import digits as digit_preprocessing
from showcase.tasks import flowers as flower_preprocessing
from showcase.tasks import forecast as fc

# No example database: the shared work tree stays clean, and every run starts from the same seeds.
FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INPUT_ERRORS = (imaging.ImageInputError, digit_preprocessing.EmptyImageError, sentiment.TextInputError,
                fc.PriceDataError, csvfiles.CsvError)


def only_input_errors(call, *args, **kwargs):
    """Call the parser; a typed input error with a message counts as a correct refusal (returns None)."""
    try:
        return call(*args, **kwargs)
    except INPUT_ERRORS as error:
        assert type(error) is not ValueError and str(error).strip(), f"{type(error).__name__} without a message"
        event(f"refused by {call.__name__}: {str(error)[:30]}")
        return None


# ## Images


def encoded_image(size: tuple[int, int], mode: str, image_format: str, seed: int) -> bytes:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode=mode)
    if image_format == "JPEG" and mode == "RGBA":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@st.composite
def image_bytes(draw) -> bytes:
    """Arbitrary bytes, or a real small image left whole, cut short or with a few bytes changed."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    size = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    data = encoded_image(size, draw(st.sampled_from(["L", "RGB", "RGBA"])),
                         draw(st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "WEBP"])), draw(st.integers(0, 1000)))
    damage = draw(st.sampled_from(["none", "truncate", "flip"]))
    if damage == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if damage == "flip":
        changed = bytearray(data)
        for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
            changed[position] = draw(st.integers(0, 255))
        return bytes(changed)
    return data


@FUZZ
@given(image_bytes())
def test_image_uploads_decode_or_are_refused_with_a_message(data):
    image = only_input_errors(imaging.read_image, data)
    if image is None:
        return
    assert image.mode in ("L", "RGB", "RGBA") and min(image.size) >= 1
    digit = only_input_errors(digit_preprocessing.prepare_digit, image)
    if digit is not None:
        assert digit.shape == (28, 28) and np.isfinite(digit).all()
    prepared = only_input_errors(anomaly.prepare_input, image)
    if prepared is not None:
        assert prepared[0].shape == (28, 28)
    photo = only_input_errors(flower_preprocessing.prepare_photo, data)
    assert photo is not None, "an image that decodes must give a flower view"
    assert photo[1].shape == (224, 224, 3) and np.isfinite(photo[1]).all()


# ## CSV files


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "utf-16-le"]
cells = st.text(max_size=30)


@st.composite
def csv_files(draw, columns: st.SearchStrategy) -> bytes:
    """A CSV built from drawn cells, in a drawn encoding and separator, or arbitrary bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=2048))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(cells, min_size=1, max_size=4))
    rows = draw(st.lists(st.lists(columns, min_size=len(header), max_size=len(header)), max_size=30))
    buffer = io.StringIO()
    pd.DataFrame(rows, columns=None).to_csv(buffer, sep=delimiter, index=False, header=False)
    content = delimiter.join(header) + "\n" + buffer.getvalue()
    encoding = draw(st.sampled_from(ENCODINGS))
    return content.encode(encoding, errors="replace")


@pytest.fixture(scope="module")
def sentiment_model():
    entry = manifest_lib.model_entry("sentiment")
    return runtime.load("sentiment", "tflite"), sentiment.load_vocabulary(entry)


@FUZZ
@given(data=csv_files(cells))
def test_sentiment_csv_uploads_are_scored_or_refused_with_a_message(sentiment_model, data):
    predictor, vocabulary = sentiment_model
    read = only_input_errors(sentiment.read_csv_upload, data)
    if read is None:
        return
    table, encoding = read
    assert encoding in csvfiles.ENCODINGS
    for column in sentiment.text_columns(table)[:1]:
        scored = sentiment.score_table(predictor, vocabulary, table, column).table
        assert len(scored) == min(len(table), sentiment.MAX_CSV_ROWS)
        assert set(scored["label"]) <= {"positive", "negative", ""}
        written = csv.reader(io.StringIO(csvfiles.safe_csv_bytes(scored).decode("utf-8"), newline=""))
        assert not any(cell.startswith(csvfiles.FORMULA_TRIGGERS) for row in written for cell in row)


date_cells = st.one_of(
    st.dates().map(str), *(st.dates().map(lambda d, style=style: d.strftime(style))
                           for style in ("%d/%m/%Y", "%m/%d/%y", "%d.%m.%Y", "%d %b %Y")),
    st.from_regex(r"[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}", fullmatch=True), cells,
)
price_cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str), st.floats(0.01, 1e7).map(lambda v: f"{v:,.2f}"),
    st.floats(0.01, 1e7).map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")),
    st.from_regex(r"[+-]?[$€]?[0-9.,' ]{1,20}[eE]?[0-9]{0,4}", fullmatch=True), cells,
)


@st.composite
def price_series_files(draw) -> bytes:
    """A long price file (enough rows to pass the length check) with a few cells replaced by drawn ones."""
    length = draw(st.integers(fc.LOOKBACK - 5, fc.LOOKBACK + 40))
    start = draw(st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2030-01-01").date()))
    dates = pd.bdate_range(start, periods=length)
    date_format = draw(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d %b %Y"]))
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(draw(st.integers(0, 99))).normal(0, 0.02, length)))
    decimal_comma = draw(st.booleans())
    delimiter = ";" if decimal_comma else ","
    rows = [[date.strftime(date_format), f"{price:.2f}".replace(".", "," if decimal_comma else ".")]
            for date, price in zip(dates, prices)]
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        row, column = draw(st.integers(0, length - 1)), draw(st.integers(0, 1))
        rows[row][column] = draw(date_cells if column == 0 else price_cells)
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, sep=delimiter, index=False, header=["Date", "Close"])
    return buffer.getvalue().encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@FUZZ
@given(data=st.one_of(csv_files(st.one_of(date_cells, price_cells)), price_series_files()),
       day_first=st.sampled_from([None, True, False]))
def test_price_csv_uploads_give_a_series_or_a_message(data, day_first):
    table = only_input_errors(fc.read_csv_upload, data)
    if table is None:
        return
    date_column, price_column = fc.guess_columns(table)
    fc.dates_are_ambiguous(table, date_column)
    result = only_input_errors(fc.series_from_table, table, date_column, price_column, day_first=day_first)
    if result is None:
        return
    series, notes = result
    event(f"a series, {len(notes)} note(s)")
    assert len(series) > fc.LOOKBACK and np.all(series.prices > 0) and np.all(np.isfinite(series.prices))
    assert np.all(np.diff(series.dates) > np.timedelta64(0)) and all(isinstance(note, str) for note in notes)


# ## The GAN page's address and typed text


query_values = st.one_of(st.text(max_size=12), st.from_regex(r"[0-9]{1,12}", fullmatch=True),
                         st.integers(-10, 2**40).map(str), st.just("1" + "0" * 5000),
                         st.sampled_from(["any", "²", "٣"]))


@FUZZ
@given(st.dictionaries(st.sampled_from(["digit", "seed", "size", "other"]), query_values))
def test_gan_addresses_give_valid_settings(query):
    settings_, problems = gan.settings_from_query(query)
    assert settings_["digit"] == "any" or settings_["digit"] in range(10)
    assert 0 <= settings_["seed"] <= gan.MAX_SEED and settings_["size"] in gan.GRID_SIZES
    assert all(len(problem) < 120 for problem in problems)
    gan.latent_vectors(settings_["seed"], settings_["size"] ** 2)


@FUZZ
@given(st.one_of(st.text(max_size=400), st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
                 st.lists(st.sampled_from(["good", "bad", "not", "film", "!!", "<br />", "😀", "\x00", "\u202e"]),
                          max_size=200).map(" ".join)))
def test_typed_text_is_scored_or_refused_with_a_message(sentiment_model, review):
    predictor, vocabulary = sentiment_model
    score = only_input_errors(sentiment.score_text, predictor, vocabulary, review)
    if score is None:
        return
    assert 0.0 <= score.probability <= 1.0 and score.label in ("positive", "negative")
    effects = sentiment.word_effects(predictor, vocabulary, review)
    pieces = sentiment.highlighted_pieces(review, effects)
    assert all(value is None or np.isfinite(value) for _, value in pieces)

"""The Home page's card pictures, made from the committed models: ``python -m showcase.cards``.

Each picture is a real output of a committed model (TFLite, the app's default format) on a fixed input: a digit
drawn with the canvas's strokes beside its probabilities, a flower sample and its label, a highlighted review,
a forecast, an input with its reconstruction and error map, a grid of generated digits, and the Formats page's
size against latency. ``app/static/cards/cards.json`` records, for each picture, the sha256 of every artifact it
was made from (and, for the Formats picture, a digest of the benchmark figures it plots), so that
``tests/unit/test_cards.py`` fails when a model is retrained or re-exported and the pictures are not remade.

Pictures are drawn with Pillow alone (no browser, no TensorFlow), with its bundled font, so any machine that
serves the app can remake them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from showcase import manifest as manifest_lib
from showcase import paths, runtime
from showcase.formats import FORMAT_LABELS, TFLITE

CARDS_DIR = paths.REPO_ROOT / "app" / "static" / "cards"
RECORD_PATH = CARDS_DIR / "cards.json"
FORMATS_CARD = "formats"
SIZE = (480, 240)
PICTURE_FORMAT = TFLITE
# Okabe & Ito's palette, distinguishable with every common colour-vision deficiency.
BLUE, ORANGE, SKY, GREEN, VERMILLION, PURPLE, YELLOW = (
    "#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#F0E442")
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW)
INK, GREY, PAPER = "#262730", "#9aa5b1", "#ffffff"
# The canvas strokes of a 7, in the 280×280 canvas's pixels (the browser tests draw the same one).
SEVEN_STROKES = [[(75, 55), (205, 55), (125, 240)]]
SEVEN_STROKE_WIDTH = 22


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size)


@dataclass
class Card:
    """One picture and what it was made from."""

    picture: Image.Image
    alt: str  # what the picture shows, in words: the Home page's caption and the image's alt text
    sources: dict[str, str]  # "<model>/<format>" (or "benchmarks") -> sha256 or digest


def artifact_source(entry: dict[str, Any], format_name: str = PICTURE_FORMAT) -> dict[str, str]:
    return {f"{entry['name']}/{format_name}": entry["artifacts"][format_name]["sha256"]}


def canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    picture = Image.new("RGB", SIZE, PAPER)
    return picture, ImageDraw.Draw(picture)


def bars(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], labels: Sequence[str],
         values: Sequence[float], highlight: int) -> None:
    """Horizontal bars from 0 to 1 in ``box``, one per label, the ``highlight`` one in blue, values printed."""
    left, top, right, bottom = box
    row = (bottom - top) / len(labels)
    label_font, value_font = font(max(10, min(15, int(row * 0.7)))), font(max(10, min(13, int(row * 0.6))))
    label_width = max(draw.textlength(label, font=label_font) for label in labels) + 8
    track = right - left - label_width - 48
    for index, (label, value) in enumerate(zip(labels, values)):
        y = top + index * row
        middle = y + row / 2
        draw.text((left + label_width - 8, middle), label, fill=INK, font=label_font, anchor="rm")
        x0 = left + label_width
        draw.rectangle((x0, y + row * 0.18, x0 + track, y + row * 0.82), fill="#eef0f3")
        draw.rectangle((x0, y + row * 0.18, x0 + max(1.0, track * float(value)), y + row * 0.82),
                       fill=BLUE if index == highlight else GREY)
        draw.text((x0 + track + 6, middle), f"{float(value):.0%}", fill=INK, font=value_font, anchor="lm")


def title(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int = 18) -> None:
    draw.text(xy, text, fill=INK, font=font(size))


def drawn_seven() -> Image.Image:
    """The 280×280 canvas with a 7 drawn in black on white, as the page's canvas gives it."""
    drawing = Image.new("RGB", (280, 280), PAPER)
    pen = ImageDraw.Draw(drawing)
    for stroke in SEVEN_STROKES:
        pen.line(stroke, fill="black", width=SEVEN_STROKE_WIDTH, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            radius = SEVEN_STROKE_WIDTH / 2
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill="black")
    return drawing


def digits_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import digits

    entry = manifest["models"]["digits"]
    classifier = digits.DigitClassifier(runtime.load("digits", PICTURE_FORMAT, manifest), entry)
    drawing = drawn_seven()
    result = classifier.classify(drawing)
    picture, draw = canvas()
    picture.paste(drawing.resize((220, 220)), (10, 10))
    draw.rectangle((10, 10, 229, 229), outline=GREY)
    bars(draw, (240, 10, 470, 230), entry["labels"], result.probabilities, result.digit)
    return Card(picture, f"A 7 drawn on the canvas; the Digits model reads {result.digit} with "
                f"{result.confidence:.1%} confidence (bars: every digit's probability).", artifact_source(entry))


def flowers_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import flowers

    entry = manifest["models"]["flowers"]
    classifier = flowers.FlowerClassifier(runtime.load("flowers", PICTURE_FORMAT, manifest), entry)
    path = next(path for path in flowers.sample_photos() if path.name.startswith("sunflowers"))
    result = classifier.classify(path.read_bytes())
    photo = flowers.to_rgb(Image.open(path))
    side = min(photo.size)
    photo = photo.crop(((photo.width - side) // 2, (photo.height - side) // 2,
                        (photo.width + side) // 2, (photo.height + side) // 2)).resize((220, 220))
    picture, draw = canvas()
    picture.paste(photo, (10, 10))
    title(draw, (244, 14), f"{result.label}", 22)
    draw.text((244, 42), f"{result.confidence:.1%} confident", fill=INK, font=font(14))
    bars(draw, (240, 70, 470, 230), entry["labels"], result.probabilities, int(np.argmax(result.probabilities)))
    return Card(picture, f"A validation photo of sunflowers (CC BY 2.0); the Flowers model names it {result.label} "
                f"with {result.confidence:.1%} confidence.", artifact_source(entry))


def sentiment_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import sentiment

    entry = manifest["models"]["sentiment"]
    vocabulary = sentiment.load_vocabulary(entry)
    classifier = sentiment.SentimentClassifier(runtime.load("sentiment", PICTURE_FORMAT, manifest), vocabulary, entry)
    review = sentiment.EXAMPLES["Mixed"]
    result = classifier.score(review)
    picture, draw = canvas()
    title(draw, (12, 10), f"{result.label.capitalize()}: {result.probability:.1%} positive", 20)
    text_font = font(19)
    strongest = max((abs(value) for _, value in result.pieces if value), default=1.0) or 1.0
    x, y, line_height = 12, 50, 36
    for surface, value in result.pieces:
        width = draw.textlength(surface, font=text_font)
        if x + width > SIZE[0] - 12:
            x, y = 12, y + line_height
        if value:
            rgb = sentiment.POSITIVE_RGB if value > 0 else sentiment.NEGATIVE_RGB
            alpha = 0.12 + 0.68 * abs(value) / strongest
            fill = tuple(round(255 + (channel - 255) * alpha) for channel in rgb)
            draw.rounded_rectangle((x - 2, y - 2, x + width + 2, y + 24), radius=3, fill=fill)
        draw.text((x, y), surface, fill=INK, font=text_font)
        x += width + draw.textlength(" ", font=text_font)
    legend_y = SIZE[1] - 24
    for offset, (label, rgb) in enumerate((("toward positive", sentiment.POSITIVE_RGB),
                                           ("toward negative", sentiment.NEGATIVE_RGB))):
        left = 12 + offset * 170
        draw.rectangle((left, legend_y + 3, left + 14, legend_y + 17), fill=tuple(rgb))
        draw.text((left + 20, legend_y), label, fill=INK, font=font(14))
    return Card(picture, f"A mixed review scored {result.probability:.1%} positive, each word shaded by how it "
                "pushed the score: blue toward positive, orange toward negative.", artifact_source(entry))


def line_chart(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], history: np.ndarray,
               quantiles: np.ndarray) -> None:
    """The last prices, then the forecast's median and its shaded 80% interval, on one price axis."""
    left, top, right, bottom = box
    low = float(min(history.min(), quantiles[:, 0].min()))
    high = float(max(history.max(), quantiles[:, 2].max()))
    days = len(history) + len(quantiles)

    def point(day: int, price: float) -> tuple[float, float]:
        return (left + (right - left) * day / (days - 1), bottom - (bottom - top) * (price - low) / (high - low))

    start = len(history) - 1
    band = ([point(start, history[-1])] + [point(start + 1 + i, q[2]) for i, q in enumerate(quantiles)]
            + [point(start + 1 + i, q[0]) for i, q in reversed(list(enumerate(quantiles)))])
    draw.polygon(band, fill="#fbe3c2")
    draw.line([point(i, price) for i, price in enumerate(history)], fill=BLUE, width=2)
    draw.line([point(start, history[-1])] + [point(start + 1 + i, q[1]) for i, q in enumerate(quantiles)],
              fill=VERMILLION, width=2)
    tick_font = font(12)
    for price in (low, high):
        draw.text((left - 6, point(0, price)[1]), f"{price:,.0f}", fill=INK, font=tick_font, anchor="rm")


def forecast_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import forecast

    entry = manifest["models"]["forecast"]
    forecaster = forecast.Forecaster(runtime.load("forecast", PICTURE_FORMAT, manifest), entry)
    series = forecast.builtin_series("MSFT")
    result = forecaster.forecast(series, forecast.HORIZON, backtest=False)
    picture, draw = canvas()
    title(draw, (12, 8), "MSFT: 30 trading days ahead", 17)
    line_chart(draw, (52, 40, 468, 210), series.prices[-120:], result.quantiles)
    legend = (("history", BLUE), ("median forecast", VERMILLION), ("80% interval", "#fbe3c2"))
    x = 52
    for label, colour in legend:
        draw.rectangle((x, 220, x + 14, 232), fill=colour)
        draw.text((x + 20, 219), label, fill=INK, font=font(13))
        x += 30 + draw.textlength(label, font=font(13))
    return Card(picture, f"The last 120 trading days of MSFT to {result.last_date} and the model's 30-day forecast: "
                f"median {result.median:,.2f}, 80% interval {result.interval[0]:,.2f} to {result.interval[1]:,.2f}.",
                artifact_source(entry))


def anomaly_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import anomaly

    entry = manifest["models"]["anomaly"]
    detector = anomaly.AnomalyDetector(runtime.load("anomaly", PICTURE_FORMAT, manifest), entry)
    picture, draw = canvas()
    headings = ("input", "reconstruction", "error")
    for column, heading in enumerate(headings):
        draw.text((130 + column * 116 + 50, 4), heading, fill=INK, font=font(14), anchor="mt")
    verdicts = []
    for row, (label, path) in enumerate(list(anomaly.sample_choices().items())[:2]):
        result = detector.score(Image.open(path))
        verdict = "anomaly" if result.anomaly else "digit"
        verdicts.append(f"{'flagged as an anomaly' if result.anomaly else 'passed as a digit'} (score "
                        f"{result.score / result.threshold:.1f} times the threshold)")
        y = 24 + row * 108
        draw.text((8, y + 24), "a digit" if row == 0 else "clothing", fill=INK, font=font(15))
        draw.text((8, y + 48), f"score {result.score / result.threshold:.1f} x", fill=INK, font=font(13))
        draw.text((8, y + 66), "the threshold", fill=INK, font=font(13))
        draw.text((8, y + 84), verdict, fill=VERMILLION if result.anomaly else BLUE, font=font(13))
        tiles = (anomaly.picture(result.image, 100), anomaly.picture(result.reconstruction, 100),
                 anomaly.picture(result.heat_map(), 100))
        for column, tile in enumerate(tiles):
            picture.paste(tile.convert("RGB"), (130 + column * 116, y))
    return Card(picture, "An MNIST test digit and a Fashion-MNIST test image, each with the autoencoder's "
                f"reconstruction and squared-error map: the digit is {verdicts[0]}, the clothing {verdicts[1]}.",
                artifact_source(entry))


def gan_card(manifest: dict[str, Any]) -> Card:
    from showcase.tasks import gan

    entry = manifest["models"]["gan"]
    generator = gan.DigitGenerator(runtime.load("gan", PICTURE_FORMAT, manifest))
    latents = gan.latent_vectors(42, 20)
    images = gan.to_images(generator.generator.predict(gan.generator_input(latents, np.tile(np.arange(10), 2))))
    grid = gan.image_grid(images, columns=10, scale=1, padding=2)
    tile = Image.fromarray(grid).resize((460, round(460 * grid.shape[0] / grid.shape[1])), Image.Resampling.NEAREST)
    picture, draw = canvas()
    picture.paste(tile.convert("RGB"), (10, (SIZE[1] - tile.height) // 2))
    return Card(picture, "Twenty digits drawn by the conditional GAN, 0 to 9 twice (seed 42).", artifact_source(entry))


def formats_points(manifest: dict[str, Any], benchmarks: dict[str, Any]) -> list[dict[str, Any]]:
    """The benchmark's size and p50 of every model × format, as the Formats page's chart plots them."""
    from showcase import format_report

    table = format_report.rows(benchmarks, manifest)
    return [{"model": row["model"], "format": row["format"], "size_mb": round(float(row["size (MB)"]), 6),
             "p50_ms": round(float(row["p50 (ms)"]), 6)} for row in table.to_dict("records")]


def points_digest(points: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(points, sort_keys=True).encode()).hexdigest()


def formats_card(manifest: dict[str, Any], benchmarks: dict[str, Any]) -> Card:
    points = formats_points(manifest, benchmarks)
    picture, draw = canvas()
    left, top, right, bottom = 54, 12, 470, 200
    sizes = [point["size_mb"] for point in points]
    latencies = [point["p50_ms"] for point in points]
    x_range = (math.log10(min(sizes)) - 0.1, math.log10(max(sizes)) + 0.1)
    y_range = (math.log10(min(latencies)) - 0.1, math.log10(max(latencies)) + 0.1)

    def place(size: float, latency: float) -> tuple[float, float]:
        x = left + (right - left) * (math.log10(size) - x_range[0]) / (x_range[1] - x_range[0])
        y = bottom - (bottom - top) * (math.log10(latency) - y_range[0]) / (y_range[1] - y_range[0])
        return x, y

    draw.line((left, top, left, bottom, right, bottom), fill=GREY)
    models = list(dict.fromkeys(point["model"] for point in points))
    colours = {model: PALETTE[index % len(PALETTE)] for index, model in enumerate(models)}
    for point in points:
        x, y = place(point["size_mb"], point["p50_ms"])
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=colours[point["model"]], outline="white")
    small = font(12)
    draw.text(((left + right) / 2, bottom + 4), "file size (MB, log scale)", fill=INK, font=small, anchor="mt")
    draw.text((4, top), "p50 (ms,", fill=INK, font=small)
    draw.text((4, top + 14), "log)", fill=INK, font=small)
    x = left
    for model in models:
        draw.ellipse((x, 223, x + 10, 233), fill=colours[model])
        draw.text((x + 14, 221), model, fill=INK, font=small)
        x += 24 + draw.textlength(model, font=small)
    formats = sorted({point["format"] for point in points}, key=list(FORMAT_LABELS).index)
    return Card(picture, f"File size against batch-1 p50 latency of {len(models)} models in {len(formats)} formats, "
                "both axes logarithmic, one colour per model.", {"benchmarks": points_digest(points)})


MODEL_CARDS: dict[str, Callable[[dict[str, Any]], Card]] = {
    "digits": digits_card, "flowers": flowers_card, "sentiment": sentiment_card, "forecast": forecast_card,
    "anomaly": anomaly_card, "gan": gan_card,
}


def picture_path(name: str) -> Path:
    return CARDS_DIR / f"{name}.png"


def read_record(path: Path = RECORD_PATH) -> dict[str, Any]:
    """The record of the committed pictures: per card, its file, alt text and sources; {} before the first run."""
    return json.loads(path.read_text()) if path.exists() else {}


def expected_sources(manifest: dict[str, Any], benchmarks: dict[str, Any], name: str,
                     recorded: dict[str, str]) -> dict[str, str]:
    """What each recorded source of a card is now: the manifest's sha256, or the benchmark points' digest."""
    current = {}
    for source in recorded:
        if source == "benchmarks":
            current[source] = points_digest(formats_points(manifest, benchmarks))
        else:
            model_name, format_name = source.split("/")
            current[source] = manifest["models"].get(model_name, {}).get("artifacts", {}).get(
                format_name, {}).get("sha256", "missing")
    return current


def make_cards(manifest: dict[str, Any], benchmarks: dict[str, Any], output: Path = CARDS_DIR) -> dict[str, Any]:
    """Draw every card whose model (or benchmark) exists, save the PNGs and the record; returns the record."""
    output.mkdir(parents=True, exist_ok=True)
    cards = {name: make(manifest) for name, make in MODEL_CARDS.items() if name in manifest["models"]}
    if benchmarks.get("models"):
        cards[FORMATS_CARD] = formats_card(manifest, benchmarks)
    record = {}
    for name, card in cards.items():
        card.picture.save(output / f"{name}.png", optimize=True)
        record[name] = {"file": f"{name}.png", "alt": card.alt, "sources": card.sources}
    (output / RECORD_PATH.name).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m showcase.cards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=CARDS_DIR, help="folder for the PNGs and cards.json")
    args = parser.parse_args(argv)
    benchmarks = json.loads(paths.BENCHMARKS_PATH.read_text()) if paths.BENCHMARKS_PATH.exists() else {}
    record = make_cards(manifest_lib.load_manifest(), benchmarks, args.output)
    for name, card in record.items():
        print(f"{args.output / card['file']}: {card['alt']}")


if __name__ == "__main__":
    main()

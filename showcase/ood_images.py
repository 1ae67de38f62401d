"""Images that are not flowers: the out-of-distribution evaluation set of the Flowers page.

Two parts, each kind named so that figures can be reported per kind:

- **photos**: real photographs of other things (an astronaut, a cat, coffee, coins, a rocket, a street, a
  page of text, textures, microscopy, ...), small copies committed under ``samples/ood/`` by
  ``training/build_ood_photos.py`` from packages with public-domain, CC0 or CC BY images; each file's source and
  licence are in ``samples/ood/CREDITS.md``;
- **synthetic** images made here, deterministic for a seed: noise, flat colours, gradients, rendered text, a
  screenshot-like layout; and MNIST and Fashion-MNIST images upscaled (from the local datasets, when present).

Every image is returned as PNG or JPEG bytes, as a visitor would upload it.

The Digits and Anomaly pages use the same set as images that are not one handwritten digit (MNIST upscaled
aside), with ``scribble``, a scribble covering the drawing canvas; and, as digits that must still be read,
``canvas_drawing`` (an MNIST digit redrawn as the canvas holds it) and ``digit_photo`` (an MNIST digit written in
dark ink on paper and photographed: paper tint, uneven light, noise, blur, JPEG).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from showcase import paths

PHOTO_DIR = paths.SAMPLES_DIR / "ood"
SIDE = 320
SYNTHETIC_KINDS = ("noise", "flat", "gradient", "text", "screenshot")
_TEXT = ("The quick brown fox jumps over the lazy dog. Invoice 2024-117: total due 1,284.50 EUR. "
         "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.")


def encoded(image: Image.Image, format_name: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def photo_paths(directory: Path = PHOTO_DIR) -> list[Path]:
    """The committed photos that are not flowers, named ``<source>_<subject>.jpg``."""
    return sorted(directory.glob("*.jpg"))


def photos(directory: Path = PHOTO_DIR) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in photo_paths(directory)}


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def noise(rng: np.random.Generator) -> Iterator[Image.Image]:
    yield Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8))
    yield Image.fromarray(rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8))
    yield Image.fromarray(np.clip(rng.normal(128, 40, (SIDE, SIDE, 3)), 0, 255).astype(np.uint8))
    coarse = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    yield Image.fromarray(coarse).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    yield Image.fromarray(np.where(rng.random((SIDE, SIDE)) < 0.5, 0, 255).astype(np.uint8))


def flat(rng: np.random.Generator) -> Iterator[Image.Image]:
    for colour in ((0, 0, 0), (255, 255, 255), (128, 128, 128), (220, 30, 30), (30, 160, 40), (30, 60, 200),
                   (250, 220, 40), (255, 140, 200)):
        yield Image.new("RGB", (SIDE, SIDE), colour)


def gradient(rng: np.random.Generator) -> Iterator[Image.Image]:
    ramp = np.linspace(0, 1, SIDE)
    rows, cols = np.meshgrid(ramp, ramp, indexing="ij")
    radial = np.clip(np.hypot(rows - 0.5, cols - 0.5) * 1.6, 0, 1)
    for field in (cols, rows, (rows + cols) / 2, radial, 1 - radial):
        low, high = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        yield Image.fromarray((low + field[..., None] * (high - low)).astype(np.uint8))


def text(rng: np.random.Generator) -> Iterator[Image.Image]:
    for size, (ink, paper) in zip((14, 20, 28, 40), (("black", "white"), ("navy", "ivory"),
                                                     ("white", "black"), ("black", "lightyellow"))):
        image = Image.new("RGB", (SIDE, SIDE), paper)
        draw = ImageDraw.Draw(image)
        words, line, top = _TEXT.split(), "", 8
        for word in words:
            if draw.textlength(f"{line} {word}", font=font(size)) > SIDE - 16:
                draw.text((8, top), line, fill=ink, font=font(size))
                line, top = word, top + int(size * 1.3)
            else:
                line = f"{line} {word}".strip()
        draw.text((8, top), line, fill=ink, font=font(size))
        yield image


def screenshot(rng: np.random.Generator) -> Iterator[Image.Image]:
    for theme in (("white", "#f0f2f6", "#31333f"), ("#0e1117", "#262730", "#fafafa")):
        paper, panel, ink = theme
        image = Image.new("RGB", (SIDE * 2, SIDE), paper)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, 150, SIDE), fill=panel)
        for row in range(6):
            draw.text((12, 20 + row * 28), f"Menu item {row + 1}", fill=ink, font=font(14))
            draw.rectangle((180, 30 + row * 45, 180 + int(rng.integers(120, 440)), 50 + row * 45), fill=panel)
        draw.text((180, 5), "Dashboard", fill=ink, font=font(18))
        yield image


def synthetic(seed: int = 0) -> dict[str, list[bytes]]:
    """Each synthetic kind's images as PNG bytes, the same for the same seed."""
    rng = np.random.default_rng(seed)
    makers = {"noise": noise, "flat": flat, "gradient": gradient, "text": text, "screenshot": screenshot}
    return {kind: [encoded(image) for image in makers[kind](rng)] for kind in SYNTHETIC_KINDS}


def upscaled(images: np.ndarray, count: int, seed: int = 0, side: int = SIDE) -> list[bytes]:
    """``count`` of 28×28 uint8 images (MNIST or Fashion-MNIST, white on black) enlarged to ``side``, as PNG."""
    chosen = np.random.default_rng(seed).choice(len(images), count, replace=False)
    return [encoded(Image.fromarray(images[i]).resize((side, side), Image.Resampling.BICUBIC)) for i in chosen]


# ## Digits drawn and photographed, and a scribble

CANVAS_SIDE = 280


def _canvas(alpha: Image.Image) -> np.ndarray:
    """Black strokes on a transparent 280×280 field, as the drawing canvas hands them over (RGBA)."""
    rgba = np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), dtype=np.uint8)
    rgba[..., 3] = np.asarray(alpha)
    return rgba


def canvas_drawing(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28×28 MNIST digit redrawn on the canvas: solid strokes of a random width, anti-aliased, at a random size
    and place (RGBA, ink in the alpha channel)."""
    size = int(rng.integers(120, CANVAS_SIDE - 19))
    enlarged = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC))
    strokes = Image.fromarray(np.where(enlarged > 100, 255, 0).astype(np.uint8))
    change = int(rng.integers(-2, 3))
    for _ in range(abs(change)):
        strokes = strokes.filter(ImageFilter.MaxFilter(5) if change > 0 else ImageFilter.MinFilter(3))
    alpha = Image.new("L", (CANVAS_SIDE, CANVAS_SIDE), 0)
    top, left = (int(value) for value in rng.integers(0, CANVAS_SIDE - size + 1, 2))
    alpha.paste(strokes.filter(ImageFilter.GaussianBlur(1)), (left, top))
    return _canvas(alpha)


def scribble(rng: np.random.Generator, width: int = 22) -> np.ndarray:
    """Strokes back and forth over the whole canvas at its default stroke width (RGBA)."""
    alpha = Image.new("L", (CANVAS_SIDE, CANVAS_SIDE), 0)
    points = [tuple(int(value) for value in rng.integers(0, CANVAS_SIDE, 2)) for _ in range(int(rng.integers(25, 60)))]
    ImageDraw.Draw(alpha).line(points, fill=255, width=width, joint="curve")
    return _canvas(alpha)


def digit_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A 28×28 MNIST digit written large in dark ink (black, blue or grey) on tinted paper and photographed:
    light falling off across the page, sensor noise, a little blur, JPEG at quality 60-95."""
    width = int(rng.integers(200, 900))
    height = int(width * rng.uniform(0.8, 1.3))
    size = int(min(width, height) * rng.uniform(0.4, 0.85))
    written = np.zeros((height, width), dtype=np.float64)
    top, left = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    written[top:top + size, left:left + size] = np.asarray(
        Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float64) / 255
    paper = rng.uniform(200, 250) - np.array([0.0, rng.uniform(0, 12), rng.uniform(0, 30)])
    ink = np.array([(20, 20, 25), (30, 40, 120), (60, 60, 60)])[rng.integers(0, 3)] + rng.uniform(0, 30)
    rows, cols = np.mgrid[0:height, 0:width]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * cols / width + np.sin(angle) * rows / height
    light = 1 - rng.uniform(0, 0.35) * (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    pixels = (paper * (1 - written[..., None]) + ink * written[..., None]) * light[..., None]
    pixels += rng.normal(0, rng.uniform(1, 8), pixels.shape)
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return encoded(photo.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5))), "JPEG",
                   quality=int(rng.integers(60, 96)))

"""Images that are not flowers: the out-of-distribution evaluation set of the Flowers page.

Two parts, each kind named so that figures can be reported per kind:

- **photos**: real photographs of other things (an astronaut, a cat, coffee, coins, a rocket, a street, a
  page of text, textures, microscopy, ...), small copies committed under ``samples/ood/`` by
  ``training/build_ood_photos.py`` from packages with public-domain, CC0 or CC BY images; each file's source and
  licence are in ``samples/ood/CREDITS.md``;
- **synthetic** images made here, deterministic for a seed: noise, flat colours, gradients, rendered text, a
  screenshot-like layout; and MNIST and Fashion-MNIST images upscaled (from the local datasets, when present).

Every image is returned as PNG or JPEG bytes, as a visitor would upload it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from showcase import paths

PHOTO_DIR = paths.SAMPLES_DIR / "ood"
SIDE = 320
SYNTHETIC_KINDS = ("noise", "flat", "gradient", "text", "screenshot")
_TEXT = ("The quick brown fox jumps over the lazy dog. Invoice 2024-117: total due 1,284.50 EUR. "
         "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt.")


def encoded(image: Image.Image, format_name: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name)
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

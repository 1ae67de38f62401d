"""Safe decoding of images that visitors upload.

Uploads are only ever decoded by Pillow as images, never executed or unpickled. Every failure becomes an
``ImageInputError`` (a ``ValueError``) with a message fit to show on the page: empty files, non-image
bytes, truncated files, formats we do not accept, and images so large that decoding them would exhaust
memory (decompression bombs).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
# 40 megapixels covers every phone camera; an RGBA image this size decodes to 160 MB.
MAX_PIXELS = 40_000_000
# Large JPEGs are decoded at a reduced scale straight away (libjpeg's draft mode) to bound memory.
JPEG_DRAFT_SIZE = (2048, 2048)


class ImageInputError(ValueError):
    """The uploaded bytes are not an image we can use; the message says why, for the visitor."""


def read_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode uploaded bytes into an upright image in mode ``L``, ``RGB`` or ``RGBA``."""
    if not data:
        raise ImageInputError("The file is empty.")
    try:
        with warnings.catch_warnings():
            # Opening reads only the header; the size check below gives the visitor a better message
            # than Pillow's own decompression-bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageInputError(
            f"This file is not an image we can read. Upload one of: {', '.join(ACCEPTED_FORMATS)}."
        ) from None
    except Image.DecompressionBombError:
        raise ImageInputError(
            f"This image is too large to decode safely (over {max_pixels / 1e6:.0f} MP). Please upload a smaller one."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        # A header cut short or with a broken chunk (Pillow raises OSError or ValueError while opening).
        raise ImageInputError(f"This image file is damaged or truncated ({error}).") from None
    if image.format not in ACCEPTED_FORMATS:
        raise ImageInputError(
            f"{image.format} images are not supported. Upload one of: {', '.join(ACCEPTED_FORMATS)}."
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ImageInputError(
            f"This image is {width}×{height} pixels ({width * height / 1e6:.0f} MP); the limit is "
            f"{max_pixels / 1e6:.0f} MP. Please upload a smaller image."
        )
    if image.format == "JPEG":
        image.draft("RGB", JPEG_DRAFT_SIZE)
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"This image file is damaged or truncated ({error}).") from None
    return to_standard_mode(image)


def to_standard_mode(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode (palette, CMYK, 16-bit, 1-bit, ...) to ``L``, ``RGB`` or ``RGBA``."""
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        # Deep grayscale: stretch its own range onto 8 bits rather than clipping at 255.
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    if image.mode in ("1", "LA") and "transparency" not in image.info:
        return image.convert("LA").convert("RGBA") if image.mode == "LA" else image.convert("L")
    has_alpha = image.mode in ("PA", "LA", "RGBa") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")

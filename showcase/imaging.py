"""Safe decoding of images that visitors upload.

Uploads are only ever decoded by Pillow as images, never executed or unpickled. Every failure becomes an
``ImageInputError`` (a ``ValueError``) with a message fit to show on the page: empty files, non-image
bytes, truncated files, formats we do not accept, and images so large that decoding them would exhaust
memory (decompression bombs).
"""

from __future__ import annotations

import ctypes
import io
import math
import warnings

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
# 40 megapixels covers every phone camera; an RGBA image this size decodes to 160 MB.
MAX_PIXELS = 40_000_000
# No page needs more detail than this (flowers use 224 px, digits 20 px), so larger uploads are reduced to
# it while they are decoded: JPEGs by libjpeg's draft mode, others by averaging bands of rows.
WORKING_SIDE = 2048
# Images with more pixels than this are reduced band by band, each band this many bytes at most.
BAND_BYTES = 8 * 2**20
# After decoding an image this large, freed memory is handed back to the operating system.
LARGE_DECODE_PIXELS = 4_000_000
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageInputError(ValueError):
    """The uploaded bytes are not an image we can use; the message says why, for the visitor."""


def read_image(data: bytes, max_pixels: int = MAX_PIXELS, max_side: int = WORKING_SIDE) -> Image.Image:
    """Decode uploaded bytes into an upright image in mode ``L``, ``RGB`` or ``RGBA``.

    An image whose longer side exceeds ``max_side`` comes back reduced (by an integer factor, pixels
    averaged) so that it fits; ``info["original_size"]`` keeps the uploaded size.
    """
    image = open_image(data, max_pixels)
    original_size = image.size
    try:
        decoded = decode_reduced(image, max_side)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"This image file is damaged or truncated ({error}).") from None
    finally:
        del image
        if original_size[0] * original_size[1] > LARGE_DECODE_PIXELS:
            release_freed_memory()
    decoded.info["original_size"] = original_size
    return decoded


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Read the header only; refuse what is not an accepted image or is over ``max_pixels``."""
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
    return image


def decode_reduced(image: Image.Image, max_side: int) -> Image.Image:
    """Decode an opened image at most ``max_side`` pixels on its longer side, upright, in a standard mode."""
    if image.format == "JPEG":
        # Ask libjpeg for the smallest power-of-two scale that still leaves the longer side >= max_side.
        longer = max(image.size)
        image.draft("RGB", tuple(max(1, math.ceil(side * max_side / longer)) for side in image.size))
    image.load()
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    reduced = reduce_in_bands(image, math.ceil(max(image.size) / max_side))
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    # A plain copy, detached from the uploaded bytes, with the orientation already applied.
    if method is not None:
        upright = reduced.transpose(method)
    else:
        upright = image.copy() if reduced is image else reduced
    for key in ("exif", "xmp", "XML:com.adobe.xmp"):
        upright.info.pop(key, None)
    return upright


def reduce_in_bands(image: Image.Image, factor: int) -> Image.Image:
    """``to_standard_mode(image).reduce(factor)``, without a full-size converted copy.

    Bands of rows (a multiple of ``factor`` high) are converted and reduced one at a time, so the result is
    the same as reducing the whole image at once while the extra memory stays within ``BAND_BYTES``.
    """
    value_range = image.getextrema() if image.mode in DEEP_GRAY_MODES else None
    if factor <= 1 and image.mode in ("L", "RGB", "RGBA"):
        return image
    width, height = image.size
    rows = max(factor, BAND_BYTES // (4 * width) // factor * factor)
    reduced = None
    for top in range(0, height, rows):
        band = to_standard_mode(image.crop((0, top, width, min(height, top + rows))), value_range)
        band = band.reduce(factor) if factor > 1 else band
        if reduced is None:
            reduced = Image.new(band.mode, (math.ceil(width / factor), math.ceil(height / factor)))
        reduced.paste(band, (0, top // factor))
    return reduced


DEEP_GRAY_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")


def to_standard_mode(image: Image.Image, value_range: tuple[float, float] | None = None) -> Image.Image:
    """Convert any Pillow mode (palette, CMYK, 16-bit, 1-bit, ...) to ``L``, ``RGB`` or ``RGBA``.

    Deep grayscale is stretched from ``value_range`` (its own minimum and maximum when not given) onto 8 bits.
    """
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode in DEEP_GRAY_MODES:
        # Deep grayscale: stretch its range onto 8 bits rather than clipping at 255.
        values = np.asarray(image, dtype=np.float64)
        low, high = value_range or (float(values.min()), float(values.max()))
        scaled = (values - low) / (high - low) * 255 if high > low else np.zeros_like(values)
        return Image.fromarray(scaled.round().astype(np.uint8), mode="L")
    if image.mode in ("1", "LA") and "transparency" not in image.info:
        return image.convert("LA").convert("RGBA") if image.mode == "LA" else image.convert("L")
    has_alpha = image.mode in ("PA", "LA", "RGBa") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def release_freed_memory() -> None:
    """Hand memory freed by a large decode back to the operating system (a no-op without glibc).

    glibc keeps freed blocks in its per-thread arenas, so after a large decode in a server thread the process
    would otherwise stay at its peak size long after the image is gone.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)

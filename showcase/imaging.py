"""Safe decoding of images that visitors upload.

Uploads are only ever decoded by Pillow as images, never executed or unpickled. Every failure becomes an
``ImageInputError`` (a ``ValueError``) with a message fit to show on the page: empty files, non-image
bytes, truncated files, formats we do not accept, and images so large that decoding them would exhaust
memory (decompression bombs).

Large images are reduced while they are decoded, so that no upload is ever held at full size as a second
copy, or as floats: see docs/hosting.md, "Memory per upload", for how and for the measurements.
"""

from __future__ import annotations

import ctypes
import io
import math
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from showcase.png_bands import decode_bands, read_layout

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
# 40 megapixels covers every phone camera; an RGBA image this size decodes to 160 MB.
MAX_PIXELS = 40_000_000
# No page needs more detail than this (flowers use 224 px, digits 20 px), so larger uploads are reduced to
# it, by an integer factor, while they are decoded: JPEGs by libjpeg's draft mode, PNGs band by band as
# they are inflated (showcase.png_bands), other formats by averaging bands of rows of the decoded image.
WORKING_PIXELS = 2048 * 2048
# PNG rows are decoded whole, so a side longer than JPEG's own limit would defeat decoding in bands.
MAX_SIDE = 65_535
# Pillow decodes WebP through libwebp's animation decoder, which cannot scale and holds several full-size
# RGBA canvases: about 15 bytes per pixel, allocated as soon as the file is opened. This admits a 4K
# (3840×2160) WebP.
WEBP_MAX_PIXELS = 8_300_000
# Images are converted and reduced in bands of rows of about this many bytes.
BAND_BYTES = 2 * 2**20
# Grayscale modes deeper than 8 bits, stretched onto 8 bits by their value range.
DEEP_GRAY_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")
# After decoding an image this large, freed memory is handed back to the operating system, at once and
# again this many seconds later.
LARGE_DECODE_PIXELS = 4_000_000
RELEASE_DELAY_S = 5.0
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


def read_image(data: bytes, max_pixels: int = MAX_PIXELS, working_pixels: int = WORKING_PIXELS) -> Image.Image:
    """Decode uploaded bytes into an upright image in mode ``L``, ``RGB`` or ``RGBA``.

    An image of more than ``working_pixels`` pixels comes back reduced by an integer factor (pixels
    averaged) so that it fits; ``info["original_size"]`` keeps the uploaded size.
    """
    image = open_image(data, max_pixels)
    original_size = image.size
    try:
        decoded = decode_reduced(image, data, working_pixels)
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInputError(f"This image file is damaged or truncated ({error}).") from None
    finally:
        del image
        if original_size[0] * original_size[1] > LARGE_DECODE_PIXELS:
            release_freed_memory()
            release_freed_memory_later()
    decoded.info["original_size"] = original_size
    return decoded


def open_image(data: bytes, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Read the header only; refuse what is not an accepted image or is over ``max_pixels``."""
    if not data:
        raise ImageInputError("The file is empty.")
    refuse_large_webp(data)
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
    if max(width, height) > MAX_SIDE:
        raise ImageInputError(
            f"This image is {width}×{height} pixels; sides longer than {MAX_SIDE:,} pixels are not supported. "
            "Please crop or resize it."
        )
    return image


def refuse_large_webp(data: bytes) -> None:
    """Refuse a WebP over ``WEBP_MAX_PIXELS`` from its header, before Pillow allocates its canvas."""
    size = webp_size(data)
    if size is not None and size[0] * size[1] > WEBP_MAX_PIXELS:
        raise ImageInputError(
            f"This WebP image is {size[0]}×{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} MP); WebP images are "
            f"limited to {WEBP_MAX_PIXELS / 1e6:.1f} MP. Please upload it as a PNG or JPEG, or a smaller WebP."
        )


def webp_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a WebP file's first chunk (VP8X, VP8L or VP8); ``None`` if it is not one."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None


def reduction_factor(size: tuple[int, int], working_pixels: int = WORKING_PIXELS) -> int:
    """The smallest integer factor that brings an image of ``size`` down to ``working_pixels`` or fewer."""
    return max(1, math.ceil(math.sqrt(size[0] * size[1] / working_pixels)))


def decode_reduced(image: Image.Image, data: bytes, working_pixels: int) -> Image.Image:
    """Decode an opened image reduced to ``working_pixels`` or fewer, upright, in a standard mode."""
    factor = reduction_factor(image.size, working_pixels)
    if image.format == "PNG" and factor > 1:
        reduced = _reduced_png(image, data, factor)
        if reduced is not None:
            return reduced
    if image.format == "JPEG" and factor > 1:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale: the smallest that still leaves the working size.
        image.draft("RGB", tuple(max(1, math.ceil(side / factor)) for side in image.size))
        factor = reduction_factor(image.size, working_pixels)
    image.load()
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    if factor <= 1 and image.mode in ("L", "RGB", "RGBA"):
        # A plain copy, detached from the uploaded bytes.
        reduced = image.copy()
    else:
        reduced = reduce_in_bands(_crops(image, factor), image.size, factor, _value_range(image))
    return upright(reduced, orientation)


def _reduced_png(image: Image.Image, data: bytes, factor: int) -> Image.Image | None:
    """A large PNG decoded band by band (``None`` for a layout ``png_bands`` does not handle)."""
    layout = read_layout(data)
    if layout is None or (layout.width, layout.height) != image.size:
        return None
    bands = decode_bands(layout, _band_rows(image.width, factor))
    orientation = 1
    if layout.exif:
        exif = Image.Exif()
        exif.load(layout.exif)
        orientation = exif.get(ExifTags.Base.Orientation, 1)
    try:
        return upright(reduce_in_bands(bands, image.size, factor), orientation)
    except zlib.error as error:
        raise ValueError(f"compressed pixel data: {error}") from None


def _crops(image: Image.Image, factor: int) -> Iterator[Image.Image]:
    rows = _band_rows(image.width, factor)
    for top in range(0, image.height, rows):
        yield image.crop((0, top, image.width, min(image.height, top + rows)))


def _band_rows(width: int, factor: int) -> int:
    """Rows per band: a multiple of ``factor``, about ``BAND_BYTES`` of 4-byte pixels."""
    return max(factor, BAND_BYTES // (4 * width) // factor * factor)


def _value_range(image: Image.Image) -> tuple[float, float] | None:
    return image.getextrema() if image.mode in DEEP_GRAY_MODES else None


def reduce_in_bands(bands: Iterable[Image.Image], size: tuple[int, int], factor: int,
                    value_range: tuple[float, float] | None = None) -> Image.Image:
    """``to_standard_mode(image).reduce(factor)`` for an image given as bands of rows, top to bottom.

    Each band (a multiple of ``factor`` high, except the last) is converted and reduced on its own, so the
    result is the same as reducing the whole image at once, without a full-size converted copy.
    """
    width, height = size
    reduced, top = None, 0
    for band in bands:
        small = to_standard_mode(band, value_range)
        small = small.reduce(factor) if factor > 1 else small
        if reduced is None:
            reduced = Image.new(small.mode, (math.ceil(width / factor), math.ceil(height / factor)))
        reduced.paste(small, (0, top // factor))
        top += band.height
    return reduced


def upright(image: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation, and drop the metadata that would have it applied again."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        image = image.transpose(method)
    for key in ("exif", "xmp", "XML:com.adobe.xmp"):
        image.info.pop(key, None)
    return image



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


_later = {"timer": None}
_later_lock = threading.Lock()


def release_freed_memory_later(delay: float | None = None) -> None:
    """``release_freed_memory`` once more, ``delay`` (default ``RELEASE_DELAY_S``) seconds from now, in a
    background thread.

    What a page does after decoding an upload (its display copy, the prediction) is freed only when its run
    ends; this catches that too. Calls while one is pending share it.
    """
    if _MALLOC_TRIM is None:
        return
    with _later_lock:
        if _later["timer"] is not None:
            return
        timer = threading.Timer(RELEASE_DELAY_S if delay is None else delay, _release_now_and_clear)
        timer.daemon = True
        _later["timer"] = timer
    timer.start()


def _release_now_and_clear() -> None:
    with _later_lock:
        _later["timer"] = None
    release_freed_memory()

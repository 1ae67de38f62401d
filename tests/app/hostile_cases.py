"""Hostile inputs for tests/app/test_hostile_inputs.py: odd images, texts, CSVs and query strings, built in memory.

Every builder is deterministic and small (the largest file is a few hundred kB), so the suite stays quick.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from showcase import paths

RNG_SEED = 0


def encode(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def mnist_seven() -> Image.Image:
    """A real MNIST test digit from the committed samples: the control that every image page must accept."""
    path = sorted((paths.SAMPLES_DIR / "digits").glob("7_*.png"))[0]
    return Image.open(path).convert("L")


def dark_digit_on_white(size: int = 280) -> Image.Image:
    """A black digit-like stroke on white paper, as a photo of handwriting would look."""
    seven = mnist_seven().resize((size, size), Image.Resampling.BILINEAR)
    return Image.fromarray(255 - np.asarray(seven))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that announces a huge grey image but holds no pixels: what a decompression bomb looks like."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b"")


def animated_gif() -> bytes:
    first = dark_digit_on_white(112).convert("P")
    second = Image.new("L", (112, 112), 255).convert("P")
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def cmyk_jpeg() -> bytes:
    return encode(dark_digit_on_white(112).convert("CMYK"), "JPEG", quality=90)


def sixteen_bit_png() -> bytes:
    pixels = (np.asarray(dark_digit_on_white(112), dtype=np.uint16) * 257).astype(np.uint16)
    return encode(Image.fromarray(pixels), "PNG")


def palette_with_transparency() -> bytes:
    image = dark_digit_on_white(112).convert("P")
    return encode(image, "PNG", transparency=255)


def transparent_rgba() -> bytes:
    return encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")


def exif_rotated_jpeg() -> bytes:
    """A digit stored sideways with EXIF orientation 6 (display rotated 90° clockwise)."""
    image = dark_digit_on_white(112).rotate(90, expand=True).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, "JPEG", exif=exif.tobytes(), quality=90)


def noise_png(width: int = 128, height: int = 128) -> bytes:
    rng = np.random.default_rng(RNG_SEED)
    return encode(Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)), "PNG")


def flower_photo() -> bytes:
    path = sorted((paths.SAMPLES_DIR / "flowers").glob("*.jpg"))[0]
    return path.read_bytes()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def random_bytes(count: int = 4096) -> bytes:
    return np.random.default_rng(RNG_SEED).integers(0, 256, count, dtype=np.uint8).tobytes()


# Each image case: (id, file name, builder). What each page must answer is in test_hostile_inputs.py.
IMAGE_CASES = {
    "empty_file": ("empty.png", lambda: b""),
    "random_bytes": ("random.png", random_bytes),
    "text_renamed_png": ("notes.png", lambda: b"These are my shopping notes, not a picture.\n" * 20),
    "html_renamed_png": ("page.png", lambda: b"<html><script>alert(1)</script></html>"),
    "svg_renamed_png": ("vector.png", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
    "pickle_renamed_png": ("model.png", lambda: b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."),
    "tiff_renamed_png": ("scan.png", lambda: encode(dark_digit_on_white(64), "TIFF")),
    "truncated_png": ("cut.png", lambda: truncated(encode(dark_digit_on_white(), "PNG"))),
    "truncated_jpeg": ("cut.jpg", lambda: truncated(encode(dark_digit_on_white().convert("RGB"), "JPEG"))),
    "png_signature_only": ("sig.png", lambda: b"\x89PNG\r\n\x1a\n"),
    "bomb_header_60000px": ("bomb.png", lambda: png_header_only(60_000, 60_000)),
    "header_50_megapixels": ("big.png", lambda: png_header_only(10_000, 5_000)),
    "one_pixel_white": ("dot.png", lambda: encode(Image.new("L", (1, 1), 255), "PNG")),
    "one_pixel_black": ("dot_black.png", lambda: encode(Image.new("L", (1, 1), 0), "PNG")),
    "aspect_40000x1": ("strip.png", lambda: noise_png(40_000, 1)),
    "aspect_1x40000": ("pole.png", lambda: noise_png(1, 40_000)),
    "animated_gif": ("anim.gif", animated_gif),
    "cmyk_jpeg": ("cmyk.jpg", cmyk_jpeg),
    "sixteen_bit_png": ("deep.png", sixteen_bit_png),
    "palette_transparency": ("palette.png", palette_with_transparency),
    "fully_transparent_rgba": ("clear.png", transparent_rgba),
    "exif_rotated_jpeg": ("rotated.jpg", exif_rotated_jpeg),
    "all_white": ("white.png", lambda: encode(Image.new("RGB", (200, 200), "white"), "PNG")),
    "all_black": ("black.png", lambda: encode(Image.new("RGB", (200, 200), "black"), "PNG")),
    "noise": ("noise.png", noise_png),
    "one_bit_bmp": ("ink.bmp", lambda: encode(dark_digit_on_white(96).convert("1"), "BMP")),
    "webp_digit": ("digit.webp", lambda: encode(dark_digit_on_white(96), "WEBP")),
    "mnist_png_control": ("seven.png", lambda: encode(mnist_seven(), "PNG")),
    "flower_jpeg_control": ("flower.jpg", flower_photo),
    "uppercase_extension": ("SEVEN.PNG", lambda: encode(mnist_seven(), "PNG")),
}

# Texts for the Sentiment page's review box: (id, text).
TEXT_CASES = {
    "empty": "",
    "whitespace_only": " \t\n\u00a0\u2003 \n",
    "newlines_only": "\n" * 500,
    "punctuation_only": "!!! ??? ... ,,, ;;;",
    "emoji_only": "😀😂🎬🍿👍🔥" * 20,
    "numbers_only": "1234 5678 90 3.14 42",
    "rtl_arabic": "هذا الفيلم رائع جدا وأحببته كثيرا",
    "rtl_hebrew_mixed": "הסרט היה great, really great",
    "zero_width_chars": "a\u200bgreat\u200c film\u200d, \ufeffwonderful\u2060 acting",
    "null_bytes": "a great\x00 film\x00\x00 with wonderful acting",
    "control_chars": "an awful\x07\x1b[31m boring\x08 film",
    "script_tag": "<script>alert('x')</script> a great film",
    "img_onerror": '<img src=x onerror="alert(1)"> terrible film',
    "markdown_bold": "**great** film, _wonderful_ acting",
    "markdown_js_link": "[click me](javascript:alert(1)) an awful movie",
    "html_entities": "&lt;b&gt; great &amp; wonderful &#x3C;",
    "zalgo": "g\u0336\u0335r\u0337e\u0338a\u0334t\u0335 film",
    "one_long_word": "a" * 50_000,
    "hundred_thousand_chars": ("a great film with wonderful acting. " * 3000)[:100_000],
    "over_the_limit": "an awful boring film. " * 5000,
    "control_review": "A great, moving film. The performances are wonderful and the script is sharp.",
}

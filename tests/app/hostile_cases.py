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
    "hundred_thousand_chars": ("this is a great film and the acting is wonderful. " * 3000)[:100_000],
    "over_the_limit": "it is an awful and boring film. " * 5000,
    "control_review": "A great, moving film. The performances are wonderful and the script is sharp.",
}


def price_csv(rows: int = 150, start: float = 25.0, separator: str = ",", decimal: str = ".") -> str:
    """A plausible daily price history on business days, as CSV text."""
    dates = np.datetime64("2012-01-02") + np.arange(rows * 2)
    dates = [date for date in dates if np.datetime64(date, "D").astype("datetime64[D]").item().weekday() < 5][:rows]
    prices = start * np.exp(np.cumsum(np.random.default_rng(RNG_SEED).normal(0, 0.01, rows)))
    lines = [f"Date{separator}Close"] + [f"{date}{separator}{f'{price:.4f}'.replace('.', decimal)}"
                                         for date, price in zip(dates, prices)]
    return "\n".join(lines) + "\n"


def with_row_changed(csv_text: str, row: int, new_line: str) -> str:
    lines = csv_text.splitlines()
    lines[row] = new_line
    return "\n".join(lines) + "\n"


def price_cell(csv_text: str, row: int, value: str) -> str:
    date = csv_text.splitlines()[row].split(",")[0]
    return with_row_changed(csv_text, row, f"{date},{value}")


def swapped_rows(csv_text: str, first: int, second: int) -> str:
    lines = csv_text.splitlines()
    lines[first], lines[second] = lines[second], lines[first]
    return "\n".join(lines) + "\n"


def duplicated_row(csv_text: str, row: int) -> str:
    lines = csv_text.splitlines()
    return "\n".join(lines[: row + 1] + [lines[row]] + lines[row + 1:]) + "\n"


GOOD_PRICES = price_csv()

# Price histories for the Stock forecast page's upload: (id, bytes).
PRICE_CSV_CASES = {
    "empty": b"",
    "whitespace_only": b"  \n\n\t\n",
    "header_only": b"Date,Close\n",
    "binary": random_bytes(2048),
    "png_as_csv": encode(Image.new("L", (8, 8)), "PNG"),
    "one_column": b"Close\n" + b"\n".join(b"%d" % (20 + i % 3) for i in range(100)) + b"\n",
    "one_row": b"Date,Close\n2012-01-02,25.0\n",
    "too_short": price_csv(40).encode(),
    "nan_price": price_cell(GOOD_PRICES, 70, "NaN").encode(),
    "inf_price": price_cell(GOOD_PRICES, 70, "inf").encode(),
    "negative_price": price_cell(GOOD_PRICES, 70, "-25.0").encode(),
    "zero_price": price_cell(GOOD_PRICES, 70, "0").encode(),
    "text_price": price_cell(GOOD_PRICES, 70, "n/a").encode(),
    "formula_price": price_cell(GOOD_PRICES, 70, "=1+1").encode(),
    "markdown_link_price": price_cell(GOOD_PRICES, 70, "[x](https://e.vil)").encode(),
    "markdown_bold_date": with_row_changed(GOOD_PRICES, 60, "**soon**,25.1").encode(),
    "formula_hyperlink": price_cell(GOOD_PRICES, 70, '"=HYPERLINK(""http://x"",""y"")"').encode(),
    "duplicate_date": duplicated_row(GOOD_PRICES, 80).encode(),
    "unsorted_dates": swapped_rows(GOOD_PRICES, 50, 90).encode(),
    "not_a_date": with_row_changed(GOOD_PRICES, 60, "yesterday,25.1").encode(),
    "huge_price": price_cell(GOOD_PRICES, 70, "1e308").encode(),
    "hundred_thousand_rows": price_csv(100_000).encode(),
    "ragged_rows": with_row_changed(GOOD_PRICES, 30, "2012-02-13,25.1,oops,more").encode(),
    "semicolon_decimal_comma": price_csv(separator=";", decimal=",").encode(),
    "utf16_with_bom": GOOD_PRICES.encode("utf-16"),
    "utf8_with_bom": GOOD_PRICES.encode("utf-8-sig"),
    "crlf_line_ends": GOOD_PRICES.replace("\n", "\r\n").encode(),
    "control_good_csv": GOOD_PRICES.encode(),
}


def review_csv(texts: list[str], header: str = "review") -> bytes:
    quoted = ['"' + text.replace('"', '""') + '"' for text in texts]
    return ("\n".join([header, *quoted]) + "\n").encode()


# Review files for the Sentiment page's batch tab: (id, bytes).
REVIEW_CSV_CASES = {
    "empty": b"",
    "header_only": b"review\n",
    "binary": random_bytes(2048),
    "numbers_only": b"id,score\n1,2\n3,4\n",
    "one_row": review_csv(["A wonderful film."]),
    "empty_cells": b"review,id\n,1\n\"A wonderful film.\",2\n,3\n",
    "formula_cells": review_csv(["=cmd|' /C calc'!A0", "+SUM(A1:A9) a great film", "@import awful movie"]),
    "html_and_markdown_cells": review_csv(["<script>alert(1)</script> great", "**bold** [x](javascript:alert(1))"]),
    "emoji_and_rtl_cells": review_csv(["😀😀😀", "هذا الفيلم رائع", "great 👍"]),
    "null_bytes": review_csv(["a great\x00 film", "an awful\x00 film"]),
    "ragged_rows": b"review,label\n\"good film\",pos\n\"bad film\",neg,extra,fields\n",
    "semicolons": b"review;label\nA wonderful film;pos\nAn awful film;neg\n",
    "utf16_with_bom": ("review\n" + "A wonderful film\n" * 3).encode("utf-16"),
    "windows_1252": "review\n\"A wonderful caf\xe9 film, na\xefve but great\"\n".encode("cp1252"),
    "hundred_thousand_rows": review_csv(["a fine film"] * 100_000),
    "nan_and_inf_cells": b"review\nNaN\ninf\n-inf\nA wonderful film\n",
    "duplicate_rows": review_csv(["An awful film."] * 5),
    "only_a_header_of_commas": b",,,\n",
}

# The GAN page's address: (id, query parameters).
GAN_QUERIES = {
    "superscript_digit": {"digit": "²"},
    "arabic_indic_digit": {"digit": "٣"},
    "digit_ten": {"digit": "10"},
    "digit_negative": {"digit": "-1"},
    "seed_overflow_float": {"seed": "1e9999"},
    "seed_negative": {"seed": "-1"},
    "seed_huge": {"seed": "9" * 400},
    "seed_nan": {"seed": "nan"},
    "seed_hex": {"seed": "0x10"},
    "size_zero": {"size": "0"},
    "size_huge": {"size": "1000000"},
    "size_float": {"size": "2.5"},
    "script_in_value": {"digit": "<script>alert(1)</script>"},
    "markdown_in_value": {"seed": "**7** [x](javascript:alert(1))"},
    "markdown_link_in_value": {"seed": "[x](https://e.vil)"},
    "markdown_bold_in_value": {"digit": "**7**"},
    "unknown_params": {"foo": "bar", "utm_source": "mail"},
    "all_valid": {"digit": "7", "seed": "2024", "size": "3"},
}

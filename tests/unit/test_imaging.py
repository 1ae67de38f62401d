"""Uploaded bytes -> an upright L/RGB/RGBA image, or a clear ImageInputError."""

import io
import threading

import numpy as np
import pytest
from PIL import Image

from showcase.imaging import ImageInputError, read_image


def encode(image: Image.Image, format_name: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def gradient(mode="RGB", size=(64, 48)):
    values = np.linspace(0, 255, size[0] * size[1]).reshape(size[1], size[0]).astype(np.uint8)
    return Image.fromarray(values, "L").convert(mode)


@pytest.mark.parametrize("format_name", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_accepted_formats_decode(format_name):
    image = read_image(encode(gradient(), format_name))
    assert image.size == (64, 48) and image.mode in ("L", "RGB", "RGBA")


def test_empty_file():
    with pytest.raises(ImageInputError, match="empty"):
        read_image(b"")


def test_non_image_bytes():
    with pytest.raises(ImageInputError, match="not an image"):
        read_image(b"%PDF-1.7 definitely not a picture" * 10)


def test_truncated_png():
    data = encode(gradient(size=(300, 300)), "PNG")
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        read_image(data[: len(data) // 2])


def test_truncated_jpeg():
    data = encode(Image.effect_noise((400, 400), 60).convert("RGB"), "JPEG")
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        read_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    bomb = encode(Image.new("1", (30000, 30000)), "PNG")  # a few kB on disk, 900 MP decoded
    assert len(bomb) < 500_000
    with pytest.raises(ImageInputError, match="too large"):
        read_image(bomb)


def test_ten_thousand_square_is_refused_with_its_size():
    with pytest.raises(ImageInputError, match="10000×10000"):
        read_image(encode(Image.new("L", (10000, 10000)), "PNG"))


def test_unsupported_format_is_named():
    with pytest.raises(ImageInputError, match="TIFF images are not supported"):
        read_image(encode(gradient(), "TIFF"))


def test_cmyk_jpeg_becomes_rgb():
    assert read_image(encode(gradient("CMYK"), "JPEG")).mode == "RGB"


def test_sixteen_bit_png_is_stretched_not_clipped():
    deep = Image.fromarray((np.arange(64 * 48).reshape(48, 64) * 20).astype(np.uint16))
    image = read_image(encode(deep, "PNG"))
    pixels = np.asarray(image)
    assert image.mode == "L" and pixels.min() == 0 and pixels.max() == 255


def test_palette_png_with_transparency_keeps_alpha():
    palette = gradient("RGB").convert("P")
    palette.info["transparency"] = 0
    assert read_image(encode(palette, "PNG", transparency=0)).mode == "RGBA"


def test_one_pixel_image():
    assert read_image(encode(Image.new("RGB", (1, 1), "white"), "PNG")).size == (1, 1)


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise
    image = read_image(encode(gradient(size=(64, 48)), "JPEG", exif=exif))
    assert image.size == (48, 64)


def test_large_jpeg_is_decoded_at_a_reduced_scale():
    photo = Image.effect_noise((640, 480), 40).convert("RGB")
    image = read_image(encode(photo, "JPEG"), working_pixels=20_000)
    assert image.info["original_size"] == (640, 480)
    assert image.width * image.height <= 20_000 and image.size == (160, 120)


def test_large_image_of_another_format_is_reduced_to_the_working_size():
    image = read_image(encode(gradient(size=(640, 480)), "WEBP", lossless=True), working_pixels=20_000)
    assert image.size == (160, 120)
    expected = gradient(size=(640, 480)).reduce(4)
    assert np.abs(np.asarray(image, dtype=int) - np.asarray(expected, dtype=int)).max() <= 1


def test_images_within_the_working_size_are_not_resampled():
    original = gradient(size=(300, 200))
    assert np.array_equal(np.asarray(read_image(encode(original, "PNG"))), np.asarray(original))


def test_freed_memory_is_released_again_after_a_large_decode(monkeypatch):
    from showcase import imaging

    calls = []
    monkeypatch.setattr(imaging, "_MALLOC_TRIM", lambda pad: calls.append(pad))
    monkeypatch.setattr(imaging, "RELEASE_DELAY_S", 0.0)
    read_image(encode(gradient(size=(40, 30)), "PNG"))
    assert calls == []
    read_image(encode(gradient(size=(2500, 2000)), "PNG"))
    for _ in range(100):
        if len(calls) >= 2:
            break
        threading.Event().wait(0.05)
    assert calls == [0, 0]


@pytest.mark.parametrize("options", [{"quality": 80}, {"lossless": True}, {"exif": Image.Exif().tobytes()}])
def test_webp_over_its_pixel_limit_is_refused_from_its_header(options):
    data = encode(Image.new("RGB", (4000, 2200), "white"), "WEBP", **options)
    with pytest.raises(ImageInputError, match=r"4000×2200 .*WebP images are limited to 8\.3 MP"):
        read_image(data)


def test_4k_webp_is_accepted_and_reduced():
    image = read_image(encode(Image.new("RGB", (3840, 2160), "white"), "WEBP"))
    assert image.info["original_size"] == (3840, 2160) and image.size == (1920, 1080)

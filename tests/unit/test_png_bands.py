"""Large PNGs decoded band by band give exactly what Pillow gives for the whole image."""

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from showcase import imaging
from showcase.imaging import ImageInputError, read_image, reduction_factor, to_standard_mode
from showcase.png_bands import decode_bands, read_layout


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def noise(channels: int, size=(257, 301), levels=256, seed=0) -> np.ndarray:
    values = np.random.default_rng(seed).integers(0, levels, (size[1], size[0], channels), dtype=np.uint8)
    return values * (256 // levels) if levels < 256 else values


def sample_images():
    yield "grey", Image.fromarray(noise(1)[..., 0])
    yield "RGB", Image.fromarray(noise(3))
    yield "RGBA", Image.fromarray(noise(4))
    yield "grey + alpha", Image.fromarray(noise(2), "LA")
    yield "palette", Image.fromarray(noise(3, levels=4)).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    # Few levels compress well, so the encoder picks different row filters (Sub, Up, Average, Paeth).
    yield "RGB, few levels", Image.fromarray(noise(3, levels=8))


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize(("name", "image"), list(sample_images()),
                         ids=lambda value: value if isinstance(value, str) else "")
def test_bands_join_into_the_whole_image(name, image, optimize):
    data = png(image, optimize=optimize)
    whole = Image.open(io.BytesIO(data))
    whole.load()
    bands = list(decode_bands(read_layout(data), rows=7))
    assert [band.height for band in bands[:-1]] == [7] * (len(bands) - 1)
    assert np.array_equal(np.vstack([np.asarray(band) for band in bands]), np.asarray(whole)), name


@pytest.fixture
def small_bands(monkeypatch):
    """Bands of a few rows, so that small images go through several of them."""
    monkeypatch.setattr(imaging, "BAND_BYTES", 4 * 400 * 6)


@pytest.mark.parametrize(
    ("mode", "options"),
    [("RGB", {}), ("RGBA", {}), ("L", {}), ("P", {"transparency": 3}), ("RGB", {"transparency": (0, 0, 0)})],
)
def test_large_png_is_reduced_exactly_like_the_whole_decoded_image(small_bands, mode, options):
    pixels = noise(3, size=(397, 301), levels=4)
    image = Image.fromarray(pixels).convert(mode) if mode != "P" else Image.fromarray(pixels).quantize(64)
    data = png(image, **options)
    whole = Image.open(io.BytesIO(data))
    whole.load()
    assert reduction_factor(whole.size, 10_000) == 4
    reduced = read_image(data, working_pixels=10_000)
    assert reduced.info["original_size"] == (397, 301)
    assert np.array_equal(np.asarray(reduced), np.asarray(to_standard_mode(whole).reduce(4)))


def test_large_png_orientation_from_its_exif_chunk_is_applied(small_bands):
    image = Image.fromarray(noise(3, size=(260, 200), levels=4))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise when shown
    data = png(image, exif=exif)
    reduced = read_image(data, working_pixels=20_000)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).reduce(2)
    assert reduced.size == (100, 130)
    assert np.array_equal(np.asarray(reduced), np.asarray(expected))


def test_layouts_it_does_not_handle_are_left_to_pillow():
    grey = Image.fromarray(noise(1, size=(40, 30))[..., 0])
    assert read_layout(png(grey)) is not None
    assert read_layout(png(grey.convert("1"))) is None  # 1 bit per pixel
    interlaced = bytearray(png(grey))
    interlaced[28] = 1  # the header's interlace method: Adam7 (Pillow cannot write it)
    assert read_layout(bytes(interlaced)) is None
    assert read_layout(png(Image.fromarray(noise(1, size=(40, 30))[..., 0].astype(np.uint16) * 200))) is None
    assert read_layout(b"not a png") is None


def test_large_one_bit_png_still_decodes_reduced(small_bands):
    image = Image.fromarray(noise(1, size=(300, 200))[..., 0] > 127)
    reduced = read_image(png(image), working_pixels=20_000)
    assert reduced.mode == "L" and reduced.size == (150, 100)


def test_truncated_large_png_is_refused_with_a_clear_message(small_bands):
    data = png(Image.fromarray(noise(3, size=(300, 200))))
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        read_image(data[: len(data) // 2], working_pixels=20_000)


def test_corrupted_pixel_data_in_a_large_png_is_refused_with_a_clear_message(small_bands):
    data = bytearray(png(Image.fromarray(noise(3, size=(300, 200)))))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(range(64))
    with pytest.raises(ImageInputError, match="damaged or truncated"):
        read_image(bytes(data), working_pixels=20_000)


def test_extremely_long_side_is_refused_before_decoding():
    data = png(Image.new("L", (imaging.MAX_SIDE + 1, 2)))
    with pytest.raises(ImageInputError, match="65,535"):
        read_image(data)


def test_huge_aspect_ratio_keeps_detail_on_the_short_side():
    image = Image.new("L", (40000, 1000), 255)
    reduced = read_image(png(image))
    assert reduced.size == (10000, 250)

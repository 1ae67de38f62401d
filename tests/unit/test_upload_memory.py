"""A 40 MP upload costs each image page's preprocessing a bounded amount of memory.

Each case runs in fresh processes (``showcase.upload_memory.measure``): one generates the image, another
handles its bytes as the page does and reports how far its peak resident memory rose. Before uploads were
decoded at a reduced size these figures were 300 to 1,800 MB; now they are under 60 MB.
"""

import pytest

from showcase.upload_memory import measure

# The serving target is 150 MB per 40 MP upload for the whole server; preprocessing alone must stay well inside.
PEAK_GROWTH_LIMIT_MB = 120

CASES = [
    ("digits", "png-rgb"),  # decoded band by band
    ("flowers", "png-rgba"),
    ("anomaly", "png-palette"),  # one bit per pixel: decoded whole by Pillow, then reduced in bands
    ("flowers", "jpeg"),  # decoded at a quarter of its size by libjpeg
    ("digits", "png-wide"),  # 40000×1000
]


@pytest.mark.slow
@pytest.mark.parametrize(("page", "image"), CASES)
def test_peak_memory_of_one_40_megapixel_upload_is_bounded(page, image):
    result = measure(page, image)
    assert result["upload_kb"] < 1024, "the generated upload should be a small file that decodes to 40 MP"
    assert result["peak_growth_mb"] < PEAK_GROWTH_LIMIT_MB, result


@pytest.mark.slow
def test_the_largest_webp_accepted_stays_under_the_serving_target():
    # Pillow decodes WebP whole, at about 15 bytes per pixel, so WebP has a pixel limit of its own (8.3 MP).
    result = measure("digits", "webp")
    assert result["peak_growth_mb"] < 150, result

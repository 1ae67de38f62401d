"""Build samples/ood/: small copies of real photos that are not flowers.

Run (needs the dev requirements' scikit-image; no network):
    python training/build_ood_photos.py

Source: the sample images that ship inside the scikit-image wheel, public domain, CC0 or with no known copyright
restrictions as its ``skimage.data`` docstrings state (so redistributable; the moon and the scanned page state
no licence of their own and ship under the package's BSD-3-Clause). Each photo is saved
whole and as a close-up of its centre (the middle 60%), at most 256 pixels a side, JPEG quality 85, so that the
set is small enough to commit and every test has real photos on a fresh clone. ``samples/ood/CREDITS.md``
names each file's source and licence. ``showcase.ood_images`` reads them, with its synthetic images.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage
from PIL import Image

from showcase.ood_images import PHOTO_DIR

SIDE = 256
# skimage.data name -> (what it shows, licence as its docstring states it).
SKIMAGE_PHOTOS = {
    "astronaut": ("astronaut Eileen Collins (NASA)", "public domain"),
    "camera": ("a photographer with a camera on a tripod", "CC0 (Lav Varshney)"),
    "chelsea": ("Chelsea the cat", "CC0 (Stefan van der Walt)"),
    "coffee": ("a cup of coffee", "CC0 (Rachel Michetti)"),
    "coins": ("Greek coins (Brooklyn Museum)", "no known copyright restrictions"),
    "hubble_deep_field": ("the Hubble Deep Field (NASA)", "public domain"),
    "rocket": ("a SpaceX rocket launch", "public domain"),
    "clock": ("a clock, with motion blur", "public domain (Stefan van der Walt)"),
    "text": ("printed text photographed on a page", "public domain"),
    "immunohistochemistry": ("immunohistochemistry microscopy", "no known copyright restrictions"),
    "retina": ("a retina (fundus photograph)", "CC0 1.0"),
    "microaneurysms": ("a retina with microaneurysms", "CC0 (Andreas Maier)"),
    "brick": ("a brick wall", "CC0 (CC0Textures)"),
    "grass": ("grass", "CC0 (CC0Textures)"),
    "gravel": ("gravel", "CC0 (CC0Textures)"),
    "cell": ("a cell under a microscope", "CC0"),
    "moon": ("the surface of the moon", "no licence of its own stated; in the wheel under scikit-image's BSD-3-Clause"),
    "page": ("a scanned page of printed text",
             "no licence of its own stated; in the wheel under scikit-image's BSD-3-Clause"),
}


def small_jpeg(pixels: np.ndarray) -> bytes:
    image = Image.fromarray(pixels)
    image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def centre(pixels: np.ndarray, share: float = 0.6) -> np.ndarray:
    height, width = pixels.shape[:2]
    top, left = round(height * (1 - share) / 2), round(width * (1 - share) / 2)
    return pixels[top:height - top, left:width - left]


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    return (np.clip(pixels, 0, 1) * 255).round().astype(np.uint8)


def sources() -> dict[str, tuple[np.ndarray, str, str]]:
    return {f"skimage_{name}": (to_uint8(getattr(skimage.data, name)()), subject,
                                f"scikit-image {skimage.__version__} `skimage.data.{name}()`, {licence}")
            for name, (subject, licence) in SKIMAGE_PHOTOS.items()}


def main(directory: Path = PHOTO_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.jpg"):
        old.unlink()
    credits = ["# Photos that are not flowers: credits", "",
               "Written by `training/build_ood_photos.py`: each photo whole and as a close-up of its centre, at most",
               f"{SIDE} pixels a side. The out-of-distribution evaluation of the Flowers page",
               "(`training/fit_ood.py`) and its tests read them.", ""]
    for name, (pixels, subject, source) in sources().items():
        (directory / f"{name}.jpg").write_bytes(small_jpeg(pixels))
        (directory / f"{name}_closeup.jpg").write_bytes(small_jpeg(centre(pixels)))
        credits.append(f"- `{name}.jpg`, `{name}_closeup.jpg`: {subject}; {source}")
    (directory / "CREDITS.md").write_text("\n".join(credits) + "\n")
    print(f"Wrote {len(list(directory.glob('*.jpg')))} photos to {directory}.")


if __name__ == "__main__":
    main()

"""How much memory one large upload costs each image page's preprocessing, measured in a fresh process.

``python -m showcase.upload_memory`` prints JSON: for every page (digits, flowers, anomaly) and every
generated 40 MP image (PNG in several modes, JPEG, and a 40000×1000 strip), the growth of the process's peak
resident memory while that page's preprocessing handles the upload's bytes, in MB. Each measurement runs in
its own child process, so that one does not inherit another's heap. The images are generated on the fly:
white with one dark stroke, so that they compress to a few hundred kB like the uploads that caused trouble.

The tests (tests/unit/test_upload_memory.py) use ``measure`` with a bound; the live-server figures come from
``python -m showcase.bench --load`` (``appdriver.loadtest``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw

PAGES = ("digits", "flowers", "anomaly")
# name -> (format, mode, width, height)
IMAGES = {
    "png-gray": ("PNG", "L", 6300, 6300),
    "png-rgb": ("PNG", "RGB", 6300, 6300),
    "png-rgba": ("PNG", "RGBA", 6300, 6300),
    "png-palette": ("PNG", "P", 6300, 6300),
    "jpeg": ("JPEG", "RGB", 7296, 5472),
    "png-wide": ("PNG", "L", 40000, 1000),
    "webp": ("WEBP", "RGB", 3840, 2160),  # WebP is limited to 8.3 MP (showcase.imaging.WEBP_MAX_PIXELS)
    "gif": ("GIF", "P", 6300, 6300),
}


def make_image(name: str, scale: float = 1.0) -> bytes:
    """One of ``IMAGES``: white, with a thick dark stroke shaped like a 7 in the middle third."""
    format_name, mode, width, height = IMAGES[name]
    width, height = max(8, int(width * scale)), max(8, int(height * scale))
    image = Image.new(mode, (width, height), "white" if mode != "P" else 0)
    if mode == "P":
        image.putpalette([255, 255, 255, 0, 0, 0])
    side = min(width, height)
    left, top = (width - side) // 2 + side // 3, side // 3
    line = max(2, side // 10)
    ImageDraw.Draw(image).line([(left, top), (left + side // 3, top), (left + side // 6, top + side // 3)],
                               fill="black" if mode != "P" else 1, width=line)
    buffer = io.BytesIO()
    options = {"quality": 90} if format_name in ("JPEG", "WEBP") else {"optimize": False}
    image.save(buffer, format=format_name, **options)
    return buffer.getvalue()


def run_page(page: str, data: bytes):
    """What the page does with an upload's bytes, up to the model's input."""
    from showcase.imaging import read_image
    from showcase.tasks import anomaly, digits, flowers

    if page == "digits":
        return digits.prepare_digit(read_image(data))
    if page == "flowers":
        return flowers.prepare_photo(data)[1]
    if page == "anomaly":
        return anomaly.prepare_input(read_image(data))[0]
    raise ValueError(f"Unknown page {page!r}; expected one of {', '.join(PAGES)}.")


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("No VmHWM in /proc/self/status.")


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets the peak resident set size (Linux 4.0+).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def measure_here(page: str, image: str, data: bytes) -> dict:
    """Peak growth of this process's resident memory while ``page`` preprocesses ``data`` (the ``image``)."""
    import gc

    from showcase.imaging import release_freed_memory

    run_page(page, make_image(image, scale=0.05))  # imports and first-call allocations, not counted
    gc.collect()
    release_freed_memory()
    before = _resident_mb()
    try:
        _reset_peak()
    except OSError:
        pass  # the peak so far then counts too, which can only overstate the growth
    result = run_page(page, data)
    peak = _peak_mb()
    del result
    gc.collect()
    return {"page": page, "image": image, "upload_kb": round(len(data) / 1024), "baseline_mb": round(before, 1),
            "peak_growth_mb": round(peak - before, 1), "after_mb": round(_resident_mb(), 1)}


def measure_threads_here(page: str, image: str, data: bytes, threads: int, trim: bool = True) -> dict:
    """Like ``measure_here``, with ``threads`` threads preprocessing the upload at once, as concurrent
    visitors' sessions do in one Streamlit server; also the resident memory once they are done.

    ``trim=False`` turns off ``release_freed_memory``, to measure what it saves.
    """
    import gc
    import threading

    from showcase import imaging

    if not trim:
        imaging._MALLOC_TRIM = None
    run_page(page, make_image(image, scale=0.05))
    gc.collect()
    imaging.release_freed_memory()
    before = _resident_mb()
    try:
        _reset_peak()
    except OSError:
        pass
    start = threading.Barrier(threads)

    def visitor():
        start.wait()
        run_page(page, data)

    workers = [threading.Thread(target=visitor) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    gc.collect()
    return {"page": page, "image": image, "threads": threads, "trim": trim, "baseline_mb": round(before, 1),
            "peak_growth_mb": round(_peak_mb() - before, 1), "after_growth_mb": round(_resident_mb() - before, 1)}


def measure(page: str, image: str) -> dict:
    """``measure_here`` in a fresh Python process, on an image generated by another one.

    Generating a 40 MP image takes more memory than handling its upload, so it happens elsewhere.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "upload")
        _python("--make", image, path)
        return json.loads(_python("--one", page, image, path))


def _python(*args: str) -> str:
    command = [sys.executable, "-m", "showcase.upload_memory", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--make", nargs=2, metavar=("IMAGE", "FILE"), help="write one generated image to FILE")
    parser.add_argument("--one", nargs=3, metavar=("PAGE", "IMAGE", "FILE"), help="measure one upload here")
    parser.add_argument("--threads", type=int, help="with --one: this many threads handle the upload at once")
    parser.add_argument("--no-trim", action="store_true", help="with --threads: without release_freed_memory")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=PAGES)
    parser.add_argument("--images", nargs="*", default=list(IMAGES), choices=list(IMAGES))
    args = parser.parse_args(argv)
    if args.make:
        with open(args.make[1], "wb") as file:
            file.write(make_image(args.make[0]))
    elif args.one:
        page, image, path = args.one
        with open(path, "rb") as file:
            data = file.read()
        if args.threads:
            print(json.dumps(measure_threads_here(page, image, data, args.threads, trim=not args.no_trim)))
        else:
            print(json.dumps(measure_here(page, image, data)))
    else:
        print(json.dumps([measure(page, image) for page in args.pages for image in args.images], indent=1))


if __name__ == "__main__":
    main()

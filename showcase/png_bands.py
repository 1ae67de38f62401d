"""Decode a large PNG a band of rows at a time, so that the full-size image never sits in memory.

Pillow decodes a PNG in one piece: a 40 MP RGB or RGBA upload takes 160 MB before it can be reduced. Here
the compressed pixel stream is inflated incrementally and every band of rows is handed to Pillow as a small
PNG of its own, which starts with the previous band's last row, stored unfiltered, because a PNG row's filter
may refer to the row above it. Pillow still does all the decoding (unfiltering, palettes, transparency); this
module only cuts the stream.

Only the common layout is handled: 8 bits per channel, not interlaced, not animated. ``read_layout`` returns
``None`` for anything else, and the caller decodes that image in one piece.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Channels per pixel of each PNG colour type: grey, RGB, palette, grey + alpha, RGBA.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Chunks every band needs to be decoded the same way as the whole image.
COPIED_CHUNKS = (b"PLTE", b"tRNS")


class PngLayout:
    """What a band decoder needs from a PNG's chunks."""

    def __init__(self, header: bytes, copied: list[tuple[bytes, bytes]], pixel_data: list[memoryview],
                 exif: bytes | None):
        self.width, self.height, self.bit_depth, self.colour_type, _, _, self.interlace = struct.unpack(
            ">IIBBBBB", header
        )
        self.header, self.copied, self.pixel_data, self.exif = header, copied, pixel_data, exif

    @property
    def row_bytes(self) -> int:
        return self.width * CHANNELS[self.colour_type]


def read_layout(data: bytes) -> PngLayout | None:
    """Parse the chunks of a PNG we can decode in bands; ``None`` for any other file."""
    if not data.startswith(SIGNATURE):
        return None
    view = memoryview(data)
    position, header, copied, pixel_data, exif = len(SIGNATURE), None, [], [], None
    while position + 12 <= len(data):
        length, kind = struct.unpack(">I4s", view[position : position + 8])
        body = view[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR" and length == 13 and header is None:
            header = bytes(body)
        elif kind in COPIED_CHUNKS:
            copied.append((kind, bytes(body)))
        elif kind == b"IDAT":
            pixel_data.append(body)
        elif kind == b"eXIf":
            exif = bytes(body)
        elif kind == b"acTL":
            return None  # animated PNG
        elif kind == b"IEND":
            break
    if header is None or not pixel_data:
        return None
    layout = PngLayout(header, copied, pixel_data, exif)
    if layout.bit_depth != 8 or layout.interlace != 0 or layout.colour_type not in CHANNELS:
        return None
    return layout


def decode_bands(layout: PngLayout, rows: int) -> Iterator[Image.Image]:
    """The image's bands of ``rows`` rows (the last may be shorter), top to bottom.

    Raises ``ValueError`` or ``OSError`` (from Pillow) or ``zlib.error`` when the pixel data is damaged or
    ends early.
    """
    stride = 1 + layout.row_bytes  # every row starts with its filter type
    stream = PixelStream(layout.pixel_data)
    previous_row = b""
    for top in range(0, layout.height, rows):
        count = min(rows, layout.height - top)
        filtered = stream.read(count * stride)
        if len(filtered) < count * stride:
            raise ValueError(f"the pixel data ends after row {top + len(filtered) // stride}")
        if previous_row:
            filtered = b"".join((b"\x00", previous_row, filtered))
        band = _decode_band(layout, filtered, count + bool(previous_row))
        del filtered
        previous_row = band.crop((0, band.height - 1, band.width, band.height)).tobytes()
        yield band.crop((0, 1, band.width, band.height)) if top else band


class PixelStream:
    """The inflated pixel data of a PNG's IDAT chunks, read in pieces."""

    def __init__(self, chunks: list[memoryview]):
        self._inflater = zlib.decompressobj()
        self._chunks = iter(chunks)
        self._pending = bytearray()

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes (fewer if the data ends first)."""
        while len(self._pending) < size:
            compressed = self._inflater.unconsumed_tail or next(self._chunks, None)
            if compressed is None:
                self._pending += self._inflater.flush()
                break
            # Bounding the output keeps at most one band inflated at a time, however well the data compressed.
            self._pending += self._inflater.decompress(compressed, size - len(self._pending))
        with memoryview(self._pending) as pending:
            piece = bytes(pending[:size])
        del self._pending[:size]
        return piece


def _decode_band(layout: PngLayout, filtered: bytes, height: int) -> Image.Image:
    header = struct.pack(">II", layout.width, height) + layout.header[8:]
    chunks = [(b"IHDR", header), *layout.copied, (b"IDAT", zlib.compress(filtered, 0)), (b"IEND", b"")]
    png = SIGNATURE + b"".join(_chunk(kind, body) for kind, body in chunks)
    band = Image.open(io.BytesIO(png))
    band.load()
    return band


def _chunk(kind: bytes, body: bytes) -> bytes:
    checksum = zlib.crc32(body, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(body)), kind, body, struct.pack(">I", checksum)))

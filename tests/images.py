"""Real image bytes for upload tests."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np


def image_bytes(extension: str = ".png", size: tuple[int, int] = (40, 60), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok
    return encoded.tobytes()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG (checksums, IEND) whose header declares width x height.

    Its pixel data is a few compressed rows: small to send, huge to decode.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    rows = zlib.compress(b"\0" * min(width + 1, 65536) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", rows)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose start-of-frame says width x height (its scan is the small one)."""
    data = bytearray(image_bytes(".jpg"))
    frame = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def webp_declaring(width: int, height: int, chunk: str) -> bytes:
    """A real WebP (lossy VP8, lossless VP8L, or VP8X around VP8) declaring width x height."""
    lossless = chunk == "VP8L"
    params = [cv2.IMWRITE_WEBP_QUALITY, 101 if lossless else 80]
    ok, encoded = cv2.imencode(".webp", np.zeros((16, 16, 3), np.uint8), params)
    assert ok
    data = bytearray(encoded.tobytes())
    if chunk == "VP8 ":
        assert data[12:16] == b"VP8 "
        struct.pack_into("<HH", data, 26, width, height)
    elif chunk == "VP8L":
        assert data[12:16] == b"VP8L"
        bits = (
            (width - 1)
            | ((height - 1) << 14)
            | (struct.unpack_from("<I", data, 21)[0] & ~0xFFFFFFF)
        )
        struct.pack_into("<I", data, 21, bits & 0xFFFFFFFF)
    else:
        extended = b"VP8X" + struct.pack("<I", 10) + b"\0" * 4
        extended += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = b"WEBP" + extended + bytes(data[12:])
        data = bytearray(b"RIFF" + struct.pack("<I", len(body)) + body)
    return bytes(data)

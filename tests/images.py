"""Real image bytes for upload tests."""

from __future__ import annotations

import cv2
import numpy as np


def image_bytes(extension: str = ".png", size: tuple[int, int] = (40, 60), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(extension, pixels)
    assert ok
    return encoded.tobytes()

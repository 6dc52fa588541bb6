"""Stored files are reached by bare names the service made, never by a path."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.images import image_bytes, jpeg_declaring, png_declaring, webp_declaring
from trade_analysis.storage import (
    FileStore,
    ImageTooLarge,
    UnreadableSize,
    UnsupportedImage,
    check_pixels,
    image_size,
    remove_data_file,
    sniff_image,
)


@pytest.mark.parametrize(
    "name",
    [".", "..", "../x", "a/b", "a\\b", "/etc/passwd", "", ".hidden", "x" * 200, "a\x00.png", "~"],
)
def test_names_that_are_not_bare_file_names_resolve_to_nothing(tmp_path: Path, name: str) -> None:
    store = FileStore(tmp_path / "uploads")
    store.ensure()
    assert store.path_for(name) is None
    assert store.existing(name) is None


def test_a_written_file_is_found_by_its_name_and_no_temporary_is_left(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "uploads")
    name = store.new_name("png")
    store.write_atomic(name, b"data")
    assert store.existing(name) == (tmp_path / "uploads" / name).resolve()
    assert [p.name for p in (tmp_path / "uploads").iterdir()] == [name]


def test_leftover_temporaries_are_swept(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    (tmp_path / ".incoming-abc").write_bytes(b"half")
    (tmp_path / "kept.png").write_bytes(b"whole")
    assert store.sweep_incomplete() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["kept.png"]


def test_database_paths_outside_the_data_directory_are_never_deleted(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    data = tmp_path / "data"
    data.mkdir()
    assert remove_data_file(data, "../outside.txt") is False
    assert remove_data_file(data, str(outside)) is False
    assert outside.exists()


def test_images_are_recognised_by_content() -> None:
    assert sniff_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 32) == "png"
    with pytest.raises(UnsupportedImage, match="only PNG, JPEG and WebP"):
        sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>")


@pytest.mark.parametrize("extension", [".png", ".jpg", ".webp"])
def test_whole_images_are_complete_and_any_cut_is_not(extension: str) -> None:
    from tests.images import image_bytes
    from trade_analysis.storage import IncompleteImage, check_complete, sniff_image

    data = image_bytes(extension, size=(64, 48), seed=5)
    kind = sniff_image(data[:512])
    check_complete(data, kind)
    for cut in (100, len(data) // 2, len(data) - 3):
        with pytest.raises(IncompleteImage):
            check_complete(data[:cut], kind)


def test_a_png_with_a_flipped_byte_fails_its_checksum() -> None:
    from tests.images import image_bytes
    from trade_analysis.storage import IncompleteImage, check_complete

    data = bytearray(image_bytes(".png", seed=6))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(IncompleteImage, match="checksum"):
        check_complete(bytes(data), "png")


@pytest.mark.parametrize("extension", [".png", ".jpg", ".webp"])
def test_the_size_is_read_from_a_real_images_header(extension: str) -> None:
    data = image_bytes(extension, size=(37, 53))
    assert image_size(data, sniff_image(data)) == (53, 37)


def test_a_lossless_webps_size_is_read_from_its_vp8l_header() -> None:
    ok, encoded = cv2.imencode(
        ".webp", np.zeros((21, 34, 3), np.uint8), [cv2.IMWRITE_WEBP_QUALITY, 101]
    )
    assert ok and encoded.tobytes()[12:16] == b"VP8L"
    assert image_size(encoded.tobytes(), "webp") == (34, 21)


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        (png_declaring(50000, 50000), "png"),
        (jpeg_declaring(40000, 30000), "jpg"),
        (webp_declaring(16000, 16000, "VP8 "), "webp"),
        (webp_declaring(16000, 16000, "VP8L"), "webp"),
        (webp_declaring(40000, 30000, "VP8X"), "webp"),
    ],
)
def test_an_image_declaring_more_pixels_than_allowed_is_refused_with_its_figures(
    data: bytes, extension: str
) -> None:
    width, height = image_size(data, extension)
    assert width * height > 100_000_000
    with pytest.raises(ImageTooLarge, match=f"{width} x {height} pixels"):
        check_pixels(data, extension, max_pixels=3840 * 2400)
    assert check_pixels(data, extension, max_pixels=width * height) == (width, height)


@pytest.mark.parametrize(
    ("data", "extension"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 4 + b"IDAT" + b"\0" * 20, "png"),
        (b"\xff\xd8\xff\xda\x00\x02" + b"\0" * 20, "jpg"),  # scan before any frame header
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpg"),  # cut before a frame header
        (b"RIFF\x20\0\0\0WEBPVP8 " + b"\0" * 20, "webp"),  # no start code
        (png_declaring(0, 10), "png"),
    ],
)
def test_a_header_without_a_usable_size_is_unreadable(data: bytes, extension: str) -> None:
    with pytest.raises(UnreadableSize):
        image_size(data, extension)

"""Stored files are reached by bare names the service made, never by a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from trade_analysis.storage import FileStore, UnsupportedImage, remove_data_file, sniff_image


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

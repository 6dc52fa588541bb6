"""Vendored browser libraries are the files their READMEs say, byte for byte."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[2] / "src" / "trade_analysis" / "web" / "vendor"
ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| .* \| `(?P<sha256>[0-9a-f]{64})` \|$", re.MULTILINE)


def listed() -> list[tuple[Path, str]]:
    rows = []
    for readme in sorted(VENDOR.glob("*/README.md")):
        for match in ROW.finditer(readme.read_text()):
            rows.append((readme.parent / match["file"], match["sha256"]))
    return rows


def test_every_vendored_library_lists_its_files() -> None:
    libraries = {path.parent.name for path, _ in listed()}
    assert libraries == {path.name for path in VENDOR.iterdir() if path.is_dir()}
    assert {"uplot", "swagger-ui", "redoc"} <= libraries


@pytest.mark.parametrize(("path", "sha256"), listed(), ids=lambda value: str(value)[-40:])
def test_a_vendored_file_matches_its_checksum(path: Path, sha256: str) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def test_nothing_unlisted_is_vendored() -> None:
    files = {path for path in VENDOR.rglob("*") if path.is_file() and path.name != "README.md"}
    assert files == {path for path, _ in listed()}

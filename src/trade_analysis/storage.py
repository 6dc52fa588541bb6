"""Files the service keeps (uploads, screenshots): written atomically, served by name only."""

from __future__ import annotations

import contextlib
import os
import re
import struct
import time
import uuid
import zlib
from pathlib import Path

import filetype

# The image kinds accepted, by what the bytes are rather than what the name says.
IMAGE_KINDS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_TEMP_PREFIX = ".incoming-"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _is_bare_name(name: str) -> bool:
    """A file name the service could have made: no separators, no dot-dot, no leading dot."""
    return _SAFE_NAME.fullmatch(name) is not None and ".." not in name


class UnsupportedImage(ValueError):
    pass


def sniff_image(head: bytes) -> str:
    """The file extension for PNG, JPEG or WebP bytes; UnsupportedImage otherwise."""
    kind = filetype.guess(head)
    if kind is None or kind.mime not in IMAGE_KINDS:
        found = kind.mime if kind else "unrecognised data"
        raise UnsupportedImage(f"only PNG, JPEG and WebP images are accepted, got {found}")
    return IMAGE_KINDS[kind.mime]


class IncompleteImage(ValueError):
    """The bytes start as an image but are cut short or damaged."""


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_complete(data: bytes, extension: str) -> None:
    """Raise IncompleteImage for an image cut short or damaged, by its structure.

    Not a full decode: decoding a 640x400 chart costs milliseconds, the busiest
    route's whole budget. Walking the structure costs microseconds and finds what
    an interrupted upload leaves: PNG chunks checked end to end with their CRCs
    up to IEND, JPEG's end-of-image marker, WebP's declared length.
    """
    if extension == "png":
        _check_png(data)
    elif extension == "jpg":
        if not data.startswith(b"\xff\xd8") or b"\xff\xd9" not in data[-64:]:
            raise IncompleteImage("JPEG is truncated: no end-of-image marker")
    elif extension == "webp":
        declared = struct.unpack_from("<I", data, 4)[0] + 8 if len(data) >= 12 else -1
        if declared > len(data) or len(data) < 20:
            raise IncompleteImage(f"WebP is truncated: {len(data)} of {declared} bytes")


def _check_png(data: bytes) -> None:
    offset = len(_PNG_SIGNATURE)
    first = True
    view = memoryview(data)
    while offset + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        end = offset + 12 + length
        if end > len(data):
            break
        if (
            zlib.crc32(view[offset + 4 : offset + 8 + length])
            != struct.unpack_from(">I", data, end - 4)[0]
        ):
            raise IncompleteImage(f"PNG is damaged: bad checksum in its {kind!r} chunk")
        if first and kind != b"IHDR":
            raise IncompleteImage("PNG is damaged: it does not start with a header chunk")
        if kind == b"IEND":
            return
        first = False
        offset = end
    raise IncompleteImage(f"PNG is truncated after {len(data)} bytes: it cannot be decoded")


class ImageTooLarge(ValueError):
    """The image declares more pixels than the service will decode or store."""


class UnreadableSize(ValueError):
    """The image's header does not say how large it is."""


def image_size(data: bytes, extension: str) -> tuple[int, int]:
    """Width and height as the image's header declares them, read without decoding.

    Decoding costs width x height x 3 bytes whatever the file's size: a few hundred
    KB of PNG can declare 50000x50000. The header is where the size is written
    (PNG's IHDR, JPEG's start-of-frame, WebP's VP8/VP8L/VP8X chunk), so it is
    read there, before anything is decoded.
    """
    if extension == "png":
        size = _png_size(data)
    elif extension == "jpg":
        size = _jpeg_size(data)
    elif extension == "webp":
        size = _webp_size(data)
    else:
        size = None
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise UnreadableSize(f"its {extension.upper()} header does not give its width and height")
    return size


def check_pixels(data: bytes, extension: str, max_pixels: int) -> tuple[int, int]:
    """The image's size; ImageTooLarge when it declares more than `max_pixels`."""
    width, height = image_size(data, extension)
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width} x {height} pixels ({width * height:,} in all), more "
            f"than MAX_UPLOAD_PIXELS allows ({max_pixels:,})"
        )
    return width, height


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    return int(width), int(height)


# JPEG's start-of-frame markers (C0-CF but DHT C4, JPG C8 and DAC CC), which hold the size.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length: TEM and the restart markers RST0-RST7.
_JPEG_BARE = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2  # after SOI
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_BARE:
            offset += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        (length,) = struct.unpack_from(">H", data, offset + 2)
        if marker in _JPEG_FRAMES:
            if offset + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, offset + 5)
            return int(width), int(height)
        offset += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: after the start code
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14 bits each, minus one
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each, minus one
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def checked_image(data: bytes, max_pixels: int) -> str:
    """The extension of a whole PNG, JPEG or WebP within `max_pixels`; a ValueError otherwise.

    UnsupportedImage, IncompleteImage, UnreadableSize or ImageTooLarge, each saying why.
    """
    extension = sniff_image(data[:512])
    check_complete(data, extension)
    check_pixels(data, extension, max_pixels)
    return extension


class FileStore:
    """A flat folder of files named by the service, never by the client."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved_root: Path | None = None

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def sweep_incomplete(self) -> int:
        """Remove temporary files a crash left behind mid-write; they were never acknowledged."""
        removed = 0
        for leftover in self.root.glob(_TEMP_PREFIX + "*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed += 1
        return removed

    def names_older_than(self, seconds: float) -> list[str]:
        """Finished files (no temporaries) last written more than `seconds` ago."""
        cutoff = time.time() - seconds
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        return sorted(
            entry.name
            for entry in entries
            if not entry.name.startswith(_TEMP_PREFIX)
            and _is_bare_name(entry.name)
            and entry.is_file(follow_symlinks=False)
            and entry.stat(follow_symlinks=False).st_mtime < cutoff
        )

    def new_name(self, extension: str) -> str:
        return f"{uuid.uuid4().hex}.{extension}"

    def write_atomic(self, name: str, data: bytes) -> Path:
        """Write to a temporary file, then rename it into place: never a half file.

        No fsync: like the database (WAL with synchronous=NORMAL) a file
        survives the process being killed, which is the failure that matters
        here; paying a disk flush per upload would buy power-loss durability
        for images while the rows they belong to do not have it either.

        Plain `os` calls, four system calls in all: this runs once per upload,
        and each call is a moment another thread can take the GIL.
        """
        if not _is_bare_name(name):
            raise ValueError(f"{name!r} is not a valid stored file name")
        # A bare name (no separator) inside the resolved root cannot leave it. O_EXCL
        # refuses an existing file or link at the temporary name, and rename replaces
        # a link at the final name rather than following it.
        root = self._root()
        target = os.path.join(root, name)
        temporary = os.path.join(root, _TEMP_PREFIX + name)
        # os.open descriptors are not inherited by child processes already; O_BINARY
        # (Windows only) keeps the bytes as they are.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        try:
            descriptor = os.open(temporary, flags, 0o666)
        except FileNotFoundError:  # the folder was removed while the service ran
            self.ensure()
            descriptor = os.open(temporary, flags, 0o666)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
            finally:
                os.close(descriptor)
            os.rename(temporary, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return Path(target)

    def _root(self) -> str:
        if self._resolved_root is None:
            # Resolved once: the folder does not move while the service runs.
            self._resolved_root = self.root.resolve()
        return str(self._resolved_root)

    def path_for(self, name: str) -> Path | None:
        """The path of a stored file by its bare name, or None for anything that is not one."""
        if not _is_bare_name(name):
            return None
        root = Path(self._root())
        candidate = (root / name).resolve()
        if candidate.parent != root:
            return None
        return candidate

    def existing(self, name: str) -> Path | None:
        path = self.path_for(name)
        return path if path is not None and path.is_file() else None

    def delete(self, name: str) -> None:
        path = self.path_for(name)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def upload_url(image_path: str | None) -> str | None:
    """Where an upload's image is served, from the path its rows keep (others: None)."""
    if image_path and image_path.startswith("uploads/"):
        return "/" + image_path
    return None


def remove_files_older_than(folder: Path, seconds: float, pattern: str = "*") -> int:
    """Delete the files under `folder` (at any depth) last written more than `seconds` ago."""
    cutoff = time.time() - seconds
    removed = 0
    for path in folder.rglob(pattern):
        with contextlib.suppress(FileNotFoundError):
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def remove_data_file(data_dir: Path, relative: str) -> bool:
    """Delete a file the database points at, only if it lies inside the data directory."""
    root = data_dir.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or target == root:
        return False
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True

"""The backup file: one POSIX tar holding the database copy and the files it points at.

    manifest.json        {"format": "trade-analysis-backup", "version": 1,
                          "database": "sqlite" | "postgresql", "uploads": N, "screenshots": M}
    database.sqlite3     SQLite's online backup of the database  (or:)
    database.pgdump      pg_dump --format=custom
    uploads/<name>       every stored upload
    screenshots/...      every capture screenshot, in its window's folder

Uncompressed: the images are PNG/JPEG/WebP already, and `tar -tf` lists it anywhere.
A backup from before this format (the database file alone) is still restored.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

FORMAT = "trade-analysis-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
FOLDERS = ("uploads", "screenshots")
_TEMPORARY_PREFIX = ".incoming-"  # an upload being written: never acknowledged


class BadBackup(ValueError):
    """The file is not a backup this version can restore."""


@dataclass(frozen=True)
class Unpacked:
    """A backup taken apart in a working folder."""

    database: Path
    backend: str | None  # None: a database file alone, from before this format
    folders: dict[str, Path]  # "uploads"/"screenshots" -> the unpacked folder
    counts: dict[str, int]


def write(target: Path, backend: str, database: Path, folders: dict[str, Path]) -> dict[str, int]:
    """Write the backup to `target` (via a temporary name: never a half file); file counts."""
    partial = target.with_name(f".{target.name}.partial")
    counts = {name: 0 for name in FOLDERS}
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            archive.add(database, DATABASE_MEMBERS[backend], recursive=False)
            for name in FOLDERS:
                for path, relative in _files_under(folders[name]):
                    archive.add(path, f"{name}/{relative}", recursive=False)
                    counts[name] += 1
            manifest = {"format": FORMAT, "version": VERSION, "database": backend, **counts}
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


def _files_under(folder: Path) -> list[tuple[Path, str]]:
    """Regular files below `folder` (links and temporaries left out), with their relative name."""
    if not folder.is_dir():
        return []
    found = []
    for directory, _, names in os.walk(folder):  # os.walk does not follow links to folders
        for name in sorted(names):
            path = Path(directory) / name
            if name.startswith(_TEMPORARY_PREFIX) or path.is_symlink() or not path.is_file():
                continue
            found.append((path, path.relative_to(folder).as_posix()))
    return sorted(found, key=lambda item: item[1])


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def unpack(file: Path, work: Path) -> Unpacked:
    """Take a backup apart into `work`; a lone database file (the older form) as it is."""
    if not tarfile.is_tarfile(file):
        return Unpacked(database=file, backend=None, folders={}, counts={})
    with tarfile.open(file) as archive:
        manifest = _manifest(archive)
        backend = manifest.get("database")
        if backend not in DATABASE_MEMBERS:
            raise BadBackup(f"{file}: its manifest names no known database ({backend!r})")
        wanted = DATABASE_MEMBERS[backend]
        members = [_checked(member, wanted) for member in archive.getmembers()]
        # The "data" filter refuses absolute names, "..", links and device files as well.
        archive.extractall(work, members=[m for m in members if m is not None], filter="data")
    database = work / wanted
    if not database.is_file():
        raise BadBackup(f"{file} holds no {wanted}")
    folders = {name: work / name for name in FOLDERS}
    counts = {name: _count(manifest.get(name)) for name in FOLDERS}
    return Unpacked(database=database, backend=str(backend), folders=folders, counts=counts)


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def _manifest(archive: tarfile.TarFile) -> dict[str, object]:
    try:
        member = archive.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise BadBackup("not a trade-analysis backup: the archive has no manifest.json")
    try:
        manifest = json.loads(member.read(64 * 1024))
    except ValueError as exc:
        raise BadBackup(f"its manifest.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadBackup("not a trade-analysis backup: manifest.json names another format")
    if manifest.get("version") != VERSION:
        raise BadBackup(f"a backup of format version {manifest.get('version')!r}; this reads 1")
    return manifest


def _checked(member: tarfile.TarInfo, database: str) -> tarfile.TarInfo | None:
    """The members restored: the database and files under the known folders, nothing else."""
    name = PurePosixPath(member.name)
    if member.name == MANIFEST:
        return None
    if member.name == database and member.isfile():
        return member
    if member.isdir() and name.parts and name.parts[0] in FOLDERS:
        return member
    if member.isfile() and len(name.parts) >= 2 and name.parts[0] in FOLDERS:
        return member
    raise BadBackup(f"the backup holds {member.name!r}, which no backup has")


def put_back(unpacked: Unpacked, folders: dict[str, Path]) -> None:
    """Replace each folder with the backup's (the database was replaced already)."""
    for name in FOLDERS:
        source = unpacked.folders.get(name)
        target = folders[name]
        if source is None:
            continue  # a database file alone: its files are not in it
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.move(source, target)
        else:
            target.mkdir()

"""Whether a service uses the database: it holds a lock for as long as it runs.

Every service process holds a shared lock; `restore` takes the same lock
exclusively, so it is refused while any service runs, and a service refuses to
start while a restore is under way. The lock goes with the process: a service
that crashes or is killed leaves nothing that needs cleaning up.

- SQLite: an OS lock (`flock`) on `<database file>-service.lock` beside the
  database. On Windows, where `flock` is not, the file is kept open by the
  service and `restore` cannot remove an open file.
- PostgreSQL: a session advisory lock, held on a connection of its own.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psycopg
from sqlalchemy.engine import URL, make_url

# pg_advisory_lock's key for "a trade-analysis service uses this database".
ADVISORY_KEY = 0x7472_6164_6521  # "trade!" in ASCII
LOCK_SUFFIX = "-service.lock"


class DatabaseInUse(RuntimeError):
    """Another process holds the database in a way that rules out what was asked."""


SERVICE_RUNNING = "a running trade-analysis service uses this database; stop it first"
RESTORE_RUNNING = "a restore is replacing this database; start the service when it ends"


def lock_file(database: Path) -> Path:
    return database.with_name(database.name + LOCK_SUFFIX)


@contextlib.contextmanager
def held_by_service(url: str) -> Iterator[None]:
    """Hold the database's lock shared while a service runs; DatabaseInUse during a restore."""
    with _held(url, exclusive=False, refused=RESTORE_RUNNING):
        yield


@contextlib.contextmanager
def held_for_restore(url: str) -> Iterator[None]:
    """Hold the database's lock alone; DatabaseInUse while any service runs on it."""
    with _held(url, exclusive=True, refused=SERVICE_RUNNING):
        yield


@contextlib.contextmanager
def _held(url: str, *, exclusive: bool, refused: str) -> Iterator[None]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        with _advisory(parsed.set(drivername="postgresql"), exclusive, refused):
            yield
    elif parsed.database and parsed.database != ":memory:":
        with _file_lock(lock_file(Path(parsed.database)), exclusive, refused):
            yield
    else:  # an in-memory database is no other process's
        yield


@contextlib.contextmanager
def _advisory(url: URL, exclusive: bool, refused: str) -> Iterator[None]:
    take = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
    connection = psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
    )
    with connection:
        row = connection.execute(f"SELECT {take}(%s)", (ADVISORY_KEY,)).fetchone()
        if row is None or not row[0]:
            raise DatabaseInUse(refused)
        # Released when this connection closes, as it does when the process ends.
        yield


@contextlib.contextmanager
def _file_lock(path: Path, exclusive: bool, refused: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        with _windows_lock(path, exclusive, refused):
            yield
        return
    import fcntl

    with path.open("a+b") as handle:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), mode)
        except BlockingIOError:
            raise DatabaseInUse(f"{refused} ({path} is locked)") from None
        yield  # closing the file releases the lock


@contextlib.contextmanager
def _windows_lock(path: Path, exclusive: bool, refused: str) -> Iterator[None]:
    if exclusive:
        try:
            path.unlink(missing_ok=True)  # refused while any service keeps it open
        except PermissionError:
            raise DatabaseInUse(f"{refused} ({path} is open)") from None
    handle: IO[bytes] = path.open("a+b")
    try:
        yield
    finally:
        handle.close()
        if exclusive:
            with contextlib.suppress(OSError):
                os.unlink(path)

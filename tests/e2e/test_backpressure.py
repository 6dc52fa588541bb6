"""A stalled or dead database, through HTTP on a real server process: /ingest answers 503
with Retry-After at once when the writer's queue is full (nothing written), the database's
timeouts turn a stall into 503s, and shutdown ends on its own with every acknowledged
upload committed."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import AUTH, TEST_KEY, _reset_postgres
from tests.images import image_bytes
from tests.server import ServerProcess, free_port
from tests.support.databases import POSTGRES_URL
from tests.support.locks import database_held

QUEUE = 2  # WRITER_MAX_JOBS in these tests
UPLOADS = 5


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[ServerProcess]:
    data = tmp_path / "data"
    env = {
        "BACKEND_API_KEY": TEST_KEY,
        "DATABASE_URL": f"sqlite:///{data / 'trade_analysis.db'}",
        "WRITER_MAX_JOBS": str(QUEUE),
        "DB_LOCK_TIMEOUT_SECONDS": "120",  # the stall outlasts the test: nothing times out
        "SHUTDOWN_TIMEOUT_SECONDS": "3",
    }
    server = ServerProcess(data, env)
    yield server
    server.stop()


@pytest.fixture
def postgres_server(tmp_path: Path) -> Iterator[ServerProcess]:
    _reset_postgres(POSTGRES_URL)
    env = {
        "BACKEND_API_KEY": TEST_KEY,
        "DATABASE_URL": POSTGRES_URL,
        "WRITER_MAX_JOBS": str(QUEUE),
        "DB_LOCK_TIMEOUT_SECONDS": "5",  # the uploads all arrive while the first waits
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "SHUTDOWN_TIMEOUT_SECONDS": "3",
    }
    server = ServerProcess(tmp_path / "data", env)
    yield server
    server.stop()


@contextmanager
def postgres_refusing_connections(url: str) -> Iterator[None]:
    """The database stops accepting connections and drops the ones it has."""
    name = make_url(url).database
    admin_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


class Uploads:
    """Uploads posted from threads; each answer is kept as it arrives."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.answers: list[httpx.Response | Exception] = []
        self._arrived = threading.Condition()
        self._threads: list[threading.Thread] = []

    def post(self, count: int) -> None:
        for _ in range(count):
            thread = threading.Thread(target=self._post, args=(len(self._threads),))
            self._threads.append(thread)
            thread.start()

    def _post(self, index: int) -> None:
        answer: httpx.Response | Exception
        try:
            answer = httpx.post(
                self.server.url + "/ingest",
                headers=AUTH,
                files={"file": ("f.png", image_bytes(seed=index), "image/png")},
                data={"bot": f"up-{index}", "ticker": "AAPL", "price": "10", "trend": "up"},
                timeout=120,
            )
        except httpx.HTTPError as exc:
            answer = exc
        with self._arrived:
            self.answers.append(answer)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 60) -> list[httpx.Response | Exception]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.answers) >= count, timeout)
            return list(self.answers)

    def join(self) -> list[httpx.Response | Exception]:
        for thread in self._threads:
            thread.join(150)
        return list(self.answers)


def responses(answers: list[httpx.Response | Exception], status: int) -> list[httpx.Response]:
    return [a for a in answers if isinstance(a, httpx.Response) and a.status_code == status]


def upload_files(server: ServerProcess) -> set[str]:
    return {p.name for p in (server.data_dir / "uploads").iterdir() if p.is_file()}


def stored_observations(server: ServerProcess) -> list[dict]:
    rows = httpx.get(server.url + "/history", headers=AUTH, params={"limit": 1000}).json()
    return [row for row in rows if row["kind"] == "observation"]


def shut_down(server: ServerProcess) -> None:
    """SIGTERM, then the process must finish its shutdown by itself (uvicorn re-raises it)."""
    process = server.process
    assert process is not None
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log.read_text()


def fill_the_writer(uploads: Uploads) -> None:
    """Post one upload more than the writer holds: its 503 says the others are all in."""
    uploads.post(QUEUE + 1)
    (refused,) = uploads.wait_for(1)
    assert isinstance(refused, httpx.Response)
    assert_refused_at_once(refused)


def assert_refused_at_once(answer: httpx.Response) -> None:
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert "waiting for the database" in answer.json()["detail"]


def test_a_full_queue_answers_503_at_once_and_writes_nothing_on_a_locked_sqlite(
    sqlite_server: ServerProcess,
) -> None:
    sqlite_server.start()
    uploads = Uploads(sqlite_server)
    with database_held(sqlite_server.env["DATABASE_URL"]):
        uploads.post(UPLOADS)
        # Two wait for the lock (one in the writer's transaction, one queued behind it);
        # the other three are refused while the lock is still held.
        refused = uploads.wait_for(UPLOADS - QUEUE)
        assert len(refused) == UPLOADS - QUEUE
        for answer in refused:
            assert isinstance(answer, httpx.Response)
            assert_refused_at_once(answer)
    answers = uploads.join()
    stored = responses(answers, 200)
    assert len(stored) == QUEUE and len(responses(answers, 503)) == UPLOADS - QUEUE
    # Only the acknowledged uploads left a file and a row.
    assert upload_files(sqlite_server) == {a.json()["image_url"].split("/")[-1] for a in stored}
    assert {row["id"] for row in stored_observations(sqlite_server)} == {
        a.json()["record_id"] for a in stored
    }


def test_a_locked_postgres_fails_uploads_with_503_after_its_lock_timeout(
    postgres_server: ServerProcess,
) -> None:
    postgres_server.start()
    uploads = Uploads(postgres_server)
    with database_held(POSTGRES_URL):
        uploads.post(UPLOADS)
        answers = uploads.wait_for(UPLOADS)  # all of them while the lock is held
    assert len(responses(answers, 503)) == UPLOADS
    timed_out = [a for a in responses(answers, 503) if "busy or unreachable" in a.json()["detail"]]
    assert len(timed_out) == QUEUE and all(a.headers["Retry-After"] for a in timed_out)
    for answer in responses(answers, 503):
        if answer not in timed_out:
            assert_refused_at_once(answer)
    assert upload_files(postgres_server) == set()
    assert stored_observations(postgres_server) == []
    # The lock gone, the same service stores again.
    uploads.post(1)
    (after,) = responses(uploads.join(), 200)
    assert after.json()["trade"]["direction"] == "buy"


def test_a_postgres_that_stops_answering_gives_503s_and_shutdown_still_ends(
    postgres_server: ServerProcess,
) -> None:
    postgres_server.start()
    assert responses([httpx.get(postgres_server.url + "/trades", headers=AUTH)], 200)
    with postgres_refusing_connections(POSTGRES_URL):
        uploads = Uploads(postgres_server)
        uploads.post(1)
        (answer,) = uploads.join()
        assert isinstance(answer, httpx.Response) and answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        history = httpx.get(postgres_server.url + "/history", headers=AUTH, timeout=60)
        assert history.status_code == 503
        assert upload_files(postgres_server) == set()
        shut_down(postgres_server)


def test_a_database_on_a_closed_port_stops_the_start_with_a_reason(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    server = ServerProcess(tmp_path / "data", {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": url})
    with pytest.raises(RuntimeError, match="server exited") as failure:
        server.start(timeout=60)
    assert "Connection refused" in str(failure.value) or "connection" in str(failure.value)


def test_shutdown_with_uploads_waiting_on_a_lock_commits_them_once_it_is_released(
    sqlite_server: ServerProcess,
) -> None:
    sqlite_server.start()
    uploads = Uploads(sqlite_server)
    with database_held(sqlite_server.env["DATABASE_URL"]):
        fill_the_writer(uploads)
        process = sqlite_server.process
        assert process is not None
        process.send_signal(signal.SIGTERM)
    assert process.wait(60) in (0, -signal.SIGTERM)
    answers = uploads.join()
    stored = responses(answers, 200)
    assert len(stored) == QUEUE
    sqlite_server.start()
    assert {row["id"] for row in stored_observations(sqlite_server)} == {
        a.json()["record_id"] for a in stored
    }


def test_shutdown_ends_in_bounded_time_while_the_database_stays_locked(
    sqlite_server: ServerProcess,
) -> None:
    sqlite_server.start()
    uploads = Uploads(sqlite_server)
    with database_held(sqlite_server.env["DATABASE_URL"]):
        fill_the_writer(uploads)
        # SHUTDOWN_TIMEOUT_SECONDS=3 for the requests, 3 for the writer: not the 120 s lock wait.
        shut_down(sqlite_server)
        answers = uploads.join()
    assert responses(answers, 200) == []  # nothing was acknowledged: nothing may be missing
    sqlite_server.start()
    assert stored_observations(sqlite_server) == []

"""`trade-analysis backup` while a real server writes, `restore` into a fresh data
directory, and a server started on it shows the same trades; `export` writes what the
CSV routes serve."""

from __future__ import annotations

import sqlite3
import tarfile
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.conftest import AUTH, TEST_KEY, _reset_postgres
from tests.server import ServerProcess
from tests.support.databases import POSTGRES_URL
from tests.support.polling import poll
from tests.test_cli import run_cli


class Trader:
    """Uploads that trade (a bot per thread, up and down in turn) until stopped."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.stop = threading.Event()
        self.acknowledged = 0
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(2)]

    def __enter__(self) -> Trader:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.server.url, headers=AUTH, timeout=30) as client:
            index = 0
            while not self.stop.is_set():
                trend = ("up", "down")[index % 2]
                response = client.post(
                    "/ingest",
                    data={
                        "bot": f"bot-{worker}",
                        "ticker": "AAPL",
                        "price": f"{100 + index % 9}",
                        "trend": trend,
                    },
                )
                if response.status_code == 200:
                    self.acknowledged += 1
                index += 1

    def wait_for(self, count: int) -> None:
        poll(lambda: self.acknowledged, lambda acknowledged: acknowledged >= count, timeout=60)


def trade_ids(server: ServerProcess) -> list[int]:
    response = httpx.get(server.url + "/trades", headers=AUTH, params={"limit": 10000})
    return [trade["id"] for trade in response.json()["all_trades"]]


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def test_a_backup_taken_while_the_server_writes_restores_into_a_fresh_data_dir(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    env = {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": ""}
    live = ServerProcess(tmp_path / "live", env).start()
    servers.append(live)
    backup_file = tmp_path / "ledger.backup"
    with Trader(live) as trader:
        trader.wait_for(20)
        taken = run_cli("backup", str(backup_file), "--data-dir", str(live.data_dir), env=env)
        assert taken.returncode == 0, taken.stderr
        trader.wait_for(trader.acknowledged + 20)  # still writing after the backup
        # A live database is never replaced, --force or not.
        live_dir = str(live.data_dir)
        refused = run_cli("restore", str(backup_file), "--force", "--data-dir", live_dir, env=env)
        assert refused.returncode == 2 and "running trade-analysis service" in refused.stderr
    with tarfile.open(backup_file) as archive:
        archive.extract("database.sqlite3", tmp_path / "unpacked", filter="data")
    with closing(sqlite3.connect(tmp_path / "unpacked" / "database.sqlite3")) as copy:
        backed_up = [row[0] for row in copy.execute("SELECT id FROM trades ORDER BY id")]
    written = trade_ids(live)
    assert len(backed_up) >= 10 and len(written) > len(backed_up)
    assert backed_up == written[: len(backed_up)]

    fresh = tmp_path / "fresh"
    restored = run_cli("restore", str(backup_file), "--data-dir", str(fresh), env=env)
    assert restored.returncode == 0, restored.stderr
    again = run_cli("restore", str(backup_file), "--data-dir", str(fresh), env=env)
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_cli("backup", str(backup_file), "--data-dir", str(fresh), env=env).returncode == 2

    revived = ServerProcess(fresh, env).start()
    servers.append(revived)
    assert trade_ids(revived) == backed_up
    # The restored ledger goes on trading where the backup left it.
    more = httpx.post(
        revived.url + "/ingest",
        headers=AUTH,
        data={"bot": "after", "ticker": "MSFT", "price": "5", "trend": "up"},
    )
    assert more.json()["trade"]["id"] > backed_up[-1]

    exported = tmp_path / "trades.csv"
    written = run_cli("export", "trades", "-o", str(exported), "--data-dir", str(fresh), env=env)
    assert written.returncode == 0, written.stderr
    served = httpx.get(revived.url + "/api/v1/trades.csv", headers=AUTH)
    assert exported.read_text() == served.text
    assert len(served.text.splitlines()) == len(backed_up) + 2  # header, and the MSFT buy
    filters = ["--days", "36500", "--trend", "up", "--limit", "5"]
    history = run_cli("export", "history", *filters, "--data-dir", str(fresh), env=env)
    assert history.returncode == 0, history.stderr
    served = httpx.get(
        revived.url + "/history.csv",
        headers=AUTH,
        params={"days": 36500, "trend": "up", "limit": 5},
    )
    assert history.stdout == served.text and len(served.text.splitlines()) == 6


def test_a_postgres_backup_restores_through_pg_dump(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    _reset_postgres(POSTGRES_URL)
    env = {"BACKEND_API_KEY": TEST_KEY, "DATABASE_URL": POSTGRES_URL}
    live = ServerProcess(tmp_path / "live", env).start()
    servers.append(live)
    backup_file = tmp_path / "ledger.dump"
    with Trader(live) as trader:
        trader.wait_for(20)
        taken = run_cli("backup", str(backup_file), env=env)
        assert taken.returncode == 0, taken.stderr
        refused = run_cli("restore", str(backup_file), "--force", env=env)
        assert refused.returncode == 2 and "running trade-analysis service" in refused.stderr
    written = trade_ids(live)
    live.stop()
    servers.remove(live)
    _reset_postgres(POSTGRES_URL)
    restored = run_cli("restore", str(backup_file), env=env)
    assert restored.returncode == 0, restored.stderr
    revived = ServerProcess(tmp_path / "revived", env).start()
    servers.append(revived)
    backed_up = trade_ids(revived)
    # A consistent snapshot: the trades up to the moment of the backup, none missing.
    assert len(backed_up) >= 10 and backed_up == written[: len(backed_up)]

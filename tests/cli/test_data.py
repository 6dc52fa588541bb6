"""`trade-analysis backup`, `restore` and `export` as people run them, next to a live service."""

from __future__ import annotations

import csv
import io
import os
import sys
import tarfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.conftest import AUTH, _reset_postgres
from tests.images import image_bytes
from tests.support.databases import POSTGRES_URL
from tests.support.terminal import run_on_terminal
from tests.test_cli import run_cli
from trade_analysis.app import create_app
from trade_analysis.config import Settings


def on_postgres(settings: Settings) -> bool:
    return make_url(settings.resolved_database_url).get_backend_name() == "postgresql"


def cli_env(settings: Settings) -> dict[str, str]:
    """The database as the CLI names it: PostgreSQL's URL, or SQLite's file in --data-dir."""
    return {"DATABASE_URL": settings.database_url if on_postgres(settings) else ""}


def upload(client: TestClient, name: str = "chart", seed: int = 0) -> str:
    response = client.post(
        "/ingest",
        files={"file": ("c.png", image_bytes(seed=seed), "image/png")},
        data={"ticker": "AAPL", "price": "10", "trend": "up", "name": name, "bot": "b1"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["image_url"])


def test_restore_is_refused_while_a_service_runs_on_the_database_even_with_force(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    upload(client)
    backup_file = tmp_path / "ledger.backup"
    taken = run_cli(
        "backup", str(backup_file), "--data-dir", str(settings.data_dir), env=cli_env(settings)
    )
    assert taken.returncode == 0, taken.stderr
    for force in ([], ["--force"]):
        refused = run_cli(
            "restore",
            str(backup_file),
            *force,
            "--data-dir",
            str(settings.data_dir),
            env=cli_env(settings),
        )
        assert refused.returncode == 2, refused.stdout
        assert "a running trade-analysis service uses this database" in refused.stderr
    # Nothing was replaced: the service goes on with its ledger.
    upload(client, seed=1)
    assert len(client.get("/trades").json()["all_trades"]) == 1


def test_a_backup_holds_uploads_and_screenshots_and_restore_puts_them_back(
    settings: Settings, tmp_path: Path
) -> None:
    screenshot = settings.screenshots_dir / "hwnd_42" / "frame.png"
    with TestClient(create_app(settings)) as client:
        client.headers.update(AUTH)
        image_url = upload(client)
        uploaded = client.get(image_url).content
        screenshot.parent.mkdir(parents=True)
        screenshot.write_bytes(image_bytes(seed=3))
        backup_file = tmp_path / "ledger.backup"
        env = cli_env(settings)
        taken = run_cli("backup", str(backup_file), "--data-dir", str(settings.data_dir), env=env)
        assert taken.returncode == 0, taken.stderr
        assert "1 upload(s) and 1 screenshot(s)" in taken.stdout
    with tarfile.open(backup_file) as archive:
        names = set(archive.getnames())
    database_member = "database.pgdump" if on_postgres(settings) else "database.sqlite3"
    assert {"manifest.json", database_member, "screenshots/hwnd_42/frame.png"} <= names
    assert "uploads/" + image_url.rsplit("/", 1)[1] in names

    fresh = tmp_path / "fresh"
    if on_postgres(settings):
        _reset_postgres(settings.resolved_database_url)
    restored = run_cli("restore", str(backup_file), "--data-dir", str(fresh), env=env)
    assert restored.returncode == 0, restored.stderr
    assert (fresh / "screenshots" / "hwnd_42" / "frame.png").read_bytes() == screenshot.read_bytes()
    same_database = settings.database_url if on_postgres(settings) else ""
    revived = settings.model_copy(update={"data_dir": fresh, "database_url": same_database})
    with TestClient(create_app(revived)) as client:
        client.headers.update(AUTH)
        assert client.get(image_url).content == uploaded
        assert len(client.get("/trades").json()["all_trades"]) == 1


def test_a_backup_with_a_name_outside_its_folders_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    evil = tmp_path / "evil.backup"
    with tarfile.open(evil, "w") as archive:
        manifest = b'{"format": "trade-analysis-backup", "version": 1, "database": "sqlite"}'
        for name, data in (("manifest.json", manifest), ("../escaped", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    fresh = tmp_path / "fresh"
    result = run_cli("restore", str(evil), "--data-dir", str(fresh), env={"DATABASE_URL": ""})
    assert result.returncode == 2 and "'../escaped', which no backup has" in result.stderr
    assert not (tmp_path / "escaped").exists()


NO_URL = {"DATABASE_URL": ""}  # SQLite in --data-dir


def test_backup_and_restore_show_sqlite_page_progress_on_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url="", api_key="k")
    with TestClient(create_app(settings)):
        pass  # the schema
    backup_file = tmp_path / "ledger.backup"
    shown = run_on_terminal("backup", str(backup_file), "--data-dir", str(data), env=NO_URL)
    assert "backing up pages" in shown and "backed up to" in shown
    fresh = str(tmp_path / "fresh")
    shown = run_on_terminal("restore", str(backup_file), "--data-dir", fresh, env=NO_URL)
    assert "restoring pages" in shown and "restored" in shown
    quiet = run_cli("backup", str(tmp_path / "again.backup"), "--data-dir", str(data))
    assert quiet.returncode == 0 and "pages" not in quiet.stderr  # not a terminal: no bar


def fake_pg_tool(folder: Path, name: str) -> Path:
    """A `name` on PATH that records its argv and PGPASSWORD, then succeeds."""
    folder.mkdir(exist_ok=True)
    record = folder / f"{name}.seen"
    script = folder / name
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, json\n"
        f"open({str(record)!r}, 'w').write(json.dumps("
        "{'argv': sys.argv, 'password': os.environ.get('PGPASSWORD')}))\n"
        "for a in sys.argv:\n"
        "    if a.startswith('--file='): open(a[7:], 'wb').write(b'PGDMP')\n"
    )
    script.chmod(0o755)
    return record


def test_pg_dump_and_pg_restore_get_the_password_from_the_environment_never_argv(
    tmp_path: Path,
) -> None:
    import json

    tools = tmp_path / "bin"
    dumped, restored = fake_pg_tool(tools, "pg_dump"), fake_pg_tool(tools, "pg_restore")
    secret = "s3cret-Pa55"
    url = make_url(POSTGRES_URL).set(password=secret).render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    backup_file = tmp_path / "ledger.dump"
    _reset_postgres(POSTGRES_URL)
    taken = run_cli("backup", str(backup_file), "--data-dir", str(tmp_path / "d"), env=env)
    assert taken.returncode == 0, taken.stderr
    seen = json.loads(dumped.read_text())
    assert seen["password"] == secret and not any(secret in a for a in seen["argv"])
    assert any(a.startswith("postgresql://postgres@") for a in seen["argv"])
    run_cli("restore", str(backup_file), "--data-dir", str(tmp_path / "d"), env=env)
    seen = json.loads(restored.read_text())
    assert seen["password"] == secret and not any(secret in a for a in seen["argv"])


def test_export_neutralises_formulas_on_the_command_line(
    client: TestClient, settings: Settings
) -> None:
    formula = "=cmd|' /C calc'!A0"
    upload(client, name=formula)
    result = run_cli(
        "export", "history", "--data-dir", str(settings.data_dir), env=cli_env(settings)
    )
    assert result.returncode == 0, result.stderr
    names = [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))]
    assert names == ["'" + formula] * 2  # the observation and its trade


def test_export_selects_the_records_history_csv_answers_with(
    client: TestClient, settings: Settings
) -> None:
    upload(client, name="kept")
    query = {"ticker": "aapl", "days": 1}
    answer = client.get("/history.csv", params=query)
    result = run_cli(
        "export",
        "history",
        "--ticker",
        "aapl",
        "--days",
        "1",
        "--data-dir",
        str(settings.data_dir),
        env=cli_env(settings),
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["name"] for row in rows] == ["kept"] * 2
    assert rows == list(csv.DictReader(io.StringIO(answer.text)))


def test_export_refuses_a_window_that_ends_before_it_starts(settings: Settings) -> None:
    result = run_cli(
        "export",
        "history",
        "--start-ts",
        "2026-01-02T00:00:00",
        "--end-ts",
        "2026-01-01T00:00:00",
        "--data-dir",
        str(settings.data_dir),
        env=cli_env(settings),
    )
    assert result.returncode == 2
    assert "end_ts is before the start" in result.stderr

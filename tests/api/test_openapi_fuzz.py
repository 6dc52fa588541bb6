"""Inputs generated from the OpenAPI document: none may make the server answer 5xx.

On SQLite and on PostgreSQL, whatever TEST_DATABASE_URL says: the two refuse
different things (PostgreSQL: NUL characters, out-of-range integers), and a
refusal the API did not foresee is a 500.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from sqlalchemy.exc import OperationalError

from tests.conftest import AUTH, _reset_postgres
from tests.support.databases import POSTGRES_URL
from tests.support.xvfb import missing
from trade_analysis.app import create_app
from trade_analysis.config import Settings, normalise_database_url


def fuzzed_database(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'trade_analysis.db'}"
    url = os.environ.get("TEST_DATABASE_URL") or POSTGRES_URL
    try:
        _reset_postgres(url)
    except OperationalError as error:
        missing(f"no PostgreSQL to fuzz at {url}: {error.orig}")
    return normalise_database_url(url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_generated_requests_never_get_a_server_error(
    settings: Settings, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a display, capture routes answer 503 by design; everything else is fuzzed for real.
    monkeypatch.delenv("DISPLAY", raising=False)
    database = fuzzed_database(backend, tmp_path)
    app = create_app(settings.model_copy(update={"database_url": database}))
    with TestClient(app, raise_server_exceptions=False) as client:
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json", headers=AUTH).json())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 20
        for operation in operations:
            exercise(client, operation)


def exercise(client: TestClient, operation: schemathesis.APIOperation) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def no_server_error(case: schemathesis.Case) -> None:
        request = case.as_transport_kwargs(base_url="http://testserver", headers=AUTH)
        # Translate requests-style arguments to httpx's: raw bodies go in `content`.
        if request.pop("cookies", None):
            raise AssertionError("the API sets no cookies, so none are generated")
        if isinstance(request.get("data"), bytes | str):
            request["content"] = request.pop("data")
        response = client.request(**request)
        if response.status_code == 503 and "DISPLAY" in response.text:
            return  # no display here: capture says so, as designed
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} {request} -> {response.status_code}"
        )

    no_server_error()

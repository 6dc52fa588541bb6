"""Settings: the seed's variable names, and refusals of unsafe combinations."""

from __future__ import annotations

import pytest

from trade_analysis.config import Settings, UnsafeConfiguration


def test_seed_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_API_KEY", "s3cret-key")
    monkeypatch.setenv("DEV_ALLOW_ORIGINS", "http://localhost:3000, http://localhost:5173")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1024")
    settings = Settings()
    assert settings.api_key == "s3cret-key"
    assert settings.dev_allow_origins == ["http://localhost:3000", "http://localhost:5173"]
    assert settings.cors_origins() == (["http://localhost:3000", "http://localhost:5173"], True)
    assert (settings.retention_days, settings.max_upload_bytes) == (30, 1024)


def test_allow_all_cors_never_sends_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_ALLOW_ALL_CORS", "1")
    assert Settings().cors_origins() == (["*"], False)


def test_default_sqlite_database_lives_in_the_data_directory(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/trade_analysis.db"
    postgres = Settings(database_url="postgresql://u@h/db").resolved_database_url
    assert postgres == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_default_key_refuses_public_addresses(host: str) -> None:
    with pytest.raises(UnsafeConfiguration, match="BACKEND_API_KEY"):
        Settings(api_key="devkey").check_bind_address(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_default_key_is_allowed_on_loopback(host: str) -> None:
    Settings(api_key="devkey").check_bind_address(host)


def test_a_real_key_may_listen_anywhere() -> None:
    Settings(api_key="long-random-secret").check_bind_address("0.0.0.0")


def test_bus_channels_live_under_a_configurable_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from trade_analysis.live import Channels

    monkeypatch.setenv("BUS_CHANNEL_PREFIX", "desk-2")
    channels = Channels(Settings().bus_channel_prefix)
    assert (channels.events, channels.commands, channels.state) == (
        "desk-2.events",
        "desk-2.capture.commands",
        "desk-2.capture.state",
    )
    assert channels.replies("api1") == "desk-2.capture.replies.api1"
    monkeypatch.setenv("BUS_CHANNEL_PREFIX", "bad prefix*")
    with pytest.raises(ValueError, match=r"bus_channel_prefix|BUS_CHANNEL_PREFIX"):
        Settings()


def test_a_wildcard_origin_list_never_sends_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEV_ALLOW_ORIGINS", "http://localhost:5173,*")
    assert Settings().cors_origins() == (["*"], False)

"""Settings, read from the environment with the seed's variable names."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trade_analysis.db.session import DatabaseTimeouts
from trade_analysis.trading.fills import FREE, Costs
from trade_analysis.trading.rules import CostsSettings

DEFAULT_API_KEY = "devkey"


class UnsafeConfiguration(ValueError):
    """A combination of settings that would expose the service; the message says why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    api_key: str = Field(
        DEFAULT_API_KEY, validation_alias=AliasChoices("BACKEND_API_KEY", "api_key"), min_length=1
    )
    # More keys valid at the same time, so a key can be rotated without downtime.
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("BACKEND_API_KEYS", "api_keys")
    )
    dev_allow_all_cors: bool = Field(
        False, validation_alias=AliasChoices("DEV_ALLOW_ALL_CORS", "dev_allow_all_cors")
    )
    dev_allow_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("DEV_ALLOW_ORIGINS", "dev_allow_origins"),
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("ALLOWED_HOSTS", "allowed_hosts"),
        description="host names this service answers to (the Host header), besides loopback "
        "ones; with none set and a key of your own, any",
    )
    token_ttl_seconds: int = Field(
        300,
        ge=2,
        le=3600,
        validation_alias=AliasChoices("BROWSER_TOKEN_SECONDS", "token_ttl_seconds"),
        description="lifetime of a browser token (?token= in WebSocket, image and docs URLs)",
    )
    max_json_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1024 * 1024,
        validation_alias=AliasChoices("MAX_JSON_BYTES", "max_json_bytes"),
        description="largest request body of every route but the uploads (413 beyond)",
    )
    max_websocket_clients: int = Field(
        64,
        ge=1,
        validation_alias=AliasChoices("MAX_WEBSOCKET_CLIENTS", "max_websocket_clients"),
        description="open WebSockets per process; one more is closed with 1013",
    )
    max_websocket_message_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        validation_alias=AliasChoices("MAX_WEBSOCKET_MESSAGE_BYTES", "max_websocket_message_bytes"),
        description="largest message a WebSocket client may send (the server closes with 1009)",
    )
    header_timeout_seconds: float = Field(
        10,
        gt=0,
        le=300,
        validation_alias=AliasChoices("HEADER_TIMEOUT_SECONDS", "header_timeout_seconds"),
        description="time a client has to send a request's headers (served by `serve`)",
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        le=1024 * 1024,
        validation_alias=AliasChoices("MAX_HEADER_BYTES", "max_header_bytes"),
        description="largest request line and headers (served by `serve`)",
    )
    data_dir: Path = Field(
        Path("data"), validation_alias=AliasChoices("TRADE_ANALYSIS_DATA_DIR", "data_dir")
    )
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    bus_url: str = Field("memory://", validation_alias=AliasChoices("BUS_URL", "bus_url"))
    bus_channel_prefix: str = Field(
        "trade-analysis",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        validation_alias=AliasChoices("BUS_CHANNEL_PREFIX", "bus_channel_prefix"),
    )
    capture_mode: Literal["local", "agent"] = Field(
        "local", validation_alias=AliasChoices("CAPTURE_MODE", "capture_mode")
    )
    retention_days: float = Field(
        7, gt=0, validation_alias=AliasChoices("RETENTION_DAYS", "retention_days")
    )
    retention_interval_seconds: float = Field(
        3600,
        gt=0,
        validation_alias=AliasChoices("RETENTION_INTERVAL_SECONDS", "retention_interval_seconds"),
    )
    orphan_grace_seconds: float = Field(
        3600,
        gt=0,
        validation_alias=AliasChoices("ORPHAN_GRACE_SECONDS", "orphan_grace_seconds"),
    )
    # Each summary goes to every live client, which compresses its own copy: with open
    # positions marked to market it is ~8 KB at 20 bots, so its rate is the fan-out's cost.
    summary_interval_seconds: float = Field(
        0.25,
        ge=0,
        le=60,
        validation_alias=AliasChoices("SUMMARY_INTERVAL_SECONDS", "summary_interval_seconds"),
    )
    metrics_enabled: bool = Field(
        True, validation_alias=AliasChoices("METRICS_ENABLED", "metrics_enabled")
    )
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("LOG_FORMAT", "log_format")
    )
    history_max_rows: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices("HISTORY_MAX_ROWS", "history_max_rows"),
    )
    max_upload_bytes: int = Field(
        10 * 1024 * 1024,
        gt=0,
        validation_alias=AliasChoices("MAX_UPLOAD_BYTES", "max_upload_bytes"),
    )
    max_upload_pixels: int = Field(
        3840 * 2400,
        gt=0,
        validation_alias=AliasChoices("MAX_UPLOAD_PIXELS", "max_upload_pixels"),
        description="width x height an uploaded or imported image may declare (decoding "
        "costs 3 bytes a pixel); the default is a 4K screen at 16:10",
    )

    writer_max_jobs: int = Field(
        256,
        ge=1,
        validation_alias=AliasChoices("WRITER_MAX_JOBS", "writer_max_jobs"),
        description="observations waiting to be stored before /ingest answers 503",
    )
    writer_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1,
        validation_alias=AliasChoices("WRITER_MAX_BYTES", "writer_max_bytes"),
        description="upload bytes waiting to be stored before /ingest answers 503",
    )
    db_connect_timeout_seconds: float = Field(
        5,
        gt=0,
        validation_alias=AliasChoices("DB_CONNECT_TIMEOUT_SECONDS", "db_connect_timeout_seconds"),
    )
    db_statement_timeout_seconds: float = Field(
        30,
        gt=0,
        validation_alias=AliasChoices(
            "DB_STATEMENT_TIMEOUT_SECONDS", "db_statement_timeout_seconds"
        ),
    )
    db_lock_timeout_seconds: float = Field(
        10,
        gt=0,
        validation_alias=AliasChoices("DB_LOCK_TIMEOUT_SECONDS", "db_lock_timeout_seconds"),
    )
    resume_look_seconds: float = Field(
        3.0,
        ge=0,
        description="how often capture looks for the windows of bots waiting for theirs "
        "(one window listing); 0 looks only at start",
        validation_alias=AliasChoices("RESUME_LOOK_SECONDS", "resume_look_seconds"),
    )
    shutdown_timeout_seconds: float = Field(
        20,
        gt=0,
        validation_alias=AliasChoices("SHUTDOWN_TIMEOUT_SECONDS", "shutdown_timeout_seconds"),
    )

    # A bot's costs where its own settings (`costs`) leave one out; all off by default.
    default_costs_settings: CostsSettings = Field(
        default_factory=CostsSettings,
        validation_alias=AliasChoices("DEFAULT_COSTS", "default_costs_settings"),
        description="JSON object of a bot's `costs` fields, the defaults of every bot",
    )

    @field_validator("dev_allow_origins", "api_keys", "allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def default_costs(self) -> Costs:
        return self.default_costs_settings.over(FREE)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def screenshots_dir(self) -> Path:
        return self.data_dir / "screenshots"

    @property
    def trade_screenshots_dir(self) -> Path:
        """The frames kept around each trade (trade_frames.py)."""
        return self.data_dir / "trade_screenshots"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'trade_analysis.db').resolve()}"

    @property
    def valid_keys(self) -> tuple[str, ...]:
        """BACKEND_API_KEY and BACKEND_API_KEYS; the default key only when nothing is set.

        The first is the one that signs browser tokens.
        """
        if self.api_keys and self.api_key == DEFAULT_API_KEY:
            return tuple(self.api_keys)
        return (self.api_key, *(key for key in self.api_keys if key != self.api_key))

    @property
    def database_timeouts(self) -> DatabaseTimeouts:
        return DatabaseTimeouts(
            connect=self.db_connect_timeout_seconds,
            statement=self.db_statement_timeout_seconds,
            lock=self.db_lock_timeout_seconds,
        )

    @property
    def uses_default_key(self) -> bool:
        return DEFAULT_API_KEY in self.valid_keys

    @property
    def any_origin(self) -> bool:
        """DEV_ALLOW_ALL_CORS, or `*` among DEV_ALLOW_ORIGINS."""
        return self.dev_allow_all_cors or "*" in self.dev_allow_origins

    def cors_origins(self) -> tuple[list[str], bool]:
        """Origins and whether credentials may be sent; `*` never goes with credentials."""
        if self.any_origin:
            return ["*"], False
        return list(self.dev_allow_origins), True

    def check_exposure(self) -> None:
        """Refuse what would let other websites or other names reach the default key.

        The default key is public: any page the trader opens could send it, so
        with it no origin may be let in wholesale and no host name beyond
        loopback may be served (a name of the attacker's, rebound to 127.0.0.1,
        is how a page reaches a loopback service).
        """
        if not self.uses_default_key:
            return
        if self.any_origin:
            raise UnsafeConfiguration(
                f"refusing DEV_ALLOW_ALL_CORS / DEV_ALLOW_ORIGINS=* with the default API key "
                f"{DEFAULT_API_KEY!r}: any website open in the browser could use the service. "
                "Set BACKEND_API_KEY to a long random secret, or name the origins."
            )
        public = [host for host in self.allowed_hosts if not is_loopback(host)]
        if public:
            raise UnsafeConfiguration(
                f"refusing ALLOWED_HOSTS={','.join(public)} with the default API key "
                f"{DEFAULT_API_KEY!r}: a name beyond loopback means the service is reachable "
                "through it. Set BACKEND_API_KEY to a long random secret."
            )

    def check_bind_address(self, host: str) -> None:
        """Refuse to listen beyond loopback while the public default key is in use."""
        if self.uses_default_key and not is_loopback(host):
            raise UnsafeConfiguration(
                f"refusing to listen on {host!r} with the default API key {DEFAULT_API_KEY!r}: "
                "anyone who can reach this address could trade and read the ledger. "
                "Set BACKEND_API_KEY to a long random secret, or listen on 127.0.0.1."
            )


def is_loopback(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_database_url(url: str) -> str:
    """`postgresql://` means psycopg 3, the driver we ship, rather than psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url

"""Configuration from environment variables (and an optional `.env` file).

Variables keep the plain names (and defaults) of the deployments predhub
replaces, so their configuration works unchanged; predhub's own variables
carry the `PREDHUB_` prefix only where a bare name would be ambiguous.
Settings are built by `get_settings()` when a command starts, never at import,
and every value is checked then: numbers against their ranges, URLs against
their schemes, and structured strings (venue lists, budgets, rate limits, the
static schedule's day) parsed into typed values by `predhub.config_values`, so
a mistake stops the command with one line instead of surfacing later.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args
from urllib.parse import quote

import platformdirs
from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from predhub.config_values import (
    HTTP_SCHEMES,
    VENUE_NAMES,
    WS_SCHEMES,
    StaticDay,
    check_postgres_url,
    check_url,
    format_level_limits,
    format_level_permissions,
    format_rate_limits,
    parse_fee_multipliers,
    parse_level_limits,
    parse_level_permissions,
    parse_postgres_urls,
    parse_rate_limits,
    parse_request_budgets,
    parse_static_day,
    parse_venue_list,
    parse_volume_floors,
)
from predhub.venues.descriptor import VenueSettingsSpec, descriptor, descriptors
from predhub.venues.ratelimit import RateLimit

__all__ = ["VENUE_NAMES", "Settings", "get_settings", "mask_url"]

HttpUrl = Annotated[str, AfterValidator(lambda value: check_url(value, HTTP_SCHEMES))]
WsUrl = Annotated[str, AfterValidator(lambda value: check_url(value, WS_SCHEMES))]
VenueList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(parse_venue_list)]
RequestBudgets = Annotated[dict[str, float], NoDecode, BeforeValidator(parse_request_budgets)]
VolumeFloors = Annotated[dict[str, float], NoDecode, BeforeValidator(parse_volume_floors)]
FeeMultipliers = Annotated[dict[str, float], NoDecode, BeforeValidator(parse_fee_multipliers)]
LevelPermissions = Annotated[
    dict[str, frozenset[str]], NoDecode, BeforeValidator(parse_level_permissions)
]
LevelLimits = Annotated[dict[str, tuple[int, int]], NoDecode, BeforeValidator(parse_level_limits)]
PostgresUrls = Annotated[tuple[str, ...], NoDecode, BeforeValidator(parse_postgres_urls)]
RateLimits = Annotated[
    dict[str, dict[str, RateLimit]], NoDecode, BeforeValidator(parse_rate_limits)
]


def _venue_fields() -> dict[str, Any]:
    """One field per venue setting, named `<prefix>_<key>` as its environment variable."""
    fields: dict[str, Any] = {}
    for desc in descriptors():
        spec = desc.settings
        fields[spec.top_n_field] = (
            int,
            Field(default=spec.top_n, ge=0, description=f"Top-N {desc.display_name} markets"),
        )
        for key, default in spec.urls.items():
            kind = WsUrl if default.startswith(("ws://", "wss://")) else HttpUrl
            fields[spec.field(key)] = (
                kind,
                Field(default=default, description=f"{desc.display_name} {key.replace('_', ' ')}"),
            )
        for key in spec.secrets:
            fields[spec.field(key)] = (SecretStr | None, None)
        for key, file in spec.files.items():
            fields[spec.field(key)] = (
                Annotated[Path | None, AfterValidator(_file_check(spec, key, file.check))],
                Field(default=None, validate_default=True, description=file.description),
            )
        for key, flag in spec.flags.items():
            fields[spec.field(key)] = (
                bool,
                Field(default=flag.default, description=flag.description),
            )
    return fields


def _file_check(
    spec: VenueSettingsSpec, key: str, check: Callable[[Path], None]
) -> Callable[[Path | None, ValidationInfo], Path | None]:
    """A validator of a venue's file setting: set with its partners, and the file passes `check`.

    Secrets come before files among the fields, so the partners' values are
    in `info.data` when the file is checked (unset partner files are None).
    """

    def validate(value: Path | None, info: ValidationInfo) -> Path | None:
        if key in spec.together:
            others = [k for k in spec.together if k != key]
            unset = [k for k in others if not _is_set(info.data.get(spec.field(k)))]
            if value is not None and unset:
                names = ", ".join(spec.field(k).upper() for k in unset)
                raise ValueError(f"needs {names} as well")
            if value is None and len(unset) < len(others):
                given = ", ".join(spec.field(k).upper() for k in others if k not in unset)
                raise ValueError(f"must be set when {given} is")
        if value is not None:
            check(value)
        return value

    return validate


def _is_set(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return value is not None


if TYPE_CHECKING:  # the type checker sees the common fields; venue fields go through venue()
    _VenueFields = BaseSettings
else:
    _VenueFields = create_model("_VenueFields", __base__=BaseSettings, **_venue_fields())


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """One venue's settings, gathered from its `Settings` fields."""

    name: str
    urls: dict[str, str]
    secrets: dict[str, SecretStr | None]
    top_n: int
    files: dict[str, Path | None]
    flags: dict[str, bool]

    def url(self, key: str = "url") -> str:
        return self.urls[key]

    def secret(self, key: str = "api_key") -> SecretStr | None:
        return self.secrets[key]

    def file(self, key: str) -> Path | None:
        return self.files[key]

    def flag(self, key: str) -> bool:
        return self.flags[key]


# A setting that may not be below another one: {field: the field bounding it}.
_LOWER_BOUNDS = {
    "db_pool_max": "db_pool_min",
    "http_backoff_max_seconds": "http_backoff_base_seconds",
}


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("predhub", appauthor=False))


class Settings(_VenueFields):
    """The effective configuration of one predhub process."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        allow_inf_nan=False,
    )

    # --- database -------------------------------------------------------------
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL; unset starts the embedded server"
    )
    postgres_host: str | None = Field(default=None, description="Alternative to DATABASE_URL")
    postgres_port: int = Field(default=5432, ge=1, le=65535)
    postgres_db: str = Field(default="postgres", min_length=1)
    postgres_user: str = Field(default="postgres", min_length=1)
    postgres_password: SecretStr | None = None
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=AliasChoices("PREDHUB_DATA_DIR", "DATA_DIR"),
        description="Where the embedded PostgreSQL keeps its data directory",
    )
    embedded_pg_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        validation_alias=AliasChoices("PREDHUB_EMBEDDED_PG_PORT"),
        description="TCP port of the embedded server on 127.0.0.1 (0 picks a free one)",
    )
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1, description="At least DB_POOL_MIN")
    database_read_urls: PostgresUrls = Field(
        default=(),
        description=(
            "Comma-separated streaming replicas that carry the API's reads; empty reads"
            " from DATABASE_URL"
        ),
    )
    database_read_max_lag_seconds: float = Field(
        default=10,
        gt=0,
        description="A replica further behind the primary than this is skipped for reads",
    )
    database_session_url: SecretStr | None = Field(
        default=None,
        description=(
            "Where LISTEN and session-level locks (migrations) connect; unset uses"
            " DATABASE_URL. Behind PgBouncer in transaction mode: PostgreSQL itself"
        ),
    )
    db_statement_cache_size: int = Field(
        default=100,
        ge=0,
        description="asyncpg's prepared statements per connection; 0 behind PgBouncer < 1.21",
    )

    # --- top-N strategy and schedules --------------------------------------------
    top_n_markets: int = Field(default=500, ge=0)  # each venue's own top-N is a venue field
    min_volume_usd: float = Field(default=10_000, ge=0)
    static_schedule_enabled: bool = True
    static_schedule_day: Annotated[StaticDay, BeforeValidator(parse_static_day)] = Field(
        default="sun", description="mon … sun, or daily"
    )
    static_schedule_hour: int = Field(default=2, ge=0, le=23)
    delta_schedule_enabled: bool = True
    delta_schedule_interval_hours: float = Field(default=1, gt=0)
    delta_price_interval_minutes: float = Field(default=15, gt=0)
    price_fetch_batch_size: int = Field(default=50, ge=1)
    db_cache_ttl_seconds: int = Field(default=60, ge=0)
    database_only_mode: bool = False

    # --- venues -----------------------------------------------------------------
    # each venue's URLs, keys and top-N are fields from its descriptor (see `venue()`)
    enabled_venues: VenueList = Field(
        default=VENUE_NAMES, description="Comma-separated venues the hub syncs"
    )
    http_timeout_seconds: float = Field(default=15.0, gt=0)
    http_max_retries: int = Field(default=5, ge=0)
    http_concurrency: int = Field(default=32, ge=1)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    rate_limit_scale: float = Field(
        default=0.9,
        gt=0,
        description=(
            "Multiplies every venue's documented request budget; a margin under it, since"
            " network jitter bunches requests up on their way to the venue"
        ),
    )
    venue_rate_limits: RateLimits = Field(
        default_factory=dict,
        description="Per-endpoint budget overrides: venue:endpoint=requests/seconds;...",
    )
    http_backoff_base_seconds: float = Field(
        default=0.5, gt=0, description="First retry waits up to this (full jitter, doubling)"
    )
    http_backoff_max_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait between retries, Retry-After included"
    )
    ws_ping_seconds: float = Field(default=10.0, gt=0)
    ws_silence_seconds: float = Field(
        default=30.0, gt=0, description="A live feed silent this long is resubscribed"
    )
    stream_thread: bool = Field(
        default=True,
        description=(
            "A worker runs its live streams on a thread with its own event loop, so job work"
            " does not queue their messages"
        ),
    )
    stream_flush_seconds: float = Field(
        default=0.02,
        gt=0,
        description="Live-stream updates are written in batches at least this often",
    )

    # --- ingestion and freshness engine -------------------------------------------
    bronze_retention_days: int = Field(default=30, ge=1)
    high_volume_24h_usd: float = Field(default=1_000, ge=0)
    closing_soon_hours: float = Field(default=24, gt=0)
    recently_closed_days: float = Field(default=7, gt=0)
    hot_interest_minutes: float = Field(default=30, gt=0)
    high_quotes_interval_seconds: float = Field(default=60, gt=0)
    worker_lease_seconds: float = Field(default=60, gt=0)
    worker_budget_share: float = Field(
        default=0.8, gt=0, le=1, description="Share of each venue's rate budget workers may use"
    )
    scheduler_cycle_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker re-plans each venue's work"
    )
    high_trades_interval_seconds: float = Field(default=300, gt=0)
    books_interval_seconds: float = Field(
        default=300, gt=0, description="Order-book snapshots of high-priority markets"
    )
    metadata_interval_hours: float = Field(default=24, gt=0)
    low_priority_factor: float = Field(
        default=4, ge=1, description="Low-priority markets refresh this many times less often"
    )
    worker_concurrency: int = Field(default=4, ge=1, description="Jobs run at once per venue")
    history_sample_seconds: float = Field(
        default=900,
        gt=0,
        le=86400,
        description="A quote write samples price history at least this often per outcome",
    )
    history_high_sample_seconds: float = Field(
        default=60,
        gt=0,
        le=86400,
        description="The same for high-priority markets",
    )
    history_1m_retention_days: float = Field(
        default=14, gt=0, description="Price history points (1-minute resolution) kept this long"
    )
    history_15m_retention_days: float = Field(
        default=0, ge=0, description="15-minute OHLC kept this long; 0 keeps it forever"
    )
    history_1h_retention_days: float = Field(
        default=0, ge=0, description="Hourly OHLC kept this long; 0 keeps it forever"
    )
    history_rollup_seconds: float = Field(
        default=60, gt=0, description="How often a worker rolls price history up"
    )
    history_backfill_markets: int = Field(
        default=20, ge=1, le=1000, description="New markets per history backfill job"
    )
    history_load_enabled: bool = Field(
        default=False,
        description="Workers walk each venue's closed catalogue in the background (slowly)",
    )
    history_load_pages: int = Field(
        default=2, ge=1, le=10_000, description="Closed-listing pages per background history run"
    )
    history_load_interval_seconds: float = Field(
        default=600, gt=0, description="How often a background history run starts, per venue"
    )
    history_load_concurrency: int = Field(
        default=8,
        ge=1,
        le=256,
        description=(
            "Venue requests in flight in a history load (the venue's rate limit paces it; "
            "each idle connection costs the HTTP client time on every request)"
        ),
    )
    history_load_rps: float = Field(
        default=0,
        ge=0,
        description=(
            "Requests per second a `predhub ingest history` run may send (`--rps`), on top of"
            " the workers' share; 0: as many as the venue's published limits allow"
        ),
    )
    history_load_days: float = Field(
        default=90, gt=0, description="Price history read per closed market, back from its end"
    )
    venue_request_budgets: RequestBudgets = Field(
        default_factory=dict,
        description="Per-venue request budget overrides: venue=requests/second,...",
    )

    # --- gold tables and retention ---------------------------------------------------
    gold_hot_seconds: float = Field(
        default=60, gt=0, description="Gold tables fold in what changed this often"
    )
    gold_warm_seconds: float = Field(
        default=900, gt=0, description="Moves and activity re-checked as their windows slide"
    )
    gold_min_volume_usd: float = Field(
        default=1_000, ge=0, description="24 h volume a market needs to rank as a mover or trending"
    )
    gold_ranked_rows: int = Field(
        default=100, ge=1, le=10_000, description="Rows kept per movers window and in trending"
    )
    match_interval_seconds: float = Field(
        default=300, gt=0, description="The cross-venue matcher folds in changed markets this often"
    )
    match_review_confidence: float = Field(
        default=0.7, ge=0, le=1, description="Matches at or above this confidence are for review"
    )
    match_min_confidence: float = Field(
        default=0.4, ge=0, le=1, description="Proposals below this confidence are not stored"
    )
    match_max_token_markets: int = Field(
        default=200, ge=2, description="A word carried by more open markets does not pair them"
    )
    match_window_days: float = Field(
        default=800, gt=0, description="Markets closing further apart are never matched"
    )
    match_top_k: int = Field(default=6, ge=1, le=100, description="Candidates kept per market")
    top_volume_floors: VolumeFloors = Field(
        default_factory=dict,
        description="Per-venue 24 h volume floors of the top markets: venue=usd,...; "
        "unset venues use their adapter's floor",
    )
    arbitrage_freshness_seconds: float = Field(
        default=60, gt=0, description="An arbitrage leg's book must be at most this old"
    )
    arbitrage_min_confidence: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Proposed matches at or above this confidence are priced like confirmed ones",
    )
    arbitrage_retention_days: float = Field(
        default=30, ge=0, description="Closed arbitrage opportunities kept this long; 0 forever"
    )
    fee_multipliers: FeeMultipliers = Field(
        default_factory=dict,
        description="Fee multipliers of venue series (a series' fee_multiplier): SERIES=number,...;"
        " unset series use the multiplier stored with the market, else 1",
    )
    jobs_retention_hours: float = Field(
        default=6, gt=0, description="Finished jobs are deleted after this long"
    )
    book_snapshots_full_days: float = Field(
        default=7, gt=0, description="Order-book snapshots older than this keep one per hour"
    )
    loads_retention_days: float = Field(default=30, gt=0, description="ops.loads rows kept")
    quarantine_retention_days: float = Field(
        default=30, gt=0, description="Quarantined items kept this long"
    )
    retention_interval_minutes: float = Field(
        default=60, gt=0, description="How often the worker prunes old rows"
    )

    # --- API -------------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", min_length=1)
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_workers: int = Field(default=1, ge=1)
    admin_api_key: SecretStr | None = None
    cors_allow_origins: str = Field(
        default="",
        description="Comma-separated origins browsers may call the API from; empty: CORS off",
    )
    api_max_body_bytes: int = Field(
        default=256 * 1024, ge=1, description="Larger request bodies get a 413"
    )
    api_max_header_bytes: int = Field(
        default=32 * 1024, ge=1024, description="Larger request headers (all together) get a 431"
    )
    api_compress_min_bytes: int = Field(
        default=1024,
        ge=0,
        description="Answers at least this large are compressed (brotli or gzip) when the "
        "client accepts it",
    )
    api_require_keys: bool = Field(
        default=False, description="Reads need an API key too (writes and admin always do)"
    )
    access_level_permissions: LevelPermissions = Field(
        default_factory=lambda: parse_level_permissions(""),
        description="What each account level may do: level=read+write+admin,...; unlisted"
        " levels keep admin=read+write+admin,vip=read+write,whitelist=read",
    )
    access_level_limits: LevelLimits = Field(
        default_factory=lambda: parse_level_limits(""),
        description="Per-key limits per minute: level=requests/upstream_refreshes,...; unlisted"
        " levels keep admin=6000/600,vip=1200/120,whitelist=300/30",
    )
    api_key_cache_seconds: float = Field(
        default=30,
        ge=0,
        description="Reads trust a checked key this long (changes are announced sooner)",
    )
    analysis_archive_days: float = Field(
        default=30, gt=0, description="Analyses older than this move to the archive table"
    )
    research_upkeep_minutes: float = Field(
        default=10, gt=0, description="How often a worker deletes expired research and archives"
    )
    tier_t1_seconds: float = Field(default=30, gt=0)
    tier_t2a_seconds: float = Field(default=2, gt=0)
    tier_t2b_seconds: float = Field(default=15, gt=0)
    tier_t3_seconds: float = Field(default=120, gt=0)
    tier_t4_seconds: float = Field(default=900, gt=0)

    # --- backups and monitoring ---------------------------------------------------------
    backup_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PREDHUB_BACKUP_DIR", "BACKUP_DIR"),
        description="Where backups go; unset: a backups folder beside the data directory",
    )
    backup_daily: bool = Field(default=False, description="A worker takes a backup every day")
    backup_hour: int = Field(default=3, ge=0, le=23, description="UTC hour of the daily backup")
    backup_keep: int = Field(default=7, ge=1, description="Daily backups kept (older deleted)")
    wal_archive_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PREDHUB_WAL_ARCHIVE_DIR", "WAL_ARCHIVE_DIR"),
        description="The embedded server archives its WAL and keeps base backups here, for"
        " point-in-time recovery; unset: no archiving",
    )
    wal_archive_timeout_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="With archiving on, a WAL segment is archived at least this often when"
        " anything was written (0: only when full)",
    )
    worker_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the worker's own Prometheus metrics on API_HOST; 0: off",
    )

    # --- simulator ---------------------------------------------------------------------
    sim_host: str = Field(default="127.0.0.1", min_length=1)
    sim_port: int = Field(default=8900, ge=0, le=65535)

    log_level: str = "INFO"
    log_json: bool | None = Field(
        default=None, description="JSON log lines; unset means JSON when stdout is not a TTY"
    )

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("database_url", "database_session_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(check_postgres_url(value.get_secret_value()))

    @field_validator("data_dir", "wal_archive_dir", mode="before")
    @classmethod
    def _data_dir_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a directory path, not empty")
        return value

    @field_validator("wal_archive_dir")
    @classmethod
    def _absolute_archive(cls, value: Path | None) -> Path | None:
        # the server runs archive_command in its data directory: a relative path would land there
        return None if value is None else value.expanduser().absolute()

    @field_validator("db_pool_max", "http_backoff_max_seconds")
    @classmethod
    def _not_below_lower_bound(cls, value: float, info: ValidationInfo) -> float:
        bound = _LOWER_BOUNDS[info.field_name or ""]
        low = info.data.get(bound)
        if low is not None and value < low:
            raise ValueError(f"must be at least {bound.upper()} ({low:g})")
        return value

    @property
    def venues(self) -> list[str]:
        return list(self.enabled_venues)

    def venue(self, name: str) -> VenueConfig:
        """The settings of venue `name` (`UnknownVenue` if no package declares it)."""
        spec = descriptor(name).settings
        return VenueConfig(
            name=name,
            urls={key: str(getattr(self, spec.field(key))) for key in spec.urls},
            secrets={key: getattr(self, spec.field(key)) for key in spec.secrets},
            top_n=int(getattr(self, spec.top_n_field)),
            files={key: getattr(self, spec.field(key)) for key in spec.files},
            flags={key: bool(getattr(self, spec.field(key))) for key in spec.flags},
        )

    @classmethod
    def env_names(cls, field: str) -> tuple[str, ...]:
        """The environment variables that set `field`, the preferred one first."""
        info: FieldInfo = cls.model_fields[field]
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            return tuple(str(choice).upper() for choice in alias.choices)
        if isinstance(alias, str):
            return (alias.upper(),)
        return (field.upper(),)

    @classmethod
    def field_for(cls, name: str) -> str | None:
        """The field a name refers to: a field name or any of its variables, any case."""
        key = name.upper()
        for field in cls.model_fields:
            if key == field.upper() or key in cls.env_names(field):
                return field
        return None

    @classmethod
    def env_name_as_set(cls, field: str) -> str:
        """The variable the user set for `field` (for errors), else the preferred one."""
        names = cls.env_names(field)
        present = {key.upper() for key in os.environ}
        return next((name for name in names if name in present), names[0])

    @classmethod
    def is_secret(cls, field: str) -> bool:
        """Whether `field` holds a secret, never to be printed."""
        annotation = cls.model_fields[field].annotation
        return SecretStr in (get_args(annotation) or (annotation,))

    def display(self) -> dict[str, str]:
        """{variable: value as it would be written}, secrets masked; for `predhub config`."""
        masked = self.masked()
        out: dict[str, str] = {}
        for field in type(self).model_fields:
            value = getattr(self, field)
            if field == "venue_rate_limits":
                text = format_rate_limits(value)
            elif field == "access_level_permissions":
                text = format_level_permissions(value)
            elif field == "access_level_limits":
                text = format_level_limits(value)
            elif field in ("venue_request_budgets", "top_volume_floors"):
                text = ",".join(f"{venue}={rate:g}" for venue, rate in value.items())
            elif field in ("enabled_venues", "database_read_urls"):
                text = ",".join(masked[field] if field == "database_read_urls" else value)
            elif isinstance(value, bool):
                text = str(value).lower()
            else:
                text = "" if masked[field] is None else str(masked[field])
            out[self.env_names(field)[0]] = text
        return out

    def venue_top_n(self) -> dict[str, int]:
        """Each venue's top-N, by venue name."""
        return {d.name: int(getattr(self, d.settings.top_n_field)) for d in descriptors()}

    def top_volume_floor(self, name: str) -> float:
        """The 24 h volume a market of venue `name` needs to rank among its top markets:
        TOP_VOLUME_FLOORS, else the venue's own floor, else MIN_VOLUME_USD."""
        own = descriptor(name).settings.top_volume_floor_usd
        return self.top_volume_floors.get(name, self.min_volume_usd if own is None else own)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]

    def level_limits(self, level: str) -> tuple[int, int]:
        """(requests, upstream refreshes) per minute for a level; unlisted levels get 1/0."""
        return self.access_level_limits.get(level, (1, 0))

    def backups_path(self) -> Path:
        return self.backup_dir or self.data_dir.parent / "predhub-backups"

    def explicit_database_url(self) -> str | None:
        """The configured server, or None when the embedded one should be used."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        if self.postgres_host:
            password = self.postgres_password.get_secret_value() if self.postgres_password else ""
            auth = quote(self.postgres_user, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            return (
                f"postgresql://{auth}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
            )
        return None

    def session_database_url(self) -> str | None:
        """The server for LISTEN and session locks: DATABASE_SESSION_URL, else the database's."""
        if self.database_session_url is not None:
            return self.database_session_url.get_secret_value()
        return self.explicit_database_url()

    def masked(self) -> dict[str, Any]:
        """Every setting with secrets (and passwords inside URLs) masked."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "********" if value.get_secret_value() else ""
            elif name == "database_read_urls":
                out[name] = tuple(mask_url(url) for url in value)
            else:
                out[name] = value
        for name in ("database_url", "database_session_url"):
            secret = getattr(self, name)
            if secret is not None:
                out[name] = mask_url(secret.get_secret_value())
        return out


def mask_url(url: str) -> str:
    """Hide the password in a URL such as postgresql://user:secret@host/db."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":********"
    return f"{scheme}://{creds}@{host}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()

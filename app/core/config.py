"""Settings read from the environment and an env file (``ENV_FILE``, default ``.env``)."""

import os
import secrets
from datetime import UTC, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.numbers import is_currency
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET_KEYS = frozenset({"", "change-me", "changeme", "secret", "your-secret-key-here"})
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The settings cannot be used to start the service."""


class Settings(BaseSettings):
    """Every knob of the service, with defaults that run a newcomer's copy as it is."""

    model_config = SettingsConfigDict(
        env_file=os.environ.get("ENV_FILE", str(PROJECT_ROOT / ".env")),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    PROJECT_NAME: str = "Dried Fruits Inventory Management System"
    ENVIRONMENT: Literal["development", "test", "staging", "production"] = "development"
    API_V1_PREFIX: str = "/api/v1"

    DATA_DIR: Path = PROJECT_ROOT / "data"
    DATABASE_URL: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'dfims.db'}"
    DB_POOL_SIZE: int = Field(default=10, ge=1, le=500)
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0, le=500)
    DB_POOL_TIMEOUT: float = Field(default=3.0, gt=0, le=60)
    DB_CONNECT_TIMEOUT: int = Field(default=2, ge=2, le=60)
    DB_ECHO: bool = False
    # PostgreSQL settings of the service's own sessions (libpq options): JIT compilation costs
    # more than it saves on these short queries, and on SSDs an index lookup costs little more
    # than a sequential read. Empty leaves the server's settings.
    DB_OPTIONS: str = "-c jit=off -c random_page_cost=1.1"
    # A PostgreSQL streaming replica the list pages and reports may read from; skipped (reads
    # go to DATABASE_URL) while it is down or replays more than REPLICA_MAX_LAG_SECONDS behind.
    DATABASE_REPLICA_URL: str | None = None
    REPLICA_MAX_LAG_SECONDS: float = Field(default=5.0, gt=0, le=3600)
    # Requests one worker process works on at once (below FastAPI's 40 threads); more wait
    # their turn before taking a thread or a database connection.
    WORKER_REQUESTS: int = Field(default=8, ge=1, le=32)
    # How long a request may wait for its turn before it is answered 503 with Retry-After.
    WORKER_QUEUE_SECONDS: float = Field(default=10.0, gt=0, le=300)

    REDIS_URL: str | None = None
    REDIS_TIMEOUT: float = Field(default=1.0, gt=0, le=30)

    SECRET_KEY: str = ""
    JWT_ALGORITHM: Literal["HS256", "HS384", "HS512"] = "HS256"
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1, le=24 * 60)
    # The web pages' session: how long a login lasts, and whether its cookie is HTTPS-only
    # (None: only in production).
    WEB_SESSION_HOURS: int = Field(default=12, ge=1, le=24 * 30)
    SESSION_COOKIE_SECURE: bool | None = None
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=14, ge=1, le=365)

    PASSWORD_MIN_LENGTH: int = Field(default=12, ge=8, le=128)
    MAX_FAILED_LOGINS: int = Field(default=5, ge=1, le=100)
    LOCKOUT_MINUTES: int = Field(default=15, ge=1, le=24 * 60)
    # Failed logins from one client address within LOGIN_THROTTLE_MINUTES before it gets 429s
    # (counted across replicas through Redis; per process without it).
    LOGIN_FAILURES_PER_ADDRESS: int = Field(default=20, ge=1, le=10_000)
    LOGIN_THROTTLE_MINUTES: int = Field(default=15, ge=1, le=24 * 60)
    # Registrations (a taken email counts like a free one) from one client address within
    # REGISTRATION_THROTTLE_MINUTES before it gets 429s (counted like the failed logins).
    REGISTRATIONS_PER_ADDRESS: int = Field(default=10, ge=1, le=10_000)
    REGISTRATION_THROTTLE_MINUTES: int = Field(default=60, ge=1, le=24 * 60)
    ARGON2_TIME_COST: int = Field(default=2, ge=1)
    ARGON2_MEMORY_COST_KIB: int = Field(default=19456, ge=8)
    ARGON2_PARALLELISM: int = Field(default=1, ge=1)
    # Argon2 computations at once per process (each holds ARGON2_MEMORY_COST_KIB of memory).
    PASSWORD_HASH_CONCURRENCY: int = Field(default=1, ge=1, le=64)

    DFIMS_ADMIN_EMAIL: str | None = None
    DFIMS_ADMIN_PASSWORD: str | None = None

    LOG_DIR: Path = PROJECT_ROOT / "logs"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # How stdout's log lines look: "text" (one readable line a record) or "json" (one object
    # a line). Unset: text in a terminal outside production, JSON otherwise. The file in
    # LOG_DIR is always JSON.
    LOG_FORMAT: Literal["text", "json"] | None = None
    LOG_FILE_NAME: str = "dfims.log"
    LOG_FILE_MAX_BYTES: int = Field(default=10 * 1024 * 1024, ge=1024)
    LOG_FILE_BACKUP_COUNT: int = Field(default=10, ge=0)
    # JSON log lines wait up to this long to be written together, in one write to stdout and
    # one to the file (warnings and errors are written at once, with every line before them);
    # 0 writes each line as it comes.
    LOG_FLUSH_SECONDS: float = Field(default=0.2, ge=0, le=5)

    UPLOAD_DIR: Path = PROJECT_ROOT / "data" / "uploads"
    BACKUP_DIR: Path = PROJECT_ROOT / "backups"
    BACKUP_RETENTION_DAYS: int = Field(default=30, ge=1)
    # The largest request body other than a file upload (uploads: the limits below).
    MAX_REQUEST_BYTES: int = Field(default=1024 * 1024, ge=1024)
    MAX_IMAGE_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024)
    MAX_DOCUMENT_BYTES: int = Field(default=20 * 1024 * 1024, ge=1024)
    IDEMPOTENCY_TTL_HOURS: int = Field(default=48, ge=24)
    EXPIRY_ALERT_DAYS: int = Field(default=30, ge=1, le=3650)
    # The company's time zone (an IANA name): where "today" is for best-before dates, alerts,
    # reports and the dashboard. Timestamps are kept in UTC whatever it is.
    COMPANY_TIMEZONE: str = "UTC"
    # The company's locale (such as en_GB or de_DE): how the web pages write numbers, money
    # and dates, and read typed numbers (1,5 in de_DE). The API keeps JSON numbers.
    COMPANY_LOCALE: str = "en_GB"
    # The currency of every price, cost and amount (an ISO 4217 code).
    CURRENCY: str = "EUR"
    # Who the printed documents (purchase orders, delivery notes, invoices) come from.
    COMPANY_NAME: str = Field(default="Dried Fruits Wholesale", min_length=1, max_length=200)
    COMPANY_ADDRESS: str = Field(default="", max_length=1000)
    COMPANY_VAT_NUMBER: str = Field(default="", max_length=20)
    # The VAT rate (percent) of products whose category names none.
    DEFAULT_VAT_RATE: Decimal = Field(default=Decimal(20), ge=0, le=100, decimal_places=2)
    CORS_ORIGINS: list[str] = []
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (addresses or
    # networks, comma separated; * for any): the client address the login throttle, the logs
    # and the audit use. Empty: none, every client is the address it connects from.
    FORWARDED_ALLOW_IPS: str = ""
    # /metrics (revenue and order counters) answers only "Authorization: Bearer METRICS_TOKEN"
    # when it is set, and anyone who reaches it when it is not. Production refuses to start
    # without a token of MIN_SECRET_KEY_LENGTH characters unless METRICS_PUBLIC=true says that
    # a proxy keeps /metrics private (the shipped nginx answers it to private addresses only).
    METRICS_TOKEN: str = ""
    METRICS_PUBLIC: bool = False

    @field_validator("DATABASE_REPLICA_URL")
    @classmethod
    def _replica_on_postgres(cls, value: str | None) -> str | None:
        if value and not value.startswith("postgresql"):
            raise ValueError("must be a PostgreSQL URL (postgresql+psycopg://...)")
        return value or None

    @field_validator("REDIS_URL")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("COMPANY_TIMEZONE")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            time_zone(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"must be an IANA time zone name such as UTC or Europe/Istanbul, not {value!r}"
            ) from None
        return value

    @field_validator("COMPANY_LOCALE")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            return str(Locale.parse(value.strip().replace("-", "_")))
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"must be a locale such as en_GB or de_DE, not {value!r}") from None

    @field_validator("CURRENCY")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not is_currency(code):
            raise ValueError(f"must be an ISO 4217 currency code such as EUR, not {value!r}")
        return code

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("LOG_FORMAT", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.ENVIRONMENT != "production":
            return self
        if (
            self.SECRET_KEY.strip().lower() in DEFAULT_SECRET_KEYS
            or len(self.SECRET_KEY) < MIN_SECRET_KEY_LENGTH
        ):
            raise ConfigurationError(
                "SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters when ENVIRONMENT=production"
            )
        unsafe = [
            name
            for name, refused in (
                ("DB_ECHO=true (logs every statement and its values)", self.DB_ECHO),
                ("LOG_LEVEL=DEBUG", self.LOG_LEVEL == "DEBUG"),
                ("CORS_ORIGINS with '*'", "*" in self.CORS_ORIGINS),
                ("SESSION_COOKIE_SECURE=false", self.SESSION_COOKIE_SECURE is False),
                (
                    f"/metrics open to anyone (set METRICS_TOKEN to {MIN_SECRET_KEY_LENGTH} or "
                    "more random characters, or METRICS_PUBLIC=true when a proxy keeps it "
                    "private)",
                    len(self.METRICS_TOKEN) < MIN_SECRET_KEY_LENGTH and not self.METRICS_PUBLIC,
                ),
            )
            if refused
        ]
        if unsafe:
            raise ConfigurationError(
                f"ENVIRONMENT=production refuses debug and unsafe settings: {', '.join(unsafe)}"
            )
        return self

    @property
    def session_cookie_secure(self) -> bool:
        """Whether the web session cookie is sent over HTTPS only."""
        if self.SESSION_COOKIE_SECURE is not None:
            return self.SESSION_COOKIE_SECURE
        return self.ENVIRONMENT == "production"

    @property
    def company_zone(self) -> tzinfo:
        """The time zone of COMPANY_TIMEZONE."""
        return time_zone(self.COMPANY_TIMEZONE)

    @property
    def signing_key(self) -> str:
        """The key that signs tokens: SECRET_KEY, or outside production one kept in DATA_DIR."""
        if self.SECRET_KEY:
            return self.SECRET_KEY
        return _local_secret_key(self.DATA_DIR)


def time_zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (UTC needs no time zone database)."""
    return UTC if name == "UTC" else ZoneInfo(name)


@lru_cache
def _local_secret_key(data_dir: Path) -> str:
    """Read or create the development signing key, so tokens survive a restart."""
    path = data_dir / ".secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        draft = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # the first process to get here wins; the file is whole
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(f"{path} holds no usable key; delete it or set SECRET_KEY")
    return key


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()

"""Configuration from the environment, read once through :func:`get_settings`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("var") / "lma.sqlite3"
# RoB 2's overall judgement as the review's three-level quality rating: low risk of bias is a
# strong study, some concerns moderate, high risk weak (Sterne et al. 2019, BMJ 366:l4898).
METAPSY_ROB_QUALITY = {"Low risk": "strong", "Some concerns": "moderate", "High risk": "weak"}


class Settings(BaseSettings):
    """Every knob the service has; each field is one environment variable of the same name."""

    # hide_input_in_errors: a bad WEBHOOK_SECRET_KEY list must not print its good keys.
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", hide_input_in_errors=True
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL: the embedded SQLite file, or postgresql+psycopg://...",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        description=(
            "With several worker processes: where prometheus-client keeps each process's "
            'metrics, so that GET /metrics sums them (README "Operating it"). It must be in '
            "the environment when the process starts, and emptied before the server starts."
        ),
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)
    require_api_key_for_reads: bool = False
    unreviewed_studies_public: bool = Field(
        default=False, description="Show pending and excluded studies to every reader."
    )
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="The request line and headers, in all; the HTTP parser stops at it too.",
    )
    max_header_count: int = Field(default=100, ge=10, le=1000)
    cors_allow_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = Field(default=0, ge=0, description="Per API key; 0 disables.")
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    max_analysis_cost_anonymous: int = Field(default=1_000_000, ge=1)
    max_analysis_cost_with_key: int = Field(default=5_000_000, ge=1)
    analysis_deadline_seconds: float = Field(default=15.0, gt=0)
    # Webhooks (README "Events and webhooks").
    webhooks_deliver_in_api: bool = Field(
        default=True, description="Deliver webhooks from the API process; off with `lma worker`."
    )
    webhooks_allow_http: bool = False
    # The conclusions worker (README "Architecture"): pooled answers, monitoring looks,
    # certainty and events, computed after each write commits.
    conclusions_in_api: bool = Field(
        default=True,
        description="Run the conclusions worker in the API process; off with `lma worker`.",
    )
    conclusions_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a worker holds a version it concludes."
    )
    conclusions_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="How often an idle worker looks for versions."
    )
    conclusions_settle_seconds: float = Field(
        default=0.02,
        ge=0,
        le=5,
        description="How long a worker woken by a commit waits before concluding, so that "
        "the write is answered first and a burst is concluded together.",
    )
    conclusions_warm_settle_seconds: float = Field(
        default=0.25,
        ge=0,
        le=5,
        description="How long the worker waits for no new commit before warming the pooled "
        "answers of what it concluded (a write within it makes them stale).",
    )
    conclusions_retry_seconds: float = Field(
        default=1.0,
        gt=0,
        description="The first retry's delay after a failed conclusion; "
        "doubled per attempt, at most 5 minutes.",
    )
    webhooks_allow_private_targets: bool = Field(
        default=False, description="Allow http and private addresses (tests, one machine)."
    )
    webhooks_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhooks_lease_seconds: float = Field(default=60.0, gt=0)
    webhooks_poll_seconds: float = Field(default=0.25, gt=0, le=60)
    webhooks_concurrency: int = Field(default=4, ge=1, le=64)
    webhooks_max_retry_after_seconds: float = Field(
        default=3600.0,
        gt=0,
        le=36_000,
        description="The longest wait a receiver's Retry-After (429, 503) is granted.",
    )
    webhook_secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s) encrypting webhook secrets at rest, comma-separated: the "
        "first encrypts, each decrypts. Unset: the key file, generated once.",
    )
    webhook_secret_key_file: Path = Field(
        default=Path("var") / "webhook-secret.key",
        description="Where the generated key is kept when WEBHOOK_SECRET_KEY is unset.",
    )
    events_max_wait_seconds: float = Field(
        default=30.0, ge=0, le=30, description="The longest long-poll of GET /v1/events."
    )
    low_risk_of_bias_qualities: list[str] = Field(
        default_factory=lambda: ["strong"],
        description="Quality ratings counted as low risk of bias by the GRADE rule, for "
        "studies without a RoB 2 (or RoB 1) assessment (EPHPP strong = low risk).",
    )
    ois_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=0.5,
        description="Two-sided alpha of the optimal information size (GRADE imprecision).",
    )
    ois_power: float = Field(
        default=0.8, gt=0.5, lt=1, description="Power of the optimal information size."
    )
    dual_extraction_required: bool = Field(
        default=False,
        description="When true a study is included only after a second, independent "
        "extraction (POST /v1/studies/{id}/extractions), and a trusted key's studies wait as "
        "pending for it; open discrepancies block inclusion either way.",
    )
    risk_of_bias_quality_fallback: bool = Field(
        default=True,
        description="Judge a study without a RoB 2/RoB 1 assessment by its quality rating "
        "(low_risk_of_bias_qualities); false counts it as not at low risk.",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signs the pages' session cookie. Unset: a key file beside the SQLite"
            " database, or random per process on PostgreSQL."
        ),
    )
    session_cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (behind TLS)."
    )
    starter_evidence: bool = Field(
        default=True,
        description="`lma db seed` (run by `make run`) imports the bundled Metapsy database "
        "into a database without studies; false: start empty.",
    )
    metapsy_rob_quality: dict[str, str] = Field(
        default_factory=lambda: dict(METAPSY_ROB_QUALITY),
        description="Metapsy import: overall RoB 2 judgement -> quality rating slug.",
    )

    @field_validator("webhook_secret_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for key in value.get_secret_value().split(","):
                try:
                    Fernet(key.strip().encode())
                except ValueError as exc:
                    raise ValueError(
                        "each key must be 32 url-safe base64-encoded bytes, as "
                        "`python -c 'from cryptography.fernet import Fernet; "
                        "print(Fernet.generate_key().decode())'` prints"
                    ) from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded database's file (None for an in-memory or a server database)."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache or pass their own)."""
    return Settings()

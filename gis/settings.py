"""Configuration: one root ``Settings`` with nested models, read from ``DOTHI_*``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from gis.secret_policy import WeakSecretError, check_secret

# VN-2000 TM-3 zones: 5896-5899 (national meridians), 9205-9218 (provincial ones)
TM3_ZONE_SRIDS = frozenset((5896, 5897, 5898, 5899, *range(9205, 9219)))

DEFAULT_DB_PASSWORDS = frozenset({"", "postgres", "password", "dothi", "changeme"})


class DbSettings(BaseModel):
    """Database connection; ``url`` None means the embedded private cluster."""

    url: str | None = None
    pool_size: int = 10
    max_overflow: int = 10
    # the longest a request waits for a pooled connection: past it (PostgreSQL down,
    # or every connection busy) the answer is a 503 with Retry-After, not a hang
    pool_timeout_s: float = Field(default=3.0, gt=0)
    # the share of the pool anonymous requests may hold at once (gis.db.pool.Pool)
    anonymous_share: float = Field(default=0.5, gt=0, le=1)
    # anonymous requests (and the pool's connections) get statement_timeout_ms;
    # a signed-in principal the largest of its roles' entries here (else the same)
    statement_timeout_ms: int = 15_000
    role_statement_timeout_ms: dict[str, int] = Field(
        default_factory=lambda: {
            "citizen": 15_000,
            "external_app": 30_000,
            "land_officer": 30_000,
            "planner": 60_000,
            "lighting_crew": 30_000,
            "tree_crew": 30_000,
            "ioc_operator": 30_000,
            "security_officer": 30_000,
            "admin": 120_000,
            "auditor": 120_000,
        }
    )

    # memory and disk of one API connection (migration 0009 sets the same defaults on
    # the role dothi_api for logins as that role): work_mem for each sort or hash,
    # temp_file_limit for what a session spills (superuser logins only may set it)
    work_mem_kb: int = Field(default=16 * 1024, ge=64)
    temp_file_limit_kb: int = Field(default=1024 * 1024, ge=-1)

    def timeout_for(self, roles: frozenset[str]) -> int:
        """The statement timeout of a principal with ``roles``, in milliseconds."""
        given = [
            self.role_statement_timeout_ms[r]
            for r in roles
            if r in self.role_statement_timeout_ms
        ]
        return max(given, default=self.statement_timeout_ms)


class LimitSettings(BaseModel):
    """Request limits, documented in the README and enforced by the API."""

    default_limit: int = 10
    max_limit: int = 10_000
    # a larger request body is a 413 before routing (a malformed Content-Length a 400)
    max_body_bytes: int = 10 * 1024 * 1024
    # requests without credentials, per client address and per process: a token
    # bucket refilled at anonymous_rate_per_s up to anonymous_burst; a request needs
    # a token to start and is charged one more per anonymous_db_ms_per_unit ms of
    # database time it took (api.limits); 0 turns it off. The rate is above what one
    # sequential client (ogr2ogr: ~215 pages/s measured) or the whole server
    # (~500 requests/s on 2 cores) can reach, so it binds only on floods and on
    # queries that take seconds
    anonymous_rate_per_s: float = 1_000.0
    anonymous_burst: int = Field(default=10_000, ge=1)
    anonymous_db_ms_per_unit: float = Field(default=10.0, gt=0)
    # credentials that turn out not to be valid (401s), per client address and
    # process: a token each, given back when they are valid; 0 turns it off
    failed_credentials_rate_per_s: float = 20.0
    failed_credentials_burst: int = Field(default=200, ge=1)
    # password checks (argon2) per client address and process: a token bucket; a right
    # password gives its token back, so only failures spend it; 0 turns it off
    sign_in_rate_per_s: float = 0.1
    sign_in_burst: int = Field(default=10, ge=1)
    # argon2 checks at once per process (19 MiB each); more wait their turn
    password_checks: int = Field(default=2, ge=1)
    # how long the answer of a POST with an Idempotency-Key is kept for its retries
    idempotency_ttl_s: int = Field(default=86_400, ge=1)


class ApiSettings(BaseModel):
    """HTTP server options."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # the path prefix a reverse proxy serves dothi under ("/gis"); links carry it
    root_path: str = ""
    # the service root as clients reach it ("https://city.gov.vn/gis"): every link
    # and Location starts with it, whatever the request's Host says; its path, if
    # any, is the root_path. None: links follow the request's (trusted) Host
    public_url: str | None = None
    # Host header names served (a leading "*." takes subdomains); any other is a
    # 400, so links cannot be made to point elsewhere. ``host`` (unless a wildcard
    # address) and public_url's host are added to these
    # (comma-separated in DOTHI_API__TRUSTED_HOSTS)
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"]
    )

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @model_validator(mode="after")
    def _public_url(self) -> ApiSettings:
        self.root_path = self.root_path.rstrip("/")
        if self.root_path and not self.root_path.startswith("/"):
            raise ValueError("api.root_path must start with '/'")
        if self.public_url is None:
            if "*" in self.trusted_hosts:  # any Host would reach the links again
                raise ValueError("api.trusted_hosts may hold '*' only with public_url")
            return self
        parts = urlsplit(self.public_url)
        if (parts.scheme not in ("http", "https") or not parts.hostname
                or parts.query or parts.fragment or "@" in parts.netloc):  # fmt: skip
            raise ValueError("api.public_url must be http(s)://host[:port][/path]")
        path = parts.path.rstrip("/")
        if path and self.root_path and path != self.root_path:
            raise ValueError("api.public_url's path and api.root_path differ")
        self.public_url = f"{parts.scheme}://{parts.netloc}"
        self.root_path = path or self.root_path
        return self


class HttpSettings(BaseModel):
    """The HTTP server's own limits (``dothi serve``; ``api.server``), per worker.

    The head limits are checked as bytes arrive, so a refused head is never held
    whole in memory: 414 for a long request target, 431 for too many or too large
    header lines, 408 when the head or the body is too slow, all followed by a close.
    """

    # the request line's target (path and query string)
    max_request_line_bytes: int = Field(default=8_192, ge=256)
    max_header_count: int = Field(default=100, ge=16)
    # one header line: its name and value
    max_header_line_bytes: int = Field(default=8_192, ge=256)
    # the whole head: request line and every header line
    max_head_bytes: int = Field(default=65_536, ge=1_024)
    # from the connection (or the first byte of a later request) to the end of the
    # head; also how long a new connection may stay silent
    header_timeout_s: float = Field(default=10.0, gt=0)
    # from the end of the head to the end of the body: 10 MiB needs 350 KB/s
    body_timeout_s: float = Field(default=30.0, gt=0)
    # an answer the client stops reading (the socket's buffers full) this long is
    # cut: its worker slot and the rest of the document are freed
    write_timeout_s: float = Field(default=30.0, gt=0)
    # an idle connection between requests: longer than a reverse proxy's (nginx's
    # upstream keepalive_timeout and AWS ALB's idle timeout are 60 s), so the proxy
    # always closes first and never reuses a connection the server is closing
    keep_alive_timeout_s: int = Field(default=75, ge=1)
    # requests in the app at once; more get a 503 with Retry-After (0: no cap)
    max_concurrent_requests: int = Field(default=128, ge=0)
    # open connections; past it an idle keep-alive one is closed, else the new one
    max_connections: int = Field(default=2_048, ge=0)


class TileSettings(BaseModel):
    """The tile cache: per process, keyed by data version (0 MB turns it off)."""

    cache_mb: int = 128
    max_age_s: int = 60
    # shared cache for every worker and replica (e.g. redis://127.0.0.1:6379/0);
    # when set it replaces the per-process cache
    redis_url: str | None = None


class AuthSettings(BaseModel):
    """Secrets and the province's identity provider (OIDC), if any."""

    secret_key: SecretStr = SecretStr("")
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    # a static JWKS (offline deployments, tests) instead of the URL
    oidc_jwks: dict[str, Any] | None = None
    oidc_roles_claim: str = "roles"


class Settings(BaseSettings):
    """Root settings. Never instantiated at import time."""

    model_config = SettingsConfigDict(
        env_prefix="DOTHI_", env_nested_delimiter="__", extra="ignore"
    )

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path(".dothi")
    db: DbSettings = Field(default_factory=DbSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    tiles: TileSettings = Field(default_factory=TileSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    # the VN-2000 TM-3 zone of the province's cadastre (9218: 108°30', Bình Thuận):
    # parcels' coordinate tables and extracts use it when a parcel's own source_crs
    # is not a TM-3 zone (DOTHI_CADASTRAL_SRID)
    cadastral_srid: int = 9218

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.cadastral_srid not in TM3_ZONE_SRIDS:
            raise ValueError("cadastral_srid must be a VN-2000 TM-3 zone (EPSG code)")
        if self.limits.default_limit > self.limits.max_limit:
            raise ValueError("limits.default_limit must not exceed limits.max_limit")
        if self.env != "development":  # production and shared test deployments
            check_secret(
                self.auth.secret_key.get_secret_value(),
                env=self.env,
                name="DOTHI_AUTH__SECRET_KEY",
            )
            password = make_url(self.db.url).password if self.db.url else None
            if password is not None and (
                len(str(password)) < 12 or str(password).lower() in DEFAULT_DB_PASSWORDS
            ):
                raise WeakSecretError(
                    "the password in DOTHI_DB__URL is empty, short or a default one; "
                    "outside development it must be at least 12 characters",
                    parameter="DOTHI_DB__URL",
                )
        return self


def database_url_from_env(settings: Settings) -> str | None:
    """The configured database URL: ``DOTHI_DB__URL`` first, then ``DATABASE_URL``.

    Parameters
    ----------
    settings
        The loaded settings.

    Returns
    -------
    str or None
        None when neither is set: the embedded cluster is to be used.
    """
    return settings.db.url or os.environ.get("DATABASE_URL") or None

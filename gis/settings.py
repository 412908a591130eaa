"""Configuration: one root ``Settings`` with nested models, read from ``DOTHI_*``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from gis.auth_secrets import WeakSecretError, check_secret

DEFAULT_DB_PASSWORDS = frozenset({"", "postgres", "password", "dothi", "changeme"})


class DbSettings(BaseModel):
    """Database connection; ``url`` None means the embedded private cluster."""

    url: str | None = None
    pool_size: int = 10
    max_overflow: int = 10
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
    # requests without credentials, per client address and per process: a token bucket
    # refilled at anonymous_rate_per_s up to anonymous_burst; 401s are charged to it
    # too; 0 turns it off
    anonymous_rate_per_s: float = 20.0
    anonymous_burst: int = Field(default=200, ge=1)


class ApiSettings(BaseModel):
    """HTTP server options."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    root_path: str = ""


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

    @model_validator(mode="after")
    def _check(self) -> Settings:
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

"""What one running app holds for its requests, typed: ``app_state(request)``.

Starlette's ``app.state`` is an untyped bag: a misspelt name is found by the request
that reads it. The lifespan in ``api.app`` builds one ``AppState`` and routes, deps
and middleware-facing helpers read it through ``app_state``, so mypy sees every name
and type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fastapi import FastAPI, Request

if TYPE_CHECKING:  # the types only: those modules read their state through here
    import anyio

    from api.limits import TokenBuckets
    from api.security import BasicCache
    from api.stats import StatsStore
    from auth.jwt import JwtVerifier
    from gis.cache import TileCache
    from gis.db.pool import Pool
    from gis.settings import Settings

# the one name the typed state has on Starlette's ``app.state``
_ATTRIBUTE: Final = "dothi"


@dataclass(slots=True)
class AppState:
    """The resources of one app (one worker process), opened by its lifespan."""

    settings: Settings
    database_url: str
    pool: Pool
    # verified Basic credentials, so a password is not hashed on every request
    basic_cache: BasicCache
    # the per-address budget of failed password checks
    sign_in_buckets: TokenBuckets
    # at most ``limits.password_checks`` argon2 checks at once (they take memory)
    password_checks: anyio.CapacityLimiter
    # None when no OIDC issuer is configured (bearer tokens are then refused)
    jwt_verifier: JwtVerifier | None
    layer_stats: StatsStore
    # None when tile caching is turned off
    tile_cache: TileCache | None
    # the key that signs paging tokens, read from the database on first use (a server
    # started while PostgreSQL is down answers 503 until it is back)
    paging_key: bytes | None = None


def install(app: FastAPI, state: AppState) -> None:
    """Make ``state`` the one ``app_state`` of ``app``'s requests."""
    setattr(app.state, _ATTRIBUTE, state)


def app_state(request: Request) -> AppState:
    """The state of the app serving ``request``."""
    state: AppState = getattr(request.app.state, _ATTRIBUTE)
    return state

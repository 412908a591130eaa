"""The application factory. Entry: ``uvicorn --factory api.app:app_from_env``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import caching, problems
from api.deps import get_principal
from api.limits import (
    AnonymousRateLimitMiddleware,
    BodyLimitMiddleware,
    sign_in_buckets,
)
from api.links import TrustedHostMiddleware
from api.params import no_nul_in_query
from api.routers import (
    collections,
    common,
    edits,
    features,
    land_dossiers,
    land_office,
    maps,
    parcel_changes,
    parcel_lookup,
    planning,
    schemas,
    styles,
    tiles,
    versions,
)
from api.security import BasicCache
from api.server import ConcurrencyLimitMiddleware
from api.state import AppState
from api.state import install as install_state
from api.stats import StatsStore
from auth.jwt import JwtVerifier
from gis.cache import ByteLRU, RedisCache, TileCache
from gis.db.pool import open_pool
from gis.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def tile_cache(settings: Settings) -> TileCache | None:
    """Redis when configured, else a per-process LRU (None when turned off)."""
    if settings.tiles.redis_url:
        return RedisCache(settings.tiles.redis_url)
    mb = settings.tiles.cache_mb
    return ByteLRU(mb * 1024 * 1024) if mb > 0 else None


def jwt_verifier(settings: Settings) -> JwtVerifier | None:
    """The OIDC verifier when an issuer is configured."""
    auth = settings.auth
    if not auth.oidc_issuer:
        return None
    return JwtVerifier(
        issuer=auth.oidc_issuer,
        audience=auth.oidc_audience or "dothi",
        jwks_url=auth.oidc_jwks_url,
        jwks=auth.oidc_jwks,
        roles_claim=auth.oidc_roles_claim,
    )


def create_app(settings: Settings, *, database_url: str) -> FastAPI:
    """Build the app for one database; the engine opens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await open_pool(database_url, settings)
        state = AppState(
            settings=settings,
            database_url=database_url,
            pool=pool,
            basic_cache=BasicCache(),
            sign_in_buckets=sign_in_buckets(settings.limits),
            password_checks=anyio.CapacityLimiter(settings.limits.password_checks),
            jwt_verifier=jwt_verifier(settings),
            layer_stats=StatsStore(pool),
            tile_cache=tile_cache(settings),
        )
        install_state(app, state)
        try:
            yield
        finally:
            await state.layer_stats.close()
            await state.pool.close()
            if isinstance(state.tile_cache, RedisCache):
                await state.tile_cache.close()

    app = FastAPI(
        title="dothi",
        description="OGC API for the city: features, tiles, styles (đô thị).",
        version="0.1.0",
        lifespan=lifespan,
        # every route checks credentials that are sent (401 when not valid), so made-up
        # ones cannot pass for a signed-in caller anywhere (see api.limits)
        dependencies=[Depends(no_nul_in_query), Depends(get_principal)],
        openapi_url=None,  # our own OpenAPI 3.0 document lives at /api
        docs_url=None,
        redoc_url=None,
        # no root_path here (deprecated by FastAPI): TrustedHostMiddleware serves
        # under settings.api.root_path as uvicorn's --root-path does
        # no OpenTelemetry unless a deployment configures it: it costs every request
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
        },
    )
    problems.install(app)
    # the last added runs first: RequestId > CORS > concurrency cap > rate limit >
    # body limit > GZip > routing, so a refusal costs no routing or body read, carries
    # X-Request-Id, and a page on another origin can read a 429 or 503 (preflights
    # are answered by CORS); a 503 when full takes no token of the rate limit
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(BodyLimitMiddleware, limits=settings.limits)
    app.add_middleware(AnonymousRateLimitMiddleware, limits=settings.limits)
    app.add_middleware(ConcurrencyLimitMiddleware, limits=settings.http)
    # web maps on other origins read tiles, styles and features; no credentials
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "OPTIONS"],
        expose_headers=["ETag", "Link", "Content-Crs", "Last-Modified", "Retry-After"],
    )

    # an untrusted Host is refused before anything else runs (api.links)
    app.add_middleware(TrustedHostMiddleware, api=settings.api)
    app.add_middleware(RequestIdMiddleware)

    app.include_router(common.router)
    app.include_router(collections.router)
    app.include_router(features.router)
    app.include_router(edits.router)
    app.include_router(schemas.router)
    app.include_router(tiles.router)
    app.include_router(styles.router)
    app.include_router(maps.router)
    app.include_router(planning.router)
    app.include_router(land_dossiers.router)
    app.include_router(versions.router)
    app.include_router(land_office.router)
    app.include_router(parcel_lookup.router)
    app.include_router(parcel_changes.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class RequestIdMiddleware:
    """Give every request an id (in errors and logs) and echo it in X-Request-Id; keep
    the answers to signed-in requests out of shared caches.

    A response to a request with credentials that sets no ``Cache-Control`` of its own
    gets ``private, no-store`` (an HTML page with a parcel's land users, a listing with
    the cameras), and every response varies on the credentials. Pure ASGI:
    ``BaseHTTPMiddleware`` costs a task and a stream per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        signed_in = caching.sends_credentials(scope["headers"])

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers = caching.private_when_signed_in(headers, signed_in)
                message["headers"] = caching.vary_on_credentials(headers)
            await send(message)

        await self.app(scope, receive, send_with_id)


def app_from_env() -> FastAPI:
    """The app for ``DOTHI_*`` settings (used by ``dothi serve`` workers)."""
    import os

    settings = Settings()
    url = settings.db.url or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DOTHI_DB__URL is not set")
    return create_app(settings, database_url=url)

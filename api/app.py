"""The application factory. Entry: ``uvicorn --factory api.app:app_from_env``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api import problems
from api.routers import collections, common, features
from gis.db import create_engine
from gis.settings import Settings


def create_app(settings: Settings, *, database_url: str) -> FastAPI:
    """Build the app for one database; the engine opens in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(database_url, settings)
        app.state.stats_cache = {}
        try:
            yield
        finally:
            await app.state.engine.dispose()

    app = FastAPI(
        title="dothi",
        description="OGC API for the city: features, tiles, styles (đô thị).",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,  # our own OpenAPI 3.0 document lives at /api
        docs_url=None,
        redoc_url=None,
        root_path=settings.api.root_path,
    )
    app.state.settings = settings
    problems.install(app)

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = uuid.uuid4().hex[:16]
        response = await call_next(request)
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    app.include_router(common.router)
    app.include_router(collections.router)
    app.include_router(features.router)
    return app


def app_from_env() -> FastAPI:
    """The app for ``DOTHI_*`` settings (used by ``dothi serve`` workers)."""
    import os

    settings = Settings()
    url = settings.db.url or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DOTHI_DB__URL is not set")
    return create_app(settings, database_url=url)

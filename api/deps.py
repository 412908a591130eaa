"""Typed dependencies shared by the routers (the query parameters: ``api.params``).

All are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
which costs more than the dependency itself on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.security import authenticate
from api.state import app_state
from gis.db.pool import Claims
from gis.errors import NotFoundError
from gis.layer import VectorLayer
from gis.principal import PUBLIC, Principal
from gis.settings import Settings
from layers import CATALOGUE


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return app_state(request).settings


async def get_principal(request: Request) -> Principal:
    """Who is asking (``api.security``); anonymous without credentials."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await authenticate(request)
        request.state.principal = principal
    return principal


async def get_layer(
    request: Request,
    collection_id: Annotated[str, Path(alias="collectionId")],
    principal: Annotated[Principal, Depends(get_principal)],
) -> VectorLayer:
    """The collection, or 404 when unknown *or hidden* from this principal."""
    request.state.principal = principal  # what renderers and cache headers see
    layer = CATALOGUE.get(collection_id)
    if layer is None or not layer.access.can_read(principal):
        raise NotFoundError(f"no collection {collection_id!r}")
    return layer


SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
LayerDep = Annotated[VectorLayer, Depends(get_layer)]


def visible_layers(principal: Principal) -> list[VectorLayer]:
    """The collections ``principal`` may see, in catalogue order."""
    return [layer for layer in CATALOGUE.values() if layer.access.can_read(principal)]


def feature_id_of(layer: VectorLayer, raw: str) -> int:
    """The feature id of a path, or 404 (ids are positive 64-bit integers)."""
    try:
        fid = int(raw)
    except ValueError:
        raise NotFoundError(f"no feature {raw!r} in {layer.id}") from None
    if not 0 < fid < 2**63:
        raise NotFoundError(f"no feature {raw!r} in {layer.id}")
    return fid


def claims_of(request: Request) -> Claims | None:
    """The request's claims for PostgreSQL; None for the public (no claims).

    Row-level security, the audit trail's who/how/where and the principal's
    statement timeout all read them (``gis.db.pool.Claims``).
    """
    principal: Principal = request.state.principal
    if principal.roles <= {PUBLIC}:
        return None
    settings = app_state(request).settings
    client = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")[:200]
    return Claims(
        roles=principal.roles,
        wards=principal.ward_codes,
        subject=principal.subject or "",
        auth=principal.auth,
        client=f"{client} {agent}".strip(),
        request_id=getattr(request.state, "request_id", ""),
        timeout_ms=settings.db.timeout_for(principal.roles),
    )

"""Typed dependencies shared by the routers.

All are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
which costs more than the dependency itself on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.negotiation import LANGS, accept_language
from api.security import authenticate
from gis.db import Claims
from gis.errors import InvalidParameterError, NotFoundError, UnknownParameterError
from gis.layer import PUBLIC, Principal, VectorLayer
from gis.settings import Settings
from layers import CATALOGUE


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_lang(request: Request) -> str:
    """``lang=`` first, then ``Accept-Language`` (q-values honoured), Vietnamese default."""
    if "lang" in request.query_params:
        # exactly the OpenAPI's enum: an unknown (or empty) value is a 400
        lang = request.query_params["lang"]
        if not set(request.query_params.getlist("lang")) <= set(LANGS):
            raise InvalidParameterError(
                f"lang: supported languages are {', '.join(LANGS)}", parameter="lang"
            )
    else:
        lang = accept_language(request.headers.get("accept-language", ""))
    request.state.lang = lang
    return lang


async def no_nul_in_query(request: Request) -> None:
    """A NUL in a query parameter is a 400, for every route at once: PostgreSQL
    text cannot hold one, and no parameter needs it."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\0")
            raise InvalidParameterError(
                f"{shown}: a query parameter may not contain the NUL character",
                parameter=shown,
            )


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
LangDep = Annotated[str, Depends(get_lang)]
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


def reject_unknown(request: Request, allowed: set[str]) -> None:
    """/req/core/query-param-unknown: a parameter the operation lacks is a 400."""
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise UnknownParameterError(
            f"unknown parameter(s): {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}",
            parameter=unknown[0],
        )


def claims_of(request: Request) -> Claims | None:
    """The request's claims for PostgreSQL; None for the public (no claims).

    Row-level security, the audit trail's who/how/where and the principal's
    statement timeout all read them (``gis.db.Claims``).
    """
    principal: Principal = request.state.principal
    if principal.roles <= {PUBLIC}:
        return None
    settings: Settings = request.app.state.settings
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

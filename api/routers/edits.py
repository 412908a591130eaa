"""OGC API Features Part 4: create, replace, update and delete features.

The one policy of ``layers/`` decides, in this order: a layer the caller may not see
is absent (404); an anonymous caller must sign in (401); a signed-in caller without
the grant is refused (403); a ward-scoped grant (a ward's land officer) covers only
rows of the caller's wards, before and after the change (403). The statement then
runs under the request's claims, so PostgreSQL's row-level security checks the same
policy again, and its triggers audit the change and bump the layer's version (every
cache follows).

Optimistic locking: a 204 to a replace or update carries the feature's new ``ETag``
(as its GET answers it); with ``If-Match`` the change applies only to the version it
names, checked in the UPDATE or DELETE itself (412 otherwise, nothing changed);
``If-Match: *`` only asks that the feature exists. Without ``If-Match`` (QGIS 3.22
sends none) a replace or update is refused (409) when another write changed a
property it sets while it waited for that write's lock (``gis.edits.Precondition``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import APIRouter, Path, Request, Response
from psycopg import errors as pg_errors
from sqlalchemy import UniqueConstraint
from sqlalchemy.sql.elements import ClauseElement

from api.caching import NO_STORE, feature_tag, if_match
from api.deps import (
    LayerDep,
    PrincipalDep,
    claims_of,
    feature_id_of,
)
from api.idempotency import create_feature_once, idempotency_key
from api.links import base_url
from api.negotiation import FEATURE_BODY_MEDIA, PATCH_BODY_MEDIA
from api.params import EditsQuery
from api.state import app_state
from auth.errors import AuthenticationError
from gis.crs import CRS84, parse_crs
from gis.db.pool import fetch_one
from gis.db.statements import Bound, Row
from gis.edits import (
    FeatureEdit,
    IdRow,
    Operation,
    Precondition,
    PreconditionFailedError,
    StoredRow,
    WardRow,
    WrittenRow,
    delete_statement,
    insert_statement,
    parse_feature,
    stored_statement,
    unknown_ward,
    update_statement,
    ward_check,
)
from gis.errors import (
    ConflictError,
    ForbiddenError,
    InvalidParameterError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from gis.layer import VectorLayer
from gis.principal import Principal
from gis.sql.compiled import compile_statement

router = APIRouter()
Written = TypeVar("Written", IdRow, WrittenRow)


def _allowed(principal: Principal, layer: VectorLayer, *, create: bool) -> None:
    """401 for an anonymous caller, 403 for one without the grant."""
    access = layer.access
    ok = access.can_create(principal) if create else access.can_write(principal)
    if ok:
        return
    if principal.auth == "anonymous":
        raise AuthenticationError("sign in to edit this layer")
    verb = "add features to" if create else "change features of"
    raise ForbiddenError(f"your roles may not {verb} {layer.id}")


async def _body(request: Request, media: tuple[str, ...], layer: VectorLayer,
                operation: Operation, principal: Principal,
                feature_id: int | None = None) -> FeatureEdit:  # fmt: skip
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in media:
        raise UnsupportedMediaTypeError(
            f"send the feature as {' or '.join(media)}", parameter="Content-Type"
        )
    crs = parse_crs(request.headers.get("content-crs", CRS84), layer.crs_srids)
    edit = parse_feature(
        await request.body(),
        layer,
        operation=operation,
        srid=crs.srid,
        lonlat=crs.lonlat,
        feature_id=feature_id,
        roles=principal.roles,
    )
    if (check := ward_check(edit)) is not None:  # a ward the city has (400)
        found = await fetch_one(app_state(request).pool, _bound(check, WardRow))
        if not (found and found.is_ward):
            raise unknown_ward(edit.values["ward_code"])
    return edit


def _check_wards(principal: Principal, layer: VectorLayer, edit: FeatureEdit,
                 *, create: bool) -> None:  # fmt: skip
    access = layer.access
    wards = access.scope(principal, access.creators if create else access.write)
    if wards is None or "ward_code" not in edit.values:
        return
    if edit.values["ward_code"] not in wards:
        raise ForbiddenError(
            f"ward_code: you may edit {layer.id} only in your wards "
            f"({', '.join(sorted(wards)) or 'none'})",
            parameter="ward_code",
        )


def _bound(stmt: ClauseElement, row: type[Row]) -> Bound[Row]:
    """A statement built for one request (its values in it), with its row type."""
    compiled = compile_statement(stmt)
    return Bound(compiled.sql, compiled.constants, row)


async def _execute(
    request: Request, layer: VectorLayer, stmt: Any, row: type[Written]
) -> Written | None:
    """Run one write under the claims; the new or touched row, or None."""
    try:
        return await fetch_one(
            app_state(request).pool, _bound(stmt, row), claims=claims_of(request)
        )
    except psycopg.Error as exc:
        raise _write_error(layer, exc, deleting=stmt.is_delete) from None


def _write_error(
    layer: VectorLayer, exc: psycopg.Error, *, deleting: bool
) -> Exception:
    """A refused write as a 4xx naming the property; never the database's text."""
    diag = exc.diag
    if diag.sqlstate is None:  # raised by the driver, not a refusal by PostgreSQL
        return exc
    column = diag.column_name or _constraint_column(layer, diag.constraint_name)
    where = f"{column}: " if column else ""
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return ForbiddenError(f"the change is outside what you may edit in {layer.id}")
    if isinstance(exc, pg_errors.ForeignKeyViolation) and deleting:
        return ConflictError(f"other records refer to this feature of {layer.id}")
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return InvalidParameterError(
            f"{where}not a value of its code list", parameter=column or "body"
        )
    if isinstance(exc, pg_errors.UniqueViolation):
        return ConflictError(f"{where}another feature already has this value")
    if isinstance(exc, pg_errors.NotNullViolation):
        return InvalidParameterError(f"{where}a value is required", parameter=column)
    if isinstance(exc, pg_errors.IntegrityError | pg_errors.DataError):
        return InvalidParameterError(
            f"{where}the value is not accepted", parameter=column or "body"
        )
    return exc  # timeouts and the unexpected: the app's handlers (503 / 500)


def _constraint_column(layer: VectorLayer, constraint: str | None) -> str | None:
    """The property a violated constraint is about, from its name: the catalogue's
    naming convention (``gis/tables/metadata.py``) or PostgreSQL's defaults."""
    if not constraint:
        return None
    table = layer.table.name
    for column in layer.table.c:
        name = column.name
        if constraint in (f"uq_{table}_{name}", f"{table}_{name}_key",
                          f"{table}_{name}_fkey") or constraint.startswith(
            f"fk_{table}_{name}_"
        ):  # fmt: skip
            return name
    for index in layer.table.indexes:
        if index.name == constraint:
            return ", ".join(c.name for c in index.columns)
    for unique in layer.table.constraints:  # a rule over several columns
        if unique.name == constraint and isinstance(unique, UniqueConstraint):
            return ", ".join(c.name for c in unique.columns)
    return None


async def _untouched(
    request: Request,
    layer: VectorLayer,
    fid: int,
    principal: Principal,
    precondition: Precondition,
) -> Exception:
    """Why a write touched no row, in RFC 9110's order (13.2.1: a 404 or 403 the
    write would get anyway comes before a failed precondition): 404 when the feature
    does not exist, 403 when it is not the caller's to change (another ward), 412
    when ``If-Match`` names no current version of it, 409 when another write changed
    what this one sets while it waited."""
    stored = await fetch_one(
        app_state(request).pool,
        _bound(stored_statement(layer, fid), StoredRow),
        claims=claims_of(request),
    )
    if stored is None:
        return NotFoundError(f"no feature {fid} in {layer.id}")
    outside = ForbiddenError(
        f"feature {fid} of {layer.id} is outside what you may edit"
    )
    wards = layer.access.scope(principal, layer.access.write)
    if wards is not None and stored.ward_code not in wards:
        return outside
    if isinstance(precondition, frozenset) and not precondition:
        return PreconditionFailedError(
            "If-Match: not an ETag of a feature (send the ETag its GET answered, or *)"
        )
    if isinstance(precondition, frozenset) and stored.row_version not in precondition:
        return PreconditionFailedError(
            f"If-Match: feature {fid} of {layer.id} was changed after that version; "
            "read it again and send its new ETag"
        )
    if precondition == "unchanged":
        return ConflictError(
            f"feature {fid} of {layer.id}: another write changed what this one sets "
            "while it waited; read it again and resend (with If-Match to be sure)"
        )
    return outside  # the database's own policy refused it


@router.options("/collections/{collectionId}/items", include_in_schema=False)
async def items_options(layer: LayerDep, principal: PrincipalDep) -> Response:
    """What the caller may do with the collection, in ``Allow`` (QGIS asks this
    before it offers editing)."""
    methods = ["GET", "OPTIONS"]
    if layer.access.can_create(principal):
        methods.append("POST")
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


@router.options(
    "/collections/{collectionId}/items/{featureId}", include_in_schema=False
)
async def item_options(
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    principal: PrincipalDep,
) -> Response:
    """What the caller's roles may do with features of the collection, in ``Allow``.

    Per role, not per feature: a ward's officer is offered editing and refused (403)
    on another ward's parcel when it tries.
    """
    del feature_id  # QGIS asks with any id of the collection
    methods = ["GET", "OPTIONS"]
    if layer.access.can_write(principal):
        methods += ["PUT", "PATCH", "DELETE"]
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


@router.post(
    "/collections/{collectionId}/items",
    operation_id="createFeature",
    summary="Add a feature",
    status_code=201,
)
async def create_feature(
    request: Request, layer: LayerDep, principal: PrincipalDep, _: EditsQuery
) -> Response:
    """201 with the new feature's ``Location``; with an ``Idempotency-Key``, a retry
    gets the first answer and creates nothing."""
    _allowed(principal, layer, create=True)
    key = idempotency_key(request)
    edit = await _body(request, FEATURE_BODY_MEDIA, layer, "create", principal)
    _check_wards(principal, layer, edit, create=True)
    if key is not None:
        try:
            return await create_feature_once(request, layer, edit, key)
        except psycopg.Error as exc:
            raise _write_error(layer, exc, deleting=False) from None
    created = await _execute(request, layer, insert_statement(layer, edit), IdRow)
    assert created is not None  # INSERT ... RETURNING always returns the row
    fid = created.id
    location = f"{base_url(request)}/collections/{layer.id}/items/{fid}"
    return Response(status_code=201, headers={"Location": location, **NO_STORE})


@router.api_route(
    "/collections/{collectionId}/items/{featureId}",
    methods=["PUT", "PATCH"],
    operation_id="replaceOrUpdateFeature",
    summary="Replace a feature (PUT) or update some of it (PATCH)",
    status_code=204,
)
async def replace_or_update_feature(
    request: Request,
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    principal: PrincipalDep,
    _: EditsQuery,
) -> Response:
    """PUT sets every writable property: from the body, else its default or NULL.
    PATCH is a JSON merge patch (RFC 7396): only what the body names. 204 with the
    feature's new ``ETag``; 412 when ``If-Match`` names no current version."""
    operation: Operation = "replace" if request.method == "PUT" else "update"
    return await _change(request, layer, feature_id, principal, operation)


async def _change(request: Request, layer: VectorLayer, raw_id: str,
                  principal: Principal,
                  operation: Operation) -> Response:  # fmt: skip
    _allowed(principal, layer, create=False)
    fid = feature_id_of(layer, raw_id)
    media = PATCH_BODY_MEDIA if operation == "update" else FEATURE_BODY_MEDIA
    edit = await _body(request, media, layer, operation, principal, fid)
    _check_wards(principal, layer, edit, create=False)
    expected = if_match(request)
    precondition: Precondition = "unchanged" if expected is None else expected
    written = None
    if precondition != frozenset():  # an If-Match naming no version matches nothing
        stmt = update_statement(
            layer, edit, fid, replace=operation == "replace", precondition=precondition
        )
        written = await _execute(request, layer, stmt, WrittenRow)
    if written is None:
        raise await _untouched(request, layer, fid, principal, precondition)
    # the tag of the feature as a GET of it by this caller answers it
    tag = feature_tag(request, principal, "geojson", written.row_version, query="")
    return Response(status_code=204, headers={**NO_STORE, "ETag": tag})


@router.delete(
    "/collections/{collectionId}/items/{featureId}",
    operation_id="deleteFeature",
    summary="Delete a feature",
    status_code=204,
)
async def delete_feature(
    request: Request,
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    principal: PrincipalDep,
    _: EditsQuery,
) -> Response:
    """204 when deleted; 412 (and the feature kept) when ``If-Match`` names no
    current version of it."""
    _allowed(principal, layer, create=False)
    fid = feature_id_of(layer, feature_id)
    expected = if_match(request)
    precondition: Precondition = "exists" if expected is None else expected
    deleted = None
    if precondition != frozenset():
        stmt = delete_statement(layer, fid, precondition=precondition)
        deleted = await _execute(request, layer, stmt, WrittenRow)
    if deleted is None:
        raise await _untouched(request, layer, fid, principal, precondition)
    return Response(status_code=204, headers=NO_STORE)

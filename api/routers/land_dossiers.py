"""The land office's dossier reports (issue 14, item 6), JSON or HTML (Vietnamese
first), each one statement of ``gis.sql.land_dossiers``:

- ``GET /land/dossiers/weekly?ward_code=&from=&to=``: per ward and ISO week,
  received, done, done on time, late, the on-time rate (goal 98 %) and the late ones
  without an apology letter; by default the last 12 weeks;
- ``GET /land/dossiers/overdue?ward_code=&limit=``: open dossiers past their due date;
- ``GET /land/dossiers/due-soon?ward_code=&days=3&limit=``: open dossiers due within
  ``days`` working days.

Only who may read the ``land_dossiers`` layer finds these (anyone else: 404, as the
layer itself). A ward's land officer asking for another ward is refused (403); without
``ward_code`` it gets its own wards, which row-level security decides anyway (the
statement runs under the request's claims), so no bug here can show it another
ward's dossiers.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.deps import PrincipalDep, claims_of
from api.links import base_url, link, self_url
from api.negotiation import MEDIA
from api.params import (
    DOSSIER_MAX_DAYS_AHEAD,
    DOSSIER_MAX_DAYS_SPAN,
    DOSSIER_MAX_LIMIT,
    DOSSIER_WEEKS,
    DOSSIERS_DUE_SOON,
    DOSSIERS_OVERDUE,
    DOSSIERS_WEEKLY,
    LangDep,
    bounded_int,
)
from api.state import app_state
from gis.columns import CITY_TZ
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS, Statement
from gis.errors import ForbiddenError, InvalidParameterError, NotFoundError
from gis.layer import Label, VectorLayer
from gis.principal import Principal
from gis.sql.land_dossiers import (
    ON_TIME_GOAL,
    DossierListStatement,
    DossierReportRow,
    WeeklyStatement,
)
from layers import CATALOGUE

router = APIRouter()
DOSSIERS = "land_dossiers"
FORMATS = ("json", "html")
_WARD_CODE = re.compile(r"\d{5}")

TITLES = {
    "weekly": Label("Hồ sơ đất đai theo tuần", "Land dossiers by week"),
    "overdue": Label("Hồ sơ đất đai quá hạn", "Overdue land dossiers"),
    "due_soon": Label("Hồ sơ đất đai sắp đến hạn", "Land dossiers due soon"),
}


def city_today() -> dt.date:
    """Today in the city (the reports' "today" is PostgreSQL's, the same day)."""
    return dt.datetime.now(CITY_TZ).date()


def _readable(principal: Principal) -> VectorLayer:
    layer = CATALOGUE[DOSSIERS]
    if not layer.access.can_read(principal):
        raise NotFoundError(f"no collection {DOSSIERS!r}")
    return layer


def _ward(request: Request, layer: VectorLayer, principal: Principal) -> str | None:
    """``ward_code``: 5 digits (400); one of a ward officer's own wards (403)."""
    raw = request.query_params.get("ward_code")
    if raw is None:
        return None
    if not _WARD_CODE.fullmatch(raw):
        raise InvalidParameterError(
            f"ward_code: expected a 5-digit ward code, got {raw!r}",
            parameter="ward_code",
        )
    wards = layer.access.scope(principal, layer.access.read)
    if wards is not None and raw not in wards:
        raise ForbiddenError(
            f"ward_code: you may read {layer.id} only in your wards "
            f"({', '.join(sorted(wards)) or 'none'})",
            parameter="ward_code",
        )
    return raw


def _integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = bounded_int(request.query_params, name, low, high)
    return default if value is None else value


def _date(request: Request, name: str, default: dt.date) -> dt.date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameterError(
            f"{name}: expected a date (YYYY-MM-DD), got {raw!r}", parameter=name
        ) from None


def _period(request: Request) -> tuple[dt.date, dt.date]:
    last = _date(request, "to", city_today())
    first = _date(
        request, "from", last - dt.timedelta(weeks=DOSSIER_WEEKS) + dt.timedelta(days=1)
    )
    if first > last:
        raise InvalidParameterError("from: after to", parameter="from")
    if (last - first).days > DOSSIER_MAX_DAYS_SPAN:
        raise InvalidParameterError(
            f"from, to: at most {DOSSIER_MAX_DAYS_SPAN} days apart", parameter="from"
        )
    return first, last


@router.get(
    "/land/dossiers/weekly",
    operation_id="getLandDossiersWeekly",
    summary="Land dossiers per ward and week: received, done, on time, late",
)
async def get_weekly(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """Per ward and ISO week: received, done, done on time, late, on-time rate."""
    layer = _readable(principal)
    DOSSIERS_WEEKLY.check_once(request.query_params)
    fmt = negotiation.choose(request, FORMATS)
    ward = _ward(request, layer, principal)
    first, last = _period(request)
    units = CATALOGUE["admin_units"]
    statement = WeeklyStatement(layer, units, first, last, ward)
    return await _answer(request, lang, fmt, "weekly", statement)


@router.get(
    "/land/dossiers/overdue",
    operation_id="getLandDossiersOverdue",
    summary="Open land dossiers past their due date",
)
async def get_overdue(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """Open dossiers past their due date, most overdue first."""
    layer = _readable(principal)
    DOSSIERS_OVERDUE.check_once(request.query_params)
    fmt = negotiation.choose(request, FORMATS)
    ward = _ward(request, layer, principal)
    limit = _integer(request, "limit", 100, 1, DOSSIER_MAX_LIMIT)
    parcels = CATALOGUE["land_parcels"]
    statement = DossierListStatement(layer, parcels, "overdue", limit, ward)
    return await _answer(request, lang, fmt, "overdue", statement)


@router.get(
    "/land/dossiers/due-soon",
    operation_id="getLandDossiersDueSoon",
    summary="Open land dossiers due within some working days",
)
async def get_due_soon(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """Open dossiers due from today to ``days`` working days ahead, soonest first."""
    layer = _readable(principal)
    DOSSIERS_DUE_SOON.check_once(request.query_params)
    fmt = negotiation.choose(request, FORMATS)
    ward = _ward(request, layer, principal)
    days = _integer(request, "days", 3, 0, DOSSIER_MAX_DAYS_AHEAD)
    limit = _integer(request, "limit", 100, 1, DOSSIER_MAX_LIMIT)
    parcels = CATALOGUE["land_parcels"]
    statement = DossierListStatement(layer, parcels, "due_soon", limit, ward, days=days)
    return await _answer(request, lang, fmt, "due_soon", statement)


async def _answer(
    request: Request,
    lang: str,
    fmt: str,
    report: str,
    statement: Statement[DossierReportRow],
) -> Response:
    row = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    assert row is not None  # each statement answers one row
    if fmt == "html":
        return _html(request, lang, report, orjson.loads(row.doc))
    url = self_url(request)
    title = f"{TITLES[report].vi} / {TITLES[report].en}"
    links = [
        link(url, "self", MEDIA["json"], title),
        link(_with_format(url, "html"), "alternate", MEDIA["html"], title),
        link(f"{base_url(request)}/collections/{DOSSIERS}/items", "related",
             MEDIA["geojson"], "Hồ sơ đất đai / Land dossiers"),
    ]  # fmt: skip
    body = row.doc[:-1] + b', "links" : ' + orjson.dumps(links) + b"}"
    return Response(body, media_type=MEDIA["json"])


def _with_format(url: str, fmt: str) -> str:
    """``url`` asking for ``fmt`` (its own ``f=`` replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "f"] + [("f", fmt)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _html(request: Request, lang: str, report: str, doc: dict[str, Any]) -> Response:
    other = "en" if lang == "vi" else "vi"
    base = base_url(request)
    return html.render(
        "land_dossiers.html",
        lang,
        title=f"{TITLES[report].get(lang)} · {TITLES[report].get(other)}",
        base=base,
        report=report,
        doc=doc,
        goal=ON_TIME_GOAL,
        items_url=f"{base}/collections/{DOSSIERS}/items",
        parcels_url=f"{base}/collections/land_parcels/items",
        json_url=_with_format(self_url(request), "json"),
    )

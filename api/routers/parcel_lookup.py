"""Finding a parcel as a land officer names it (issue 14, item 1).

``GET /collections/land_parcels/lookup?ward_code=&sheet_no=&parcel_no=`` or
``?national_parcel_id=``: every parcel the words may name, each with its ward today,
the commune whose sheet numbers it and how it matched (``gis.sql.parcel_lookup``),
and ``ambiguous`` when there is more than one. A ward code of 2025 finds the sheets of
the communes merged into it through the crosswalk; a commune code before 2025 finds
its own sheets. The same parcels are found through ``property=value`` and CQL2 on
``survey_ward_code``, ``sheet_no`` and ``parcel_no`` (or ``ward_code`` for today's
ward), which read the same indexes.

A code that names no ward or commune of either system is a 400 (a typo should not
look like "no such parcel"); a well-formed look-up that finds nothing is a 200 with
no matches. JSON, or (``f=html`` or ``Accept: text/html``) a page listing the
matches with the commune each belongs to, each linked to its card and its feature.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from api import caching, html, negotiation
from api.deps import PrincipalDep, claims_of
from api.links import base_url, link, self_url, with_links, with_query
from api.negotiation import MEDIA
from api.params import LangDep, LookupQuery
from api.routers.land_office import field_labels
from api.state import app_state
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS
from gis.errors import InvalidParameterError, NotFoundError
from gis.layer import Label
from gis.sql.parcel_lookup import LookupStatement
from layers import CATALOGUE
from layers.admin_units import lineage

router = APIRouter()
PARCELS = "land_parcels"
UNITS = "admin_units"
TITLE = Label(vi="Tra cứu thửa đất", en="Parcel look-up")
# both languages: the document's links are not localised
LINK_TITLE = f"{TITLE.vi} / {TITLE.en}"
LOOKUP_FORMATS = ("json", "html")


@router.get(
    "/collections/land_parcels/lookup",
    operation_id="lookupParcel",
    summary="Find a parcel by ward, map sheet and number, or by national id",
)
async def lookup_parcel(
    request: Request, principal: PrincipalDep, lookup: LookupQuery, lang: LangDep
) -> Response:
    """Every parcel the ward, sheet and number (or national id) may name."""
    parcels, units = CATALOGUE[PARCELS], CATALOGUE[UNITS]
    if not (parcels.access.can_read(principal) and units.access.can_read(principal)):
        raise NotFoundError(f"no collection {PARCELS!r}")
    fmt = negotiation.choose(request, LOOKUP_FORMATS)
    base = base_url(request)
    statement = LookupStatement(
        parcels,
        units,
        lineage.name,
        f"{base}/collections/{PARCELS}",
        ward_code=lookup.ward_code,
        sheet_no=lookup.sheet_no,
        parcel_no=lookup.parcel_no,
        national_parcel_id=lookup.national_parcel_id,
    )
    row = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    assert row is not None  # an aggregate: always one row
    if not row.ward_known:
        raise InvalidParameterError(
            f"ward_code: {lookup.ward_code!r} is not the code of a ward, or of a "
            "commune before 2025",
            parameter="ward_code",
        )
    headers = caching.data_headers(
        request,
        principal,
        [parcels, units],
        fmt=fmt,
        versions=(str(row.parcels_version), str(row.units_version)),
        changed_at=row.changed_at,
    )
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    asked = {k: v for k, v in request.query_params.items() if k != "f"}
    url = self_url(request)
    if fmt == "html":
        response = html.render(
            "land_matches.html",
            lang,
            title=f"{TITLE.get(lang)} · {TITLE.get('en' if lang == 'vi' else 'vi')}",
            base=base,
            doc=orjson.loads(row.doc),
            labels=field_labels(parcels, lang),
            card_url=f"{base}/land/parcels/",
            form_url=with_query(f"{base}/land", {**asked, "lang": lang}),
            json_url=with_query(url, {**asked, "f": "json"}),
        )
        response.headers.update(headers)
        return response
    links = [
        link(with_query(url, asked), "self", MEDIA["json"], LINK_TITLE),
        link(with_query(url, {**asked, "f": "html"}), "alternate", MEDIA["html"],
             LINK_TITLE),
        link(f"{base}/collections/{PARCELS}", "collection", MEDIA["json"], "Thửa đất"),
    ]  # fmt: skip
    return Response(
        with_links(row.doc, links), media_type=MEDIA["json"], headers=headers
    )

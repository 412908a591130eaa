"""OGC API Tiles (vector) with the 2D Tile Matrix Set standard, and TileJSON 3.0."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import morecantile
import orjson
from fastapi import APIRouter, Path, Request, Response

from api import negotiation
from api.deps import (
    LangDep,
    LayerDep,
    PrincipalDep,
    claims_of,
    reject_unknown,
    visible_layers,
)
from api.links import base_url, link
from api.stats import layer_stats_many
from gis.cache import TileCache
from gis.crs import uri_for
from gis.db import fetch_one
from gis.errors import NotFoundError
from gis.layer import Field, Principal, VectorLayer
from gis.sql.compiled import Compiled
from gis.sql.tiles import dataset_tile_sql, tile_fields, tile_sql, versioned
from gis.tms import TileRef, srid_of, tile, tile_matrix_sets

router = APIRouter()


def tiled_fields(layer: VectorLayer, principal: Principal) -> list[Field]:
    """The properties a tile of ``layer`` may carry for ``principal`` at full detail
    (never personal or derived ones: ``gis.sql.tiles.tile_fields``)."""
    return tile_fields(layer, layer.visible_fields(principal), layer.tiles.detail_zoom)


MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
TILEJSON = "application/vnd.mapbox.tile+json"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
TmsId = Annotated[str, Path(alias="tileMatrixSetId")]


def _tms_or_404(tms_id: str) -> morecantile.TileMatrixSet:
    tms = tile_matrix_sets().get(tms_id)
    if tms is None:
        raise NotFoundError(
            f"no tile matrix set {tms_id!r}; sets: {', '.join(tile_matrix_sets())}"
        )
    return tms


def _tms_uri(request: Request, tms_id: str) -> str:
    if tms_id in ("WebMercatorQuad", "WorldCRS84Quad"):
        return f"http://www.opengis.net/def/tilematrixset/OGC/1.0/{tms_id}"
    return f"{base_url(request)}/tileMatrixSets/{tms_id}"


@router.get(
    "/tileMatrixSets", operation_id="getTileMatrixSets", summary="Tile matrix sets"
)
async def list_tms(request: Request) -> Response:
    """The tile matrix sets tiles are offered in."""
    reject_unknown(request, {"f", "lang"})
    base = base_url(request)
    sets = [
        {
            "id": k,
            "title": t.title or k,
            "uri": _tms_uri(request, k),
            "crs": uri_for(srid_of(t)),
            "links": [link(f"{base}/tileMatrixSets/{k}", "self", JSON, t.title or k)],
        }
        for k, t in tile_matrix_sets().items()
    ]
    return Response(orjson.dumps({"tileMatrixSets": sets}), media_type=JSON)


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    operation_id="getTileMatrixSet",
    summary="A tile matrix set",
)
async def get_tms(request: Request, tms_id: TmsId) -> Response:
    """The definition of one tile matrix set (OGC 17-083r4 JSON)."""
    reject_unknown(request, {"f", "lang"})
    tms = _tms_or_404(tms_id)
    return Response(
        tms.model_dump_json(exclude_none=True, by_alias=True), media_type=JSON
    )


def _tileset_layers(layers: list[VectorLayer]) -> list[VectorLayer]:
    return [la for la in layers if la.geometry_type is not None]


async def _tileset_doc(
    request: Request,
    layers: list[VectorLayer],
    tms_id: str,
    path: str,
    title: str,
    principal: Principal,
) -> dict[str, Any]:
    tms = _tms_or_404(tms_id)
    base = base_url(request)
    minzoom = 0  # below a layer's minzoom its tiles are overviews (gis.sql.tiles)
    maxzoom = max(la.tiles.maxzoom for la in layers)
    limits = []
    bbox = await _union_bbox(request, layers)
    if bbox:
        for z in range(minzoom, maxzoom + 1):
            ul = tms.tile(bbox[0], bbox[3], z)
            lr = tms.tile(bbox[2], bbox[1], z)
            limits.append(
                {
                    "tileMatrix": str(z),
                    "minTileRow": min(ul.y, lr.y),
                    "maxTileRow": max(ul.y, lr.y),
                    "minTileCol": min(ul.x, lr.x),
                    "maxTileCol": max(ul.x, lr.x),
                }
            )
    template = f"{base}{path}/{tms_id}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    return {
        "title": title,
        "dataType": "vector",
        "crs": uri_for(srid_of(tms)),
        "tileMatrixSetURI": _tms_uri(request, tms_id),
        "tileMatrixSetLimits": limits,
        "layers": [
            {
                "id": la.id,
                "title": la.title.en,
                "dataType": "vector",
                "geometryDimension": _dimension(la),
                "minTileMatrix": "0",
                "maxTileMatrix": str(la.tiles.maxzoom),
                **_zooms(la),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {
                        f.name: {"title": f.title.en}
                        for f in tiled_fields(la, principal)
                    },
                },
            }
            for la in layers
        ],
        "links": [
            link(f"{base}{path}/{tms_id}", "self", JSON, title),
            link(_tms_uri(request, tms_id), f"{OGC_REL}/tiling-scheme", JSON, tms_id),
            link(template, "item", MVT, "Vector tiles", templated=True),
            link(
                f"{base}{path}/{tms_id}?f=tilejson", "alternate", TILEJSON, "TileJSON"
            ),
        ],
    }


def _zooms(layer: VectorLayer) -> dict[str, Any]:
    """Which zooms carry single features and which an overview, and its kind."""
    spec = layer.tiles
    return {
        "dothi:featuresFromZoom": spec.minzoom,
        "dothi:overview": {
            "zooms": f"0-{spec.minzoom - 1}" if spec.minzoom > 0 else None,
            "kind": spec.overview,
            "properties": ["count", "overview"]
            + ([spec.category] if spec.category else []),
        },
    }


def _dimension(layer: VectorLayer) -> int:
    g = (layer.geometry_type or "").lower()
    return 0 if "point" in g else 1 if "line" in g else 2


async def _union_bbox(
    request: Request, layers: list[VectorLayer]
) -> tuple[float, float, float, float] | None:
    boxes = [s.bbox for s in await layer_stats_many(request, layers) if s.bbox]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


async def _tilejson(
    request: Request,
    layers: list[VectorLayer],
    tms_id: str,
    path: str,
    principal: Principal,
) -> dict[str, Any]:
    base = base_url(request)
    bbox = await _union_bbox(request, layers) or (-180.0, -85.0, 180.0, 85.0)
    detail = min(la.tiles.minzoom for la in layers)
    return {
        "tilejson": "3.0.0",
        "name": ", ".join(la.id for la in layers),
        "scheme": "xyz",
        "tiles": [f"{base}{path}/{tms_id}/{{z}}/{{y}}/{{x}}"],
        "minzoom": 0,
        "maxzoom": max(la.tiles.maxzoom for la in layers),
        "bounds": list(bbox),
        "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, detail],
        "vector_layers": [
            {
                "id": la.id,
                "description": la.title.en,
                "minzoom": 0,
                "maxzoom": la.tiles.maxzoom,
                "fields": {
                    **{f.name: f.title.en for f in tiled_fields(la, principal)},
                    "count": "features this one stands for (overview zooms)",
                    "overview": "cluster, grid, generalise or merge (overview zooms)",
                },
                **_zooms(la),
            }
            for la in layers
        ],
    }


def _tilesets_list(request: Request, path: str, title: str) -> Response:
    base = base_url(request)
    sets = [
        {
            "title": f"{title} ({k})",
            "dataType": "vector",
            "crs": uri_for(srid_of(t)),
            "tileMatrixSetURI": _tms_uri(request, k),
            "links": [
                link(f"{base}{path}/{k}", "self", JSON, k),
                link(_tms_uri(request, k), f"{OGC_REL}/tiling-scheme", JSON, k),
                link(
                    f"{base}{path}/{k}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                    "item",
                    MVT,
                    "Vector tiles",
                    templated=True,
                ),
            ],
        }
        for k, t in tile_matrix_sets().items()
    ]
    return Response(
        orjson.dumps(
            {"tilesets": sets, "links": [link(f"{base}{path}", "self", JSON, title)]}
        ),
        media_type=JSON,
    )


@router.get(
    "/collections/{collectionId}/tiles",
    operation_id="getCollectionTilesets",
    summary="Vector tilesets of a collection",
)
async def collection_tilesets(
    request: Request, layer: LayerDep, lang: LangDep
) -> Response:
    """The tilesets (one per tile matrix set) of a collection."""
    reject_unknown(request, {"f", "lang"})
    if layer.geometry_type is None:
        raise NotFoundError(f"{layer.id} has no geometry and no tiles")
    return _tilesets_list(
        request, f"/collections/{layer.id}/tiles", layer.title.get(lang)
    )


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}",
    operation_id="getCollectionTileset",
    summary="Tileset metadata",
)
async def collection_tileset(
    request: Request,
    layer: LayerDep,
    tms_id: TmsId,
    lang: LangDep,
    principal: PrincipalDep,
) -> Response:
    """Tileset metadata (OGC 2D TileSet), or TileJSON 3.0 with ``f=tilejson``."""
    reject_unknown(request, {"f", "lang"})
    if layer.geometry_type is None:
        raise NotFoundError(f"{layer.id} has no geometry and no tiles")
    path = f"/collections/{layer.id}/tiles"
    return await _tileset_response(
        request, [layer], tms_id, path, layer.title.get(lang), principal
    )


async def _tileset_response(
    request: Request,
    layers: list[VectorLayer],
    tms_id: str,
    path: str,
    title: str,
    principal: Principal,
) -> Response:
    _tms_or_404(tms_id)
    fmt = negotiation.choose(request, ("json", "tilejson"))
    if fmt == "tilejson":
        doc = await _tilejson(request, layers, tms_id, path, principal)
        return Response(orjson.dumps(doc), media_type=TILEJSON)
    doc = await _tileset_doc(request, layers, tms_id, path, title, principal)
    return Response(orjson.dumps(doc), media_type=JSON)


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    operation_id="getCollectionTile",
    summary="A vector tile of a collection",
)
async def collection_tile(
    request: Request,
    layer: LayerDep,
    principal: PrincipalDep,
    tms_id: TmsId,
    z: Annotated[str, Path(alias="tileMatrix")],
    row: Annotated[str, Path(alias="tileRow")],
    col: Annotated[str, Path(alias="tileCol")],
) -> Response:
    """One Mapbox Vector Tile made by ``ST_AsMVT``."""
    reject_unknown(request, {"f", "lang"})
    ref = tile(tms_id, z, row, col)
    if layer.geometry_type is None:
        raise NotFoundError(f"{layer.id} has no geometry and no tiles")
    if ref.level > layer.tiles.maxzoom:
        raise NotFoundError(
            f"no tile {ref.z}/{ref.row}/{ref.col}: {layer.id} has tiles at zooms "
            f"0-{layer.tiles.maxzoom}"
        )
    return await _tile_response(request, [layer], principal, ref)


@router.get(
    "/tiles",
    operation_id="getDatasetTilesets",
    summary="Vector tilesets of every layer",
)
async def dataset_tilesets(request: Request, lang: LangDep) -> Response:
    """The city base map: every layer the caller may see, in one tile."""
    reject_unknown(request, {"f", "lang"})
    return _tilesets_list(request, "/tiles", "dothi" if lang == "en" else "Đô thị")


@router.get(
    "/tiles/{tileMatrixSetId}",
    operation_id="getDatasetTileset",
    summary="Tileset metadata of every layer",
)
async def dataset_tileset(
    request: Request, tms_id: TmsId, lang: LangDep, principal: PrincipalDep
) -> Response:
    """Metadata of the all-layers tileset, or its TileJSON."""
    reject_unknown(request, {"f", "lang"})
    layers = _tileset_layers(visible_layers(principal))
    return await _tileset_response(
        request,
        layers,
        tms_id,
        "/tiles",
        "dothi" if lang == "en" else "Đô thị",
        principal,
    )


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    operation_id="getDatasetTile",
    summary="A vector tile of every layer",
)
async def dataset_tile(
    request: Request,
    principal: PrincipalDep,
    tms_id: TmsId,
    z: Annotated[str, Path(alias="tileMatrix")],
    row: Annotated[str, Path(alias="tileRow")],
    col: Annotated[str, Path(alias="tileCol")],
) -> Response:
    """One tile with every visible layer that has tiles at this zoom."""
    reject_unknown(request, {"f", "lang"})
    ref = tile(tms_id, z, row, col)
    layers = [
        la
        for la in _tileset_layers(visible_layers(principal))
        if ref.level <= la.tiles.maxzoom
    ]
    if not layers:
        raise NotFoundError(f"no layer has tiles at zoom {ref.z}")
    return await _tile_response(request, layers, principal, ref)


async def _tile_response(
    request: Request, layers: list[VectorLayer], principal: Principal, ref: TileRef
) -> Response:
    pool = request.app.state.pool
    cache: TileCache | None = request.app.state.tile_cache
    settings = request.app.state.settings
    parts: list[tuple[VectorLayer, tuple[Field, ...]]] = [
        (la, la.visible_fields(principal)) for la in layers
    ]
    # what the tile holds for this principal: the layers and the fields they carry
    key = (
        ref.tms_id,
        ref.z,
        ref.row,
        ref.col,
        tuple(
            (la.id, tuple(f.name for f in tile_fields(la, fields, ref.level)))
            for la, fields in parts
        ),
    )
    if len(parts) == 1:
        compiled, params = tile_sql(parts[0][0], ref, parts[0][1])
    else:
        compiled, params = dataset_tile_sql(parts, ref)
    cached = await cache.aget(key) if cache is not None else None
    params["known"] = list(cached[0]) if cached else None
    params["tables"] = sorted(la.table.name for la in layers)
    found = await fetch_one(
        pool, _versioned(compiled), params, claims=claims_of(request)
    )
    versions = tuple(found.versions or ())
    if found.mvt is None and cached is not None:
        data = cached[1]
        state = "hit"
    else:
        data = bytes(found.mvt or b"")
        state = "miss"
        if cache is not None:
            await cache.aput(key, versions, data)
    etag = (
        '"'
        + hashlib.blake2b(repr((key, versions)).encode(), digest_size=12).hexdigest()
        + '"'
    )
    public = principal.auth == "anonymous" and all(la.access.is_public for la in layers)
    headers = {
        "ETag": etag,
        "Cache-Control": (
            f"public, max-age={settings.tiles.max_age_s}"
            if public
            else "private, no-store"
        ),
        "X-Cache": state,
    }
    inm = request.headers.get("if-none-match")
    if inm and etag in {t.strip() for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


_VERSIONED: dict[str, Compiled] = {}


def _versioned(compiled: Compiled) -> Compiled:
    wrapped = _VERSIONED.get(compiled.sql)
    if wrapped is None:
        wrapped = versioned(compiled)
        if len(_VERSIONED) < 4096:
            _VERSIONED[compiled.sql] = wrapped
    return wrapped

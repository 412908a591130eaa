"""OGC API Tiles (vector) with the 2D Tile Matrix Set standard, and TileJSON 3.0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import morecantile
import orjson
from fastapi import APIRouter, Path, Request, Response

from api import caching, negotiation
from api.deps import (
    LayerDep,
    PrincipalDep,
    claims_of,
    visible_layers,
)
from api.links import base_url, link
from api.negotiation import MEDIA
from api.params import LangDep, TilesQuery
from api.state import app_state
from api.stats import layer_stats_many
from gis.crs import uri_for
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS
from gis.errors import NotFoundError
from gis.layer import Field, VectorLayer
from gis.principal import Principal
from gis.sql.tiles import DatasetTile, LayerTile, VersionedTile, tile_fields
from gis.tms import TileRef, srid_of, tile, tile_matrix_sets

router = APIRouter()

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
TmsId = Annotated[str, Path(alias="tileMatrixSetId")]
TileMatrix = Annotated[str, Path(alias="tileMatrix")]
TileRow = Annotated[str, Path(alias="tileRow")]
TileCol = Annotated[str, Path(alias="tileCol")]
Bbox = tuple[float, float, float, float]


def tiled_fields(layer: VectorLayer, principal: Principal) -> list[Field]:
    """The properties a tile of ``layer`` may carry for ``principal`` at full detail
    (never personal or derived ones: ``gis.sql.tiles.tile_fields``)."""
    return tile_fields(layer, layer.visible_fields(principal), layer.tiles.detail_zoom)


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


def _with_tiles(layer: VectorLayer) -> VectorLayer:
    """``layer``, or a 404 when it has no geometry (so no tiles)."""
    if layer.geometry_type is None:
        raise NotFoundError(f"{layer.id} has no geometry and no tiles")
    return layer


def _tileset_layers(layers: list[VectorLayer]) -> list[VectorLayer]:
    return [la for la in layers if la.geometry_type is not None]


def _dataset_title(lang: str) -> str:
    return "dothi" if lang == "en" else "Đô thị"


def _json(doc: Any, media: str = MEDIA["json"]) -> Response:
    return Response(orjson.dumps(doc), media_type=media)


# --- tile matrix sets ---------------------------------------------------------------


@router.get(
    "/tileMatrixSets", operation_id="getTileMatrixSets", summary="Tile matrix sets"
)
async def list_tms(request: Request, _: TilesQuery) -> Response:
    """The tile matrix sets tiles are offered in."""
    base = base_url(request)
    sets = [
        {
            "id": k,
            "title": t.title or k,
            "uri": _tms_uri(request, k),
            "crs": uri_for(srid_of(t)),
            "links": [
                link(f"{base}/tileMatrixSets/{k}", "self", MEDIA["json"], t.title or k)
            ],
        }
        for k, t in tile_matrix_sets().items()
    ]
    return _json({"tileMatrixSets": sets})


@router.get(
    "/tileMatrixSets/{tileMatrixSetId}",
    operation_id="getTileMatrixSet",
    summary="A tile matrix set",
)
async def get_tms(tms_id: TmsId, _: TilesQuery) -> Response:
    """The definition of one tile matrix set (OGC 17-083r4 JSON)."""
    tms = _tms_or_404(tms_id)
    return Response(
        tms.model_dump_json(exclude_none=True, by_alias=True), media_type=MEDIA["json"]
    )


# --- tileset documents: OGC 2D TileSet and TileJSON ----------------------------------


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


async def _union_bbox(request: Request, layers: list[VectorLayer]) -> Bbox | None:
    boxes = [s.bbox for s in await layer_stats_many(request, layers) if s.bbox]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _matrix_limits(
    tms: morecantile.TileMatrixSet, bbox: Bbox | None, maxzoom: int
) -> list[dict[str, Any]]:
    """The rows and columns that hold data at each zoom, from 0 (below a layer's
    minzoom its tiles are overviews: gis.sql.tiles) to ``maxzoom``."""
    if not bbox:
        return []
    limits = []
    for z in range(maxzoom + 1):
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
    return limits


def _tileset_layer(layer: VectorLayer, principal: Principal) -> dict[str, Any]:
    """One layer of a tileset document (its properties as ``principal`` sees them)."""
    return {
        "id": layer.id,
        "title": layer.title.en,
        "dataType": "vector",
        "geometryDimension": _dimension(layer),
        "minTileMatrix": "0",
        "maxTileMatrix": str(layer.tiles.maxzoom),
        **_zooms(layer),
        "propertiesSchema": {
            "type": "object",
            "properties": {
                f.name: {"title": f.title.en} for f in tiled_fields(layer, principal)
            },
        },
    }


def _tileset_links(
    request: Request, path: str, tms_id: str, title: str
) -> list[dict[str, Any]]:
    """A tileset's own link, its tiling scheme and its tiles' URL template."""
    url = f"{base_url(request)}{path}/{tms_id}"
    template = f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
    return [
        link(url, "self", MEDIA["json"], title),
        link(
            _tms_uri(request, tms_id), f"{OGC_REL}/tiling-scheme", MEDIA["json"], tms_id
        ),
        link(template, "item", MEDIA["mvt"], "Vector tiles", templated=True),
    ]


@dataclass(frozen=True, slots=True)
class _Tileset:
    """What a tileset document describes: its layers (as ``principal`` sees them),
    matrix set, path and title."""

    layers: list[VectorLayer]
    tms_id: str
    path: str
    title: str
    principal: Principal


async def _tileset_doc(request: Request, ts: _Tileset) -> dict[str, Any]:
    tms = _tms_or_404(ts.tms_id)
    maxzoom = max(la.tiles.maxzoom for la in ts.layers)
    bbox = await _union_bbox(request, ts.layers)
    return {
        "title": ts.title,
        "dataType": "vector",
        "crs": uri_for(srid_of(tms)),
        "tileMatrixSetURI": _tms_uri(request, ts.tms_id),
        "tileMatrixSetLimits": _matrix_limits(tms, bbox, maxzoom),
        "layers": [_tileset_layer(la, ts.principal) for la in ts.layers],
        "links": [
            *_tileset_links(request, ts.path, ts.tms_id, ts.title),
            link(
                f"{base_url(request)}{ts.path}/{ts.tms_id}?f=tilejson",
                "alternate",
                MEDIA["tilejson"],
                "TileJSON",
            ),
        ],
    }


def _vector_layer(layer: VectorLayer, principal: Principal) -> dict[str, Any]:
    """One entry of TileJSON ``vector_layers``."""
    return {
        "id": layer.id,
        "description": layer.title.en,
        "minzoom": 0,
        "maxzoom": layer.tiles.maxzoom,
        "fields": {
            **{f.name: f.title.en for f in tiled_fields(layer, principal)},
            "count": "features this one stands for (overview zooms)",
            "overview": "cluster, grid, generalise or merge (overview zooms)",
        },
        **_zooms(layer),
    }


async def _tilejson(request: Request, ts: _Tileset) -> dict[str, Any]:
    bbox = await _union_bbox(request, ts.layers) or (-180.0, -85.0, 180.0, 85.0)
    detail = min(la.tiles.minzoom for la in ts.layers)
    return {
        "tilejson": "3.0.0",
        "name": ", ".join(la.id for la in ts.layers),
        "scheme": "xyz",
        "tiles": [f"{base_url(request)}{ts.path}/{ts.tms_id}/{{z}}/{{y}}/{{x}}"],
        "minzoom": 0,
        "maxzoom": max(la.tiles.maxzoom for la in ts.layers),
        "bounds": list(bbox),
        "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, detail],
        "vector_layers": [_vector_layer(la, ts.principal) for la in ts.layers],
    }


async def _tileset_response(request: Request, ts: _Tileset) -> Response:
    _tms_or_404(ts.tms_id)
    fmt = negotiation.choose(request, ("json", "tilejson"))
    if fmt == "tilejson":
        return _json(await _tilejson(request, ts), MEDIA["tilejson"])
    return _json(await _tileset_doc(request, ts))


def _tilesets_list(request: Request, path: str, title: str) -> Response:
    """The tilesets of ``path``: one per tile matrix set."""
    base = base_url(request)
    sets = [
        {
            "title": f"{title} ({k})",
            "dataType": "vector",
            "crs": uri_for(srid_of(t)),
            "tileMatrixSetURI": _tms_uri(request, k),
            "links": _tileset_links(request, path, k, k),
        }
        for k, t in tile_matrix_sets().items()
    ]
    links = [link(f"{base}{path}", "self", MEDIA["json"], title)]
    return _json({"tilesets": sets, "links": links})


# --- tilesets and tiles of one collection --------------------------------------------


@router.get(
    "/collections/{collectionId}/tiles",
    operation_id="getCollectionTilesets",
    summary="Vector tilesets of a collection",
)
async def collection_tilesets(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    _: TilesQuery,
) -> Response:
    """The tilesets (one per tile matrix set) of a collection."""
    _with_tiles(layer)
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
    _: TilesQuery,
) -> Response:
    """Tileset metadata (OGC 2D TileSet), or TileJSON 3.0 with ``f=tilejson``."""
    path = f"/collections/{_with_tiles(layer).id}/tiles"
    tileset = _Tileset([layer], tms_id, path, layer.title.get(lang), principal)
    return await _tileset_response(request, tileset)


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
    z: TileMatrix,
    row: TileRow,
    col: TileCol,
    _: TilesQuery,
) -> Response:
    """One Mapbox Vector Tile made by ``ST_AsMVT``."""
    ref = tile(tms_id, z, row, col)
    _with_tiles(layer)
    if ref.level > layer.tiles.maxzoom:
        raise NotFoundError(
            f"no tile {ref.z}/{ref.row}/{ref.col}: {layer.id} has tiles at zooms "
            f"0-{layer.tiles.maxzoom}"
        )
    return await _tile_response(request, [layer], principal, ref)


# --- the base map: every layer the caller may see ------------------------------------


@router.get(
    "/tiles",
    operation_id="getDatasetTilesets",
    summary="Vector tilesets of every layer",
)
async def dataset_tilesets(request: Request, lang: LangDep, _: TilesQuery) -> Response:
    """The city base map: every layer the caller may see, in one tile."""
    return _tilesets_list(request, "/tiles", _dataset_title(lang))


@router.get(
    "/tiles/{tileMatrixSetId}",
    operation_id="getDatasetTileset",
    summary="Tileset metadata of every layer",
)
async def dataset_tileset(
    request: Request,
    tms_id: TmsId,
    lang: LangDep,
    principal: PrincipalDep,
    _: TilesQuery,
) -> Response:
    """Metadata of the all-layers tileset, or its TileJSON."""
    layers = _tileset_layers(visible_layers(principal))
    tileset = _Tileset(layers, tms_id, "/tiles", _dataset_title(lang), principal)
    return await _tileset_response(request, tileset)


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    operation_id="getDatasetTile",
    summary="A vector tile of every layer",
)
async def dataset_tile(
    request: Request,
    principal: PrincipalDep,
    tms_id: TmsId,
    z: TileMatrix,
    row: TileRow,
    col: TileCol,
    _: TilesQuery,
) -> Response:
    """One tile with every visible layer that has tiles at this zoom."""
    ref = tile(tms_id, z, row, col)
    layers = [
        la
        for la in _tileset_layers(visible_layers(principal))
        if ref.level <= la.tiles.maxzoom
    ]
    if not layers:
        raise NotFoundError(f"no layer has tiles at zoom {ref.z}")
    return await _tile_response(request, layers, principal, ref)


# --- making a tile: cache, database, HTTP caching -------------------------------------


def _tile_key(
    ref: TileRef, parts: list[tuple[VectorLayer, tuple[Field, ...]]]
) -> tuple[Any, ...]:
    """What the tile holds for this principal: where, the layers and the fields they
    carry (two callers who see the same share the cached tile)."""
    return (
        ref.tms_id,
        ref.z,
        ref.row,
        ref.col,
        tuple(
            (la.id, tuple(f.name for f in tile_fields(la, fields, ref.level)))
            for la, fields in parts
        ),
    )


async def _tile_bytes(
    request: Request,
    ref: TileRef,
    parts: list[tuple[VectorLayer, tuple[Field, ...]]],
    key: tuple[Any, ...],
) -> tuple[bytes, tuple[int, ...], str]:
    """The tile, the data versions it was made from, and ``hit`` or ``miss``: one
    round trip makes it only when the cached one is not current (``versioned``)."""
    state = app_state(request)
    made: LayerTile | DatasetTile
    if len(parts) == 1:
        made = LayerTile(parts[0][0], ref, parts[0][1])
    else:
        made = DatasetTile(tuple(parts), ref)
    cache = state.tile_cache
    cached = await cache.aget(key) if cache is not None else None
    tables = tuple(sorted(la.table.name for la, _ in parts))
    statement = VersionedTile(made, tables, cached[0] if cached else None)
    found = await fetch_one(
        state.pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    assert found is not None  # an aggregate: always one row
    versions = tuple(found.versions or ())
    if found.mvt is None and cached is not None:
        return cached[1], versions, "hit"
    data = bytes(found.mvt or b"")
    if cache is not None:
        await cache.aput(key, versions, data)
    return data, versions, "miss"


async def _tile_response(
    request: Request, layers: list[VectorLayer], principal: Principal, ref: TileRef
) -> Response:
    parts = [(la, la.visible_fields(principal)) for la in layers]
    key = _tile_key(ref, parts)
    data, versions, cache_state = await _tile_bytes(request, ref, parts, key)
    headers = caching.cache_headers(
        caching.entity_tag(repr((key, versions))),
        public=caching.shareable(principal, layers),
        max_age_s=app_state(request).settings.tiles.max_age_s,
    )
    headers["X-Cache"] = cache_state
    if (unchanged := caching.not_modified(request, headers)) is not None:
        return unchanged
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MEDIA["mvt"], headers=headers)

"""Reading an import file: GeoPackage, GeoJSON, Shapefile (plain or zipped), CSV.

Everything GDAL reads goes through pyogrio; a CSV is read with pandas (every value
as text, so nothing is guessed here: PostgreSQL casts it to the column type later) and
its geometry comes from coordinate columns or a WKT column.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.crs import DEPRECATED_VN2000_SRIDS
from gis.errors import ImportRejectedError

# what a zip may hold that GDAL can open as a vector dataset
_ZIP_MEMBERS = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".gml")
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")
# coordinate column pairs, after normalising names (lower case, no accents, "_"):
# geographic names first, then projected ones. "x"/"y" are ambiguous: a Vietnamese
# survey table's X is the northing, which the importer detects and swaps later.
_GEOGRAPHIC_PAIRS = (
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("lng", "lat"),
    ("long", "lat"),
    ("kinh_do", "vi_do"),  # kinh độ / vĩ độ
)
_PROJECTED_PAIRS = (
    ("x", "y"),
    ("easting", "northing"),
    ("east", "north"),
    ("toa_do_x", "toa_do_y"),  # tọa độ X / tọa độ Y
    ("coord_x", "coord_y"),
    ("x_coord", "y_coord"),
    ("point_x", "point_y"),
)
# Arrow makes reading several times faster; pyogrio needs pyarrow for it
_HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "geometry_wkt")


@dataclass(frozen=True)
class Source:
    """A source layer read into memory.

    Parameters
    ----------
    name
        The file name, for messages (never the full path).
    layer
        The layer read inside the file, when the file has several or is a zip.
    fields
        Every attribute field of the source, in file order.
    frame
        The attribute values (all fields, or the subset asked for).
    geoms
        One shapely geometry (or None) per row, in source order.
    crs
        The EPSG code the file declares, None when it declares none.
    crs_name
        The file's CRS as text, for messages, when it declares one.
    coordinate_fields
        CSV fields the geometry was built from (not mapped automatically).
    geometry_errors
        Why a row has no geometry, by row index (0-based), when the reader knows.
    """

    name: str
    layer: str | None
    fields: tuple[str, ...]
    frame: pd.DataFrame
    geoms: npt.NDArray[np.object_]
    crs: int | None
    crs_name: str | None
    coordinate_fields: tuple[str, ...] = ()
    geometry_errors: dict[int, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        """The number of rows (features) read."""
        return len(self.geoms)


def read_source(path: Path, *, src_layer: str | None, crs: int | None) -> Source:
    """Read the layer to import from ``path``.

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, Shapefile, zipped Shapefile (or other GDAL vector
        file), or a CSV with coordinate or WKT columns.
    src_layer
        The layer inside the file; required when the file holds several.
    crs
        The EPSG code given by the user; a CSV uses it to pick between geographic
        (lon/lat) and projected (x/y) coordinate columns when it has both.

    Returns
    -------
    Source
        Attributes and geometries, in source order.

    Raises
    ------
    ImportRejectedError
        When the file cannot be read, the layer is missing or ambiguous, or a CSV
        has no coordinate columns.
    """
    if not path.exists():
        raise ImportRejectedError(f"{path.name}: no such file")
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return _read_csv(path, crs=crs)
    if suffix == ".zip":
        vsi, layer = _zip_member(path, src_layer)
        return _read_ogr(vsi, path.name, layer)
    return _read_ogr(str(path), path.name, src_layer)


def _zip_member(path: Path, src_layer: str | None) -> tuple[str, str | None]:
    """The /vsizip/ path of the dataset inside a zip, and the layer to read."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRejectedError(f"{path.name}: not a readable zip file") from exc
    members = [
        n
        for n in names
        if n.lower().endswith(_ZIP_MEMBERS)
        and not Path(n).name.startswith(".")
        and "__MACOSX" not in n
    ]
    if not members:
        raise ImportRejectedError(
            f"{path.name}: the zip holds no vector dataset (looked for "
            f"{', '.join(_ZIP_MEMBERS)})"
        )
    if len(members) == 1:
        return f"/vsizip/{path}/{members[0]}", src_layer
    if src_layer is not None:
        for m in members:
            if src_layer in (m, Path(m).name, Path(m).stem):
                # the member is the dataset; a single-layer member needs no layer name
                return f"/vsizip/{path}/{m}", None
    raise ImportRejectedError(
        f"{path.name}: the zip holds several datasets; choose one with src_layer: "
        + ", ".join(Path(m).stem for m in members)
    )


def _read_ogr(target: str, name: str, src_layer: str | None) -> Source:
    """Read a GDAL vector dataset with pyogrio."""
    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(target)]
    except (pyogrio.errors.DataSourceError, OSError, ValueError) as exc:
        raise ImportRejectedError(
            f"{name}: cannot be read as a vector dataset ({_gdal_message(exc, target)})"
        ) from exc
    if not layers:
        raise ImportRejectedError(f"{name}: the file holds no layer")
    if src_layer is None:
        if len(layers) > 1:
            raise ImportRejectedError(
                f"{name} holds several layers; choose one with src_layer: "
                + ", ".join(layers)
            )
        layer = layers[0]
    elif src_layer in layers:
        layer = src_layer
    else:
        raise ImportRejectedError(
            f"{name} has no layer {src_layer!r}; its layers are: {', '.join(layers)}"
        )
    try:
        with warnings.catch_warnings(), _deprecated_codes_kept():
            # on_invalid="ignore" turns unreadable geometries into None (a rejected
            # row with a reason) instead of failing the whole file
            warnings.simplefilter("ignore", RuntimeWarning)
            info = pyogrio.read_info(target, layer=layer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            df = pyogrio.read_dataframe(
                target,
                layer=layer,
                on_invalid="ignore",
                use_arrow=_HAS_ARROW,
                # date-times as written, offset and all: read as datetime64, a
                # column mixing zone-less values with zoned ones comes back all UTC,
                # and the zone-less ones are city time (README, "Time zones")
                datetime_as_string=True,
            )
    except (
        pyogrio.errors.DataSourceError,
        pyogrio.errors.DataLayerError,
        pyogrio.errors.FieldError,
        pyogrio.errors.GeometryError,
        pyogrio.errors.FeatureError,
        OSError,
        ValueError,
    ) as exc:
        raise ImportRejectedError(
            f"{name}: cannot read layer {layer!r} ({_gdal_message(exc, target)})"
        ) from exc
    fields = tuple(str(f) for f in info["fields"])
    geoms = (
        np.asarray(df.geometry.array, dtype=object)
        if "geometry" in df
        else np.full(len(df), None, dtype=object)
    )
    frame = pd.DataFrame(df.drop(columns="geometry", errors="ignore"))
    frame.index = pd.RangeIndex(len(frame))
    crs_epsg, crs_name = _epsg_of(info.get("crs"))
    return Source(
        name=name,
        layer=layer if (len(layers) > 1 or src_layer) else None,
        fields=fields,
        frame=frame,
        geoms=geoms,
        crs=crs_epsg,
        crs_name=crs_name,
    )


@contextmanager
def _deprecated_codes_kept() -> Iterator[None]:
    """Make GDAL report a deprecated EPSG code as it is written in the file.

    By default GDAL silently replaces e.g. EPSG:6959 by EPSG:5899 when it reads a
    GeoPackage; the importer must see the deprecated code to refuse it. (GDAL config
    options are process-wide; the previous value is restored.)
    """
    key = "OSR_USE_NON_DEPRECATED"
    before = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "NO"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: before})


def _gdal_message(exc: BaseException, target: str) -> str:
    """GDAL's message with the server-side folder removed (it may reach a client)."""
    text = str(exc).strip() or type(exc).__name__
    folder = str(Path(target.removeprefix("/vsizip/")).parent)
    return text.replace(folder + "/", "").replace(folder, "")[:300]


def _epsg_of(crs_text: str | None) -> tuple[int | None, str | None]:
    """The EPSG code of a CRS that GDAL reported (code or WKT), and its name."""
    if not crs_text:
        return None, None
    try:
        crs = CRS.from_user_input(crs_text)
    except CRSError:
        return None, crs_text[:120]
    # 70: PROJ's confidence for a WKT that differs from the EPSG entry only in names
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        # an ESRI .prj of a deprecated VN-2000 zone does not identify (its names
        # differ) but its definition is the deprecated one: report that code
        code = next(
            (
                d
                for d in sorted(DEPRECATED_VN2000_SRIDS)
                if crs.equals(CRS.from_epsg(d), ignore_axis_order=True)
            ),
            None,
        )
    return code, crs.name


def _normalise(name: str) -> str:
    """A field name folded for matching: lower case, no accents, ``_`` separators.

    Examples
    --------
    >>> _normalise("Kinh độ")
    'kinh_do'
    >>> _normalise(" Tọa độ X ")
    'toa_do_x'
    """
    text = unicodedata.normalize("NFKD", name.strip().lower()).replace("đ", "d")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _read_csv(path: Path, *, crs: int | None) -> Source:
    """Read a CSV whose geometry is in coordinate columns or a WKT column."""
    notes: list[str] = []
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Vietnamese Windows exports (Excel "CSV", not "CSV UTF-8") are cp1258, which
        # writes tones as combining marks: compose them so names compare equal
        text = unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace"))
        notes.append("the CSV is not UTF-8: it was read as Windows-1258 (Vietnamese)")
    if not text.strip():
        raise ImportRejectedError(f"{path.name}: the file is empty")
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ImportRejectedError(f"{path.name}: not a readable CSV ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    fields = tuple(frame.columns)
    by_norm: dict[str, str] = {}
    for f in fields:
        by_norm.setdefault(_normalise(f), f)
    geoms, errors, used = _csv_geometries(frame, by_norm, path.name, crs)
    return Source(
        name=path.name,
        layer=None,
        fields=fields,
        frame=frame,
        geoms=geoms,
        crs=None,
        crs_name=None,
        coordinate_fields=used,
        geometry_errors=errors,
        warnings=tuple(notes),
    )


def _csv_geometries(
    frame: pd.DataFrame, by_norm: dict[str, str], name: str, crs: int | None
) -> tuple[npt.NDArray[np.object_], dict[int, str], tuple[str, ...]]:
    """Geometries of a CSV, the per-row reasons for missing ones, the fields used."""
    projected = crs is not None and _is_projected(crs)
    pairs = (
        _PROJECTED_PAIRS + _GEOGRAPHIC_PAIRS
        if projected
        else _GEOGRAPHIC_PAIRS + _PROJECTED_PAIRS
    )
    for xn, yn in pairs:
        if xn in by_norm and yn in by_norm:
            xf, yf = by_norm[xn], by_norm[yn]
            return (*_points(frame, xf, yf), (xf, yf))
    for wn in _WKT_NAMES:
        if wn in by_norm:
            wf = by_norm[wn]
            return (*_wkt(frame, wf), (wf,))
    expected = ", ".join(f"{x}/{y}" for x, y in _GEOGRAPHIC_PAIRS + _PROJECTED_PAIRS)
    raise ImportRejectedError(
        f"{name}: no coordinate columns found; name them {expected} "
        f"(case-insensitive), or put the geometry in a WKT column "
        f"({', '.join(_WKT_NAMES)})"
    )


def _is_projected(epsg: int) -> bool:
    try:
        return bool(CRS.from_epsg(epsg).is_projected)
    except CRSError:
        return False


def _points(
    frame: pd.DataFrame, xf: str, yf: str
) -> tuple[npt.NDArray[np.object_], dict[int, str]]:
    """Points from two text columns; rows without two numbers get a reason."""
    xs = pd.to_numeric(frame[xf], errors="coerce").to_numpy(dtype="float64")
    ys = pd.to_numeric(frame[yf], errors="coerce").to_numpy(dtype="float64")
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    errors: dict[int, str] = {}
    for i in np.flatnonzero(~ok):
        x, y = frame[xf].iat[int(i)], frame[yf].iat[int(i)]
        errors[int(i)] = f"{xf}/{yf} are not two numbers: {_show(x)}, {_show(y)}"
    return geoms, errors


def _wkt(
    frame: pd.DataFrame, wf: str
) -> tuple[npt.NDArray[np.object_], dict[int, str]]:
    """Geometries from a WKT text column; unparsable ones get a reason."""
    texts = frame[wf].to_numpy(dtype=object)
    present = np.array([isinstance(t, str) and bool(t.strip()) for t in texts])
    geoms = np.full(len(frame), None, dtype=object)
    if present.any():
        geoms[present] = shapely.from_wkt(texts[present], on_invalid="ignore")
    errors = {
        int(i): f"{wf}: not a WKT geometry: {_show(texts[i])}"
        for i in np.flatnonzero(present & np.array([g is None for g in geoms]))
    }
    return geoms, errors


def _show(value: Any) -> str:
    """A short, quoted rendering of a source value for a message."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")

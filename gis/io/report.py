"""What an import did: the report handed back to the CLI, the API and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# the summary lists this many rejected rows; the report itself keeps them all
SUMMARY_REJECTED = 20


class RejectedRow(NamedTuple):
    """A source row that was not imported, and why.

    ``row`` is the 1-based position of the feature in the source layer (for a CSV, the
    data row: the file line is ``row + 1`` because of the header).
    """

    row: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    """The outcome of :func:`gis.io.import_file`.

    ``rows_read == rows_imported + len(rejected)`` always holds.

    Parameters
    ----------
    layer
        The target layer id.
    file
        The file name that was read (no folder, so it is safe to show).
    source_layer
        The layer read inside the file (GeoPackage layer, zip member), if any.
    source_crs
        The EPSG code the coordinates were read in (the file's, or ``crs=``).
    rows_read
        Features found in the source.
    rows_imported
        Rows written to the layer's table.
    rejected
        The rows left out, with their reasons, in source order.
    warnings
        Things done on the user's behalf (X/Y swapped, CRS assumed, geometries
        repaired, Z dropped, fields ignored).
    elapsed_s
        Wall-clock seconds for the whole import, reading included.
    columns
        The resolved mapping as ``(source, column)`` pairs; a source of the form
        ``default=…`` is a constant from ``defaults``.
    axes_swapped
        Whether the coordinates were read as (Y, X).
    """

    layer: str
    file: str
    source_layer: str | None
    source_crs: int
    rows_read: int
    rows_imported: int
    rejected: tuple[RejectedRow, ...]
    warnings: tuple[str, ...]
    elapsed_s: float
    columns: tuple[tuple[str, str], ...] = ()
    axes_swapped: bool = False

    @property
    def rows_per_second(self) -> float:
        """Rows read per second of wall-clock time."""
        return self.rows_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> str:
        """A few lines for a terminal or a log.

        Examples
        --------
        >>> r = ImportReport("trees", "a.csv", None, 9218, 3, 2,
        ...                  (RejectedRow(2, "no geometry"),), ("X/Y swapped",), 0.5)
        >>> print(r.summary())
        trees <- a.csv, EPSG:9218
        read 3, imported 2, rejected 1 in 0.50 s (6 rows/s)
        warnings:
          - X/Y swapped
        rejected rows:
          - row 2: no geometry
        """
        source = (
            f"{self.file} ({self.source_layer})" if self.source_layer else self.file
        )
        lines = [
            f"{self.layer} <- {source}, EPSG:{self.source_crs}",
            f"read {self.rows_read}, imported {self.rows_imported}, "
            f"rejected {len(self.rejected)} in {self.elapsed_s:.2f} s "
            f"({self.rows_per_second:.0f} rows/s)",
        ]
        if self.columns:
            lines.append(
                "columns: " + ", ".join(f"{s} -> {c}" for s, c in self.columns)
            )
        if self.warnings:
            lines.append("warnings:")
            lines += [f"  - {w}" for w in self.warnings]
        if self.rejected:
            shown = self.rejected[:SUMMARY_REJECTED]
            more = len(self.rejected) - len(shown)
            head = f"rejected rows (first {len(shown)} of {len(self.rejected)}):"
            lines.append(head if more else "rejected rows:")
            lines += [f"  - row {r.row}: {r.reason}" for r in shown]
        return "\n".join(lines)

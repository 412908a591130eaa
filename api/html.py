"""HTML rendering (Jinja2, autoescape on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# JSON values in tables (a parcel's land users): Vietnamese as written, not \u escapes
# (tojson still escapes <, >, & and ' for HTML)
_env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}

UI = {
    "vi": {"collections": "Lớp dữ liệu", "conformance": "Chuẩn tuân thủ",
           "api": "Tài liệu API", "items": "Đối tượng", "next": "Trang sau",
           "prev": "Trang trước", "extent": "Phạm vi", "crs": "Hệ tọa độ",
           "home": "Trang chủ", "properties": "Thuộc tính", "json": "JSON"},
    "en": {"collections": "Collections", "conformance": "Conformance",
           "api": "API definition", "items": "Features", "next": "Next page",
           "prev": "Previous page", "extent": "Extent", "crs": "CRS",
           "home": "Home", "properties": "Properties", "json": "JSON"},
}  # fmt: skip


def render(template: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the UI strings of ``lang``."""
    html = _env.get_template(template).render(ui=UI[lang], lang=lang, **context)
    return HTMLResponse(html, status_code=status)

"""The city map page in a real browser: headless Chromium from the distribution."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--enable-unsafe-swiftshader",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def test_map_page_draws_features_and_shows_a_popup(
    browser: Browser, live_url: str, client: Any
) -> None:
    tree = client.get("/collections/trees/items?limit=1").json()["features"][0]
    lon, lat = tree["geometry"]["coordinates"]
    page = browser.new_page(viewport={"width": 900, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_url}/map?lang=en&zoom=17&center={lon},{lat}")
    page.wait_for_function("window.dothi && window.dothi.ready", timeout=90_000)
    assert not errors, errors
    # the layer switcher lists the layers by their English titles
    assert page.locator("#layers label", has_text="Trees").count() == 1
    assert page.locator("#layers label", has_text="Cameras").count() == 0
    # the map is drawn: many colours, not a blank canvas
    shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    colours = shot.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50
    # a click on the tree shows its properties
    x, y = page.evaluate(
        "([lon, lat]) => { const p = map.project([lon, lat]); return [p.x, p.y]; }",
        [lon, lat],
    )
    page.mouse.click(x, y)
    page.wait_for_function("window.dothi.clicked !== null", timeout=10_000)
    clicked = page.evaluate("window.dothi.clicked")
    assert clicked["layer"] == "trees"  # points are drawn on top
    assert clicked["id"] == tree["id"]
    popup = page.locator("#popup")
    assert popup.is_visible()
    assert tree["properties"]["species_vi"] in popup.inner_text()
    page.close()


def test_map_page_rejects_bad_parameters(client: Any) -> None:
    assert client.get("/map?zoom=99").status_code == 400
    assert client.get("/map?center=abc").status_code == 400
    assert client.get("/map?x=1").status_code == 400

"""Who may see what, through HTTP: tokens, API keys, local accounts, absence."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm

from api.app import create_app
from auth.accounts import add_user
from auth.api_keys import create_api_key, revoke_api_key
from gis.db.urls import libpq_url
from gis.settings import AuthSettings, Settings

ISSUER = "https://sso.lamdong.example/realms/ioc"
AUDIENCE = "dothi"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CANARY = "CANARY-7f3c"


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    data = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


def token(roles: list[str], *, key: Any = KEY, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-1",
        "iat": now,
        "exp": now + 300,
        "roles": roles,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def secure(db_url: str) -> Iterator[tuple[TestClient, str]]:
    """A client over a database with a canary in every personal or hidden place."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO camera (camera_code, camera_type, stream_url, geom) VALUES "
            "(%s, 'PTZ', %s, ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))",
            (CANARY + "-cam", f"rtsp://{CANARY}.invalid/1"),
        )
        conn.execute(
            "INSERT INTO field_report (report_code, category, description, received_at,"
            " geom) VALUES ('PA-1', 'lighting', 'đèn hỏng', now(),"
            " ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
        conn.execute(
            "INSERT INTO field_report_contact (report_id, reporter_name, phone) "
            "SELECT id, %s, %s FROM field_report",
            (CANARY + "-name", CANARY + "-phone"),
        )
        conn.execute(
            "INSERT INTO land_user (kind, full_name, id_number) VALUES "
            "('individual', %s, %s)",
            (CANARY + "-owner", CANARY + "-cccd"),
        )
    settings = Settings(
        auth=AuthSettings(
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_jwks={"keys": [_jwk(KEY, "k1")]},
        )
    )
    with TestClient(create_app(settings, database_url=db_url)) as c:
        yield c, db_url


def _ids(c: TestClient, **headers: str) -> set[str]:
    r = c.get("/collections", headers=headers)
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()["collections"]}


def test_security_officer_token_sees_cameras(secure: tuple[TestClient, str]) -> None:
    c, _ = secure
    auth = {"Authorization": f"Bearer {token(['security_officer'])}"}
    assert "cameras" in _ids(c, **auth)
    items = c.get("/collections/cameras/items", headers=auth)
    assert items.status_code == 200
    assert items.headers["Cache-Control"].startswith("private")
    assert "cameras" not in _ids(c)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: token(["admin"], key=OTHER_KEY), id="wrong-signature"),
        pytest.param(
            lambda: token(["admin"], exp=int(time.time()) - 600), id="expired"
        ),
        pytest.param(
            lambda: token(["admin"], nbf=int(time.time()) + 600), id="not-yet-valid"
        ),
        pytest.param(lambda: token(["admin"], aud="other"), id="wrong-audience"),
        pytest.param(
            lambda: token(["admin"], iss="https://evil.example"), id="wrong-issuer"
        ),
        pytest.param(lambda: token(["admin"], kid="unknown"), id="unknown-kid"),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": AUDIENCE,
                    "sub": "x",
                    "roles": ["admin"],
                    "exp": int(time.time()) + 60,
                },
                None,
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(lambda: "not.a.token", id="garbage"),
    ],
)
def test_bad_tokens_are_401(secure: tuple[TestClient, str], bad: Any) -> None:
    c, _ = secure
    value = bad()
    r = c.get("/collections/cameras", headers={"Authorization": f"Bearer {value}"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "invalid_token" in r.headers["WWW-Authenticate"]
    assert value not in r.text  # the credential is never echoed


def test_credentials_in_the_query_string_are_refused(
    secure: tuple[TestClient, str],
) -> None:
    c, _ = secure
    for name in ("api_key", "access_token", "token"):
        r = c.get(f"/collections?{name}=x")
        assert r.status_code == 401, name


def test_api_keys(secure: tuple[TestClient, str]) -> None:
    c, url = secure
    key = create_api_key(url, "provincial IOC", ["ioc_operator"])
    for headers in (
        {"X-API-Key": key},
        {"Authorization": f"ApiKey {key}"},
        {"Authorization": f"Bearer {key}"},
    ):
        assert "cameras" in _ids(c, **headers)
    assert c.get("/collections", headers={"X-API-Key": key + "x"}).status_code == 401
    revoke_api_key(url, key.split("_")[1])
    assert c.get("/collections", headers={"X-API-Key": key}).status_code == 401


def test_local_account_with_basic_auth(secure: tuple[TestClient, str]) -> None:
    c, url = secure
    add_user(
        url, "lan", "phuong-22945-dia-chinh", ["land_officer"], ward_codes=["22945"]
    )
    good = base64.b64encode(b"lan:phuong-22945-dia-chinh").decode()
    bad = base64.b64encode(b"lan:wrong-password-123").decode()
    assert (
        c.get("/collections", headers={"Authorization": f"Basic {good}"}).status_code
        == 200
    )
    assert (
        c.get("/collections", headers={"Authorization": f"Basic {bad}"}).status_code
        == 401
    )
    assert (
        c.get("/collections", headers={"Authorization": "Basic !!"}).status_code == 401
    )
    assert (
        c.get("/collections", headers={"Authorization": "Digest x"}).status_code == 401
    )


def test_anonymous_never_sees_a_canary(secure: tuple[TestClient, str]) -> None:
    c, _ = secure
    paths = [
        "/",
        "/conformance",
        "/api",
        "/collections",
        "/styles",
        "/styles/city",
        "/tiles",
        "/map",
        "/tiles/WebMercatorQuad/15/15383/26223",
        "/collections/cameras",
        "/collections/cameras/items",
        "/collections/cameras/items/1",
        "/collections/cameras/queryables",
        "/collections/cameras/tiles/WebMercatorQuad/15/15383/26223",
    ]
    for cid in [x["id"] for x in c.get("/collections").json()["collections"]]:
        for suffix in (
            "",
            "/items?limit=1000",
            "/items?limit=1000&f=csv",
            "/items?f=html",
            "/queryables",
            "/schema",
            "/styles",
        ):
            paths.append(f"/collections/{cid}{suffix}")
    seen = 0
    for path in paths:
        r = c.get(path)
        assert r.status_code < 500, path
        assert CANARY.encode() not in r.content, path
        if "camera" not in path:  # a 404 may repeat the name the caller asked for
            assert b"camera" not in r.content.lower(), path
        else:
            assert r.status_code == 404, path
        seen += 1
    assert seen > 80

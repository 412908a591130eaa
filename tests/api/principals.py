"""Signed-in principals for HTTP tests: bearer tokens from a local OIDC signing key."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gis.settings import AuthSettings, LimitSettings, Settings

ISSUER = "https://sso.example.vn/realms/tests"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def settings(**overrides: Any) -> Settings:
    """Settings trusting :data:`KEY`, anonymous rate limit out of the way."""
    data = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk = {**data, "kid": "t1", "use": "sig", "alg": "RS256"}
    return Settings(
        auth=AuthSettings(
            oidc_issuer=ISSUER, oidc_audience="dothi", oidc_jwks={"keys": [jwk]}
        ),
        limits=LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000),
        **overrides,
    )


def bearer(
    role: str | None, *, wards: tuple[str, ...] = (), sub: str = ""
) -> dict[str, str]:
    """The Authorization header of a principal with ``role`` (none: anonymous)."""
    if role is None:
        return {}
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "dothi",
        "sub": sub or f"test-{role}",
        "iat": now,
        "exp": now + 3600,
        "roles": [role],
        "ward_codes": list(wards),
    }
    value = jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "t1"})
    return {"Authorization": f"Bearer {value}"}

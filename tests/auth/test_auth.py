"""Authentication primitives against a real PostGIS: accounts, API keys, JWTs, secrets.

Passwords are hashed with cheap argon2 parameters here (the autouse fixture); the
production parameters are argon2-cffi's defaults.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import jwt
import psycopg
import pytest
from alembic import command
from alembic.util.exc import CommandError
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import auth.passwords
import auth.signin
from auth.accounts import (
    add_user,
    disable_user,
    enable_user,
    list_users,
    set_password,
)
from auth.api_keys import (
    create_api_key,
    list_api_keys,
    principal_for_api_key,
    revoke_api_key,
)
from auth.errors import AuthenticationError, TooManySignInsError
from auth.jwt import JwtVerifier, KeysUnavailableError, parse_jwks
from auth.passwords import check_password
from auth.signin import account_is_current, verify_password
from gis.db.migrate import alembic_config
from gis.db.urls import libpq_url
from gis.errors import ConflictError, InvalidParameterError, NotFoundError
from gis.principal import ANONYMOUS, ROLES, Principal, make_principal
from gis.secret_policy import check_secret
from migrations import MIGRATIONS_DIR

ISS = "https://sso.binhthuan.gov.vn/realms/city"
AUD = "dothi"
STRONG = "biển-xanh-cát-trắng-2025"
NO_DB = "postgresql://nobody@127.0.0.1:1/none"  # for checks that precede any I/O


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast hashing for tests; the stored hash records its parameters either way."""
    monkeypatch.setattr(
        auth.passwords,
        "PASSWORD_HASHER",
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


def _one(url: str, sql: str, *args: object) -> Any:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql, args).fetchone()


# ----------------------------------------------------------------------- identities


def test_principal_always_has_public_and_refuses_unknown_roles() -> None:
    who = make_principal("lan", ["planner"], [], "password")
    assert who.roles == {"public", "planner"}
    assert who.has_any({"planner"})
    assert ANONYMOUS.roles == {"public"}
    assert ANONYMOUS.auth == "anonymous"
    with pytest.raises(InvalidParameterError, match="unknown role"):
        make_principal("lan", ["superuser"], [], "password")
    with pytest.raises(InvalidParameterError, match="list of role names"):
        make_principal("lan", "admin", [], "password")
    with pytest.raises(InvalidParameterError, match="5-digit"):
        make_principal("lan", ["land_officer"], ["Phan Thiết"], "password")


def test_roles_are_the_documented_ones() -> None:
    assert {
        "public", "citizen", "land_officer", "planner", "lighting_crew", "tree_crew",
        "ioc_operator", "security_officer", "external_app", "admin", "auditor",
    } == ROLES  # fmt: skip


# -------------------------------------------------------------------- local accounts


def test_add_and_verify_user(db_url: str) -> None:
    add_user(
        db_url, "Lan.Nguyen", STRONG, ["land_officer"], ward_codes=["22945", "22918"],
        display_name="Nguyễn Thị Lan",
    )  # fmt: skip
    who = verify_password(db_url, "LAN.nguyen", STRONG)
    assert who is not None
    assert who.subject == "lan.nguyen"
    assert who.roles == {"public", "land_officer"}
    assert who.ward_codes == {"22945", "22918"}
    assert who.auth == "password"
    stored = _one(db_url, "SELECT username, password_hash FROM app_user")
    assert stored[0] == "lan.nguyen"
    assert stored[1].startswith("$argon2id$")
    assert STRONG not in stored[1]


def test_wrong_password_and_unknown_user_are_alike(db_url: str) -> None:
    add_user(db_url, "minh", STRONG, ["planner"])
    assert verify_password(db_url, "minh", STRONG + "x") is None
    assert verify_password(db_url, "nobody", STRONG) is None
    assert verify_password(db_url, "not a valid name!", STRONG) is None
    assert verify_password(db_url, "minh", "x" * 5000) is None


def test_unknown_user_still_verifies_a_hash(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = auth.passwords.PASSWORD_HASHER

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append("verify")
            return real.verify(hash, password)

    monkeypatch.setattr(auth.passwords, "PASSWORD_HASHER", Counting(1, 8, 1))
    assert verify_password(db_url, "nobody", STRONG) is None
    assert calls == ["verify"]  # the dummy hash: timing does not reveal the account


def test_disabled_user_is_refused_until_enabled(db_url: str) -> None:
    add_user(db_url, "hung", STRONG, ["tree_crew"])
    disable_user(db_url, "HUNG")
    assert verify_password(db_url, "hung", STRONG) is None
    enable_user(db_url, "hung")
    assert verify_password(db_url, "hung", STRONG) is not None
    with pytest.raises(NotFoundError):
        disable_user(db_url, "nobody")


def test_set_password(db_url: str) -> None:
    add_user(db_url, "thu", STRONG, ["ioc_operator"])
    before = _one(db_url, "SELECT password_changed_at FROM app_user")[0]
    set_password(db_url, "thu", "mưa-rào-tháng-sáu-88")
    assert verify_password(db_url, "thu", STRONG) is None
    assert verify_password(db_url, "thu", "mưa-rào-tháng-sáu-88") is not None
    assert _one(db_url, "SELECT password_changed_at FROM app_user")[0] > before
    with pytest.raises(NotFoundError):
        set_password(db_url, "nobody", STRONG)
    with pytest.raises(InvalidParameterError):
        set_password(db_url, "thu", "short")


def test_duplicate_username_conflicts_whatever_the_case(db_url: str) -> None:
    add_user(db_url, "an", STRONG, [])
    with pytest.raises(ConflictError, match="already exists"):
        add_user(db_url, "AN", STRONG + "!", [])


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("", "at least 10"),
        ("short-1", "at least 10"),
        ("0912345678", "only digits"),  # a phone number
        ("1234567890", "only digits"),
        ("password123", "too common"),
        ("Matkhau2025!", "too common"),
        ("anhyeuem@123", "too common"),
        ("2025@matkhau", "too common"),
        ("aaaaaaaaaaaa", "too simple"),
        ("abababababab", "too simple"),
        ("minh-khoa-1990", "username"),
        ("x" * 1025, "at most"),
    ],
)
def test_password_policy(password: str, rule: str) -> None:
    with pytest.raises(InvalidParameterError, match=rule) as err:
        check_password(password, username="minh-khoa")
    assert password not in err.value.detail or not password


def test_weak_password_is_refused_by_add_user(db_url: str) -> None:
    with pytest.raises(InvalidParameterError, match="password"):
        add_user(db_url, "minh", "password1!", ["planner"])
    assert _one(db_url, "SELECT count(*) FROM app_user") == (0,)


@pytest.mark.parametrize(
    ("username", "roles", "wards", "match"),
    [
        ("x", ["planner"], [], "username"),
        ("có dấu", ["planner"], [], "username"),
        ("api_key:abc", ["planner"], [], "username"),
        ("minh", ["root"], [], "unknown role"),
        ("minh", ["land_officer"], ["2294"], "ward_codes"),
    ],
)
def test_add_user_validates(
    username: str, roles: list[str], wards: list[str], match: str
) -> None:
    # validation comes before any connection: the URL is never used
    with pytest.raises(InvalidParameterError, match=match):
        add_user(NO_DB, username, STRONG, roles, ward_codes=wards)


def test_password_hash_upgraded_when_parameters_change(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(db_url, "lan", STRONG, ["planner"])
    old_hash, changed = _one(
        db_url, "SELECT password_hash, password_changed_at FROM app_user"
    )
    monkeypatch.setattr(auth.passwords, "PASSWORD_HASHER", PasswordHasher(2, 16, 1))
    assert verify_password(db_url, "lan", STRONG) is not None
    new_hash, changed_after = _one(
        db_url, "SELECT password_hash, password_changed_at FROM app_user"
    )
    assert new_hash != old_hash
    assert "m=16,t=2,p=1" in new_hash
    assert changed_after == changed  # the password itself did not change
    assert verify_password(db_url, "lan", STRONG) is not None


def _wait_out_the_lock(url: str) -> None:
    """As if the back-off had passed (the database's clock cannot be moved on)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "UPDATE sign_in_failure SET locked_until = now() - interval '1 second', "
            "last_attempt_at = now() - interval '1 second'"
        )


def _locked_for(url: str, username: str, password: str, address: str) -> int:
    with pytest.raises(TooManySignInsError) as caught:
        verify_password(url, username, password, address=address)
    return caught.value.retry_after


def test_lockout_backs_off_per_account_and_address(db_url: str) -> None:
    add_user(db_url, "minh", STRONG, ["planner"])
    here = "203.0.113.7"
    for i in range(auth.signin.LOCKOUT_AFTER):
        assert verify_password(db_url, "minh", f"wrong-{i}", address=here) is None
    # locked: even the right password is not checked from there
    first = _locked_for(db_url, "minh", STRONG, here)
    assert 1 <= first <= auth.signin.LOCKOUT_FIRST_S
    waits = []
    for _ in range(3):  # each failure after a lock doubles the next one
        _wait_out_the_lock(db_url)
        assert verify_password(db_url, "minh", "wrong-again", address=here) is None
        waits.append(_locked_for(db_url, "minh", "wrong", here))
    first_s = auth.signin.LOCKOUT_FIRST_S
    assert [round(w / first_s) for w in waits] == [2, 4, 8]
    # the lock is the pair's: another address, and another name, are not locked
    assert verify_password(db_url, "minh", STRONG, address="198.51.100.9") is not None
    assert verify_password(db_url, "nobody", STRONG, address=here) is None
    # after the wait the right password gets in and the count starts again
    _wait_out_the_lock(db_url)
    assert verify_password(db_url, "minh", STRONG, address=here) is not None
    for i in range(auth.signin.LOCKOUT_AFTER - 1):
        assert verify_password(db_url, "minh", f"wrong-{i}", address=here) is None
    assert verify_password(db_url, "minh", STRONG, address=here) is not None


def test_lockout_is_capped_and_unknown_names_lock_alike(db_url: str) -> None:
    here = "203.0.113.8"
    for i in range(auth.signin.LOCKOUT_AFTER):
        assert verify_password(db_url, "ghost", f"wrong-{i}", address=here) is None
    assert _locked_for(db_url, "ghost", STRONG, here) >= 1  # no account is revealed
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE sign_in_failure SET failures = 40")
    _wait_out_the_lock(db_url)
    assert verify_password(db_url, "ghost", "wrong", address=here) is None
    assert _locked_for(db_url, "ghost", "x", here) <= auth.signin.LOCKOUT_MAX_S


def test_failures_older_than_a_day_are_forgotten(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sign_in_failure (username, address, failures, "
            "last_attempt_at, locked_until) VALUES "
            "('minh', 'a', 40, now() - interval '2 days', now() - interval '1 day'), "
            "('lan', 'b', 40, now() - interval '2 days', now() - interval '1 day')"
        )
    # a failure after a day counts as the first, with no lock
    assert verify_password(db_url, "minh", "wrong", address="a") is None
    assert _one(db_url, "SELECT failures, locked_until FROM sign_in_failure "
                "WHERE username = 'minh'") == (1, None)  # fmt: skip
    # and now and then a new pair sweeps away the forgotten ones
    monkeypatch.setattr(auth.signin.secrets, "randbelow", lambda _n: 0)
    assert verify_password(db_url, "hoa", "wrong", address="c") is None
    rows = _one(
        db_url, "SELECT array_agg(username ORDER BY username) FROM sign_in_failure"
    )
    assert rows == (["hoa", "minh"],)


def test_concurrent_checks_cannot_pass_the_lockout(db_url: str) -> None:
    """Each check is counted before it is made: 20 at once, 5 are made."""
    import concurrent.futures

    add_user(db_url, "minh", STRONG, ["planner"])

    def attempt(i: int) -> str:
        try:
            who = verify_password(db_url, "minh", f"wrong-{i}", address="10.9.9.9")
        except TooManySignInsError:
            return "locked"
        return "checked" if who is None else "in"

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(attempt, range(20)))
    assert results.count("checked") == auth.signin.LOCKOUT_AFTER
    assert results.count("locked") == 20 - auth.signin.LOCKOUT_AFTER


def test_the_database_bumps_the_credential_version(db_url: str) -> None:
    add_user(db_url, "hung", STRONG, ["tree_crew"])
    who = verify_password(db_url, "hung", STRONG)
    assert who is not None and who.account is not None
    versions = [who.account.version]

    def current() -> int:
        return int(_one(db_url, "SELECT credential_version FROM app_user")[0])

    disable_user(db_url, "hung")
    versions.append(current())
    enable_user(db_url, "hung")
    versions.append(current())
    set_password(db_url, "hung", "mưa-rào-tháng-sáu-88")
    versions.append(current())
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE app_user SET roles = '{planner}'")
        versions.append(current())
        conn.execute("UPDATE app_user SET display_name = 'Hùng'")  # proves nothing
        versions.append(current())
    bumped, unchanged = versions[:-1], versions[-1]
    assert all(a < b for a, b in itertools.pairwise(bumped))
    assert unchanged == bumped[-1]


def test_account_is_current_answers_for_the_api_role(db_url: str) -> None:
    """The API role may ask, without reading any account row."""
    add_user(db_url, "hung", STRONG, ["tree_crew"])
    who = verify_password(db_url, "hung", STRONG)
    assert who is not None and who.account is not None
    account = who.account

    async def ask() -> list[bool]:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(db_url), autocommit=True
        ) as conn:
            await conn.execute("SET ROLE dothi_api")
            answers = [await account_is_current(conn, account)]
            disable_user(db_url, "hung")
            answers.append(await account_is_current(conn, account))
            enable_user(db_url, "hung")  # a new version: the old one stays stale
            answers.append(await account_is_current(conn, account))
            rows = await (
                await conn.execute("SELECT count(*) FROM app_user")
            ).fetchone()
            assert rows == (0,)
        return answers

    assert asyncio.run(ask()) == [True, False, False]


def test_list_users_shows_no_hash(db_url: str) -> None:
    add_user(db_url, "lan", STRONG, ["land_officer"], ward_codes=["22945"])
    add_user(db_url, "an", STRONG, ["admin"])
    users = list_users(db_url)
    assert [u.username for u in users] == ["an", "lan"]
    assert users[1].ward_codes == {"22945"}
    assert not any("argon2" in repr(u) for u in users)


def test_database_refuses_unknown_roles_and_bad_names(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        for sql in (
            "INSERT INTO app_user (username, password_hash, roles) "
            "VALUES ('x1', 'h', '{root}')",
            "INSERT INTO app_user (username, password_hash) VALUES ('Upper', 'h')",
            "INSERT INTO app_user (username, password_hash, ward_codes) "
            "VALUES ('x2', 'h', '{229450}')",
            "INSERT INTO api_key (prefix, key_hash, name, roles) "
            "VALUES ('p', 'h', 'n', '{root}')",
        ):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(sql)


def test_database_role_list_matches_roles(db_url: str) -> None:
    for table in ("app_user", "api_key"):
        (definition,) = _one(
            db_url,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            f"ck_{table}_roles_known",
        )
        # ARRAY['admin'::text, 'auditor'::text, ...]: the quoted words are the roles
        assert set(definition.split("'")[1::2]) == ROLES


def test_account_tables_match_migration(db_url: str) -> None:
    import auth.tables  # noqa: F401  (its tables join the shared metadata)
    from gis.tables.metadata import metadata

    assert {"app_user", "api_key"} <= set(metadata.tables)
    try:
        command.check(alembic_config(db_url, MIGRATIONS_DIR))  # type: ignore[arg-type]
    except CommandError as exc:  # pragma: no cover - the message is the point
        raise AssertionError(f"auth/tables.py and 0005 differ: {exc}") from exc


# ------------------------------------------------------------------------- API keys


def _use(url: str, key: str) -> Principal | None:
    async def run() -> Principal | None:
        async with await psycopg.AsyncConnection.connect(
            libpq_url(url), autocommit=True
        ) as conn:
            return await principal_for_api_key(conn, key)

    return asyncio.run(run())


def test_api_key_create_and_use(db_url: str) -> None:
    key = create_api_key(
        db_url, "Provincial IOC", ["external_app"], ward_codes=["22945"]
    )
    assert key.startswith("dothi_")
    prefix = key[6:14]
    assert key[14] == "_"
    assert len(key) >= 15 + 43  # 256-bit secret
    who = _use(db_url, key)
    assert who is not None
    assert who.subject == f"api_key:{prefix}"
    assert who.roles == {"public", "external_app"}
    assert who.ward_codes == {"22945"}
    assert who.auth == "api_key"
    (info,) = list_api_keys(db_url)
    assert info.prefix == prefix
    assert info.name == "Provincial IOC"
    assert info.revoked_at is None
    assert info.last_used_at is not None
    assert not hasattr(info, "key_hash")
    stored = _one(db_url, "SELECT key_hash FROM api_key")[0]
    assert bytes(stored) == hashlib.sha256(key.encode()).digest()


def test_api_key_wrong_secret_unknown_prefix_and_garbage(db_url: str) -> None:
    key = create_api_key(db_url, "sensor hub", ["external_app"])
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    other = "dothi_zzzzzzzz_" + key[15:]
    for bad in (
        tampered,
        other,
        "",
        "dothi_",
        key[:20],
        "Bearer " + key,
        key + "x" * 300,
    ):
        assert _use(db_url, bad) is None
    assert _one(db_url, "SELECT last_used_at FROM api_key") == (None,)


def test_api_key_revoked(db_url: str) -> None:
    key = create_api_key(db_url, "old sync", ["external_app"])
    prefix = key[6:14]
    revoke_api_key(db_url, prefix)
    revoke_api_key(db_url, prefix)  # twice is harmless
    assert _use(db_url, key) is None
    assert list_api_keys(db_url)[0].revoked_at is not None
    with pytest.raises(NotFoundError):
        revoke_api_key(db_url, "nosuchkey")


def test_api_key_validates_roles_and_name() -> None:
    with pytest.raises(InvalidParameterError, match="unknown role"):
        create_api_key(NO_DB, "x", ["robot"])
    with pytest.raises(InvalidParameterError, match="name"):
        create_api_key(NO_DB, "  ", ["external_app"])


def test_api_key_last_used_written_at_most_once_a_minute(db_url: str) -> None:
    key = create_api_key(db_url, "busy", ["external_app"])
    assert _use(db_url, key) is not None
    first = _one(db_url, "SELECT last_used_at FROM api_key")[0]
    assert first is not None
    assert _use(db_url, key) is not None
    assert _one(db_url, "SELECT last_used_at FROM api_key")[0] == first
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute("UPDATE api_key SET last_used_at = now() - interval '2 minutes'")
    old = _one(db_url, "SELECT last_used_at FROM api_key")[0]
    assert _use(db_url, key) is not None
    assert _one(db_url, "SELECT last_used_at FROM api_key")[0] > old


# ----------------------------------------------------------------------------- JWTs


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


RSA_KEY = _rsa()
OTHER_RSA_KEY = _rsa()
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kid: str
) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        text = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())
    else:
        text = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())
    jwk = json.loads(text)
    return {**jwk, "kid": kid, "use": "sig"}


JWKS = {"keys": [_jwk(RSA_KEY, "rsa-1"), _jwk(EC_KEY, "ec-1")]}


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISS, "aud": AUD, "sub": "0b5c-uuid", "iat": now, "exp": now + 300,
        "roles": ["planner", "land_officer"], "ward_codes": ["22945"],
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(
    claims: dict[str, Any] | None = None,
    *,
    key: Any = RSA_KEY,
    alg: str = "RS256",
    kid: str | None = "rsa-1",
) -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims or _claims(), key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    )
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


@pytest.fixture
def verifier() -> JwtVerifier:
    return JwtVerifier(issuer=ISS, audience=AUD, jwks=JWKS)


def _refused(verifier: JwtVerifier, token: str, reason: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError, match=reason) as err:
        verifier.verify(token)
    exc = err.value
    # the token (or any of its three parts) is never part of what we report
    for text in (str(exc), repr(exc), exc.detail, json.dumps(exc.extra)):
        for part in token.split("."):
            assert len(part) < 8 or part not in text
    assert exc.__cause__ is None
    return exc


def test_valid_rs256_token(verifier: JwtVerifier) -> None:
    who = verifier.verify(_token())
    assert who.subject == "0b5c-uuid"
    assert who.roles == {"public", "planner", "land_officer"}
    assert who.ward_codes == {"22945"}
    assert who.auth == "jwt"


def test_valid_es256_token(verifier: JwtVerifier) -> None:
    who = verifier.verify(_token(key=EC_KEY, alg="ES256", kid="ec-1"))
    assert who.roles == {"public", "planner", "land_officer"}


def test_keycloak_and_custom_role_claims() -> None:
    claims = _claims(
        roles=None,
        realm_access={"roles": ["tree_crew", "offline_access"]},
        resource_access={"dothi": {"roles": ["lighting_crew"]}},
    )
    plain = JwtVerifier(issuer=ISS, audience=AUD, jwks=JWKS)
    assert plain.verify(_token(claims)).roles == {"public", "tree_crew"}
    custom = JwtVerifier(
        issuer=ISS, audience=["other", AUD], jwks=JWKS,
        roles_claim="resource_access.dothi.roles",
    )  # fmt: skip
    assert custom.verify(_token(claims)).roles == {
        "public",
        "tree_crew",
        "lighting_crew",
    }


def test_unknown_roles_are_ignored_and_logged_without_token(
    verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    token = _token(_claims(roles=["admin", "god_mode", "offline_access"]))
    with caplog.at_level(logging.DEBUG, logger="auth"):
        who = verifier.verify(token)
    assert who.roles == {"public", "admin"}
    assert "god_mode" in caplog.text
    assert token.split(".")[1] not in caplog.text


def test_alg_none_is_refused(verifier: JwtVerifier) -> None:
    token = _hand_made({"alg": "none", "kid": "rsa-1"}, _claims(), lambda _: b"")
    _refused(verifier, token, "algorithm is not accepted")
    _refused(verifier, token.rsplit(".", 1)[0] + ".", "algorithm is not accepted")


def test_hs256_signed_with_the_public_key_is_refused(verifier: JwtVerifier) -> None:
    # algorithm confusion: the attacker knows the public key and uses it as HMAC secret
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = _hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
        _claims(roles=["admin"]),
        lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )
    _refused(verifier, token, "algorithm is not accepted")


def test_wrong_signature_is_refused(verifier: JwtVerifier) -> None:
    _refused(verifier, _token(key=OTHER_RSA_KEY), "signature is invalid")
    # a valid signature over other claims, spliced onto a forged payload
    header, _, signature = _token().split(".")
    forged = _b64(json.dumps(_claims(roles=["admin"])).encode())
    _refused(verifier, f"{header}.{forged}.{signature}", "signature is invalid")


def test_key_must_fit_the_algorithm(verifier: JwtVerifier) -> None:
    _refused(verifier, _token(key=EC_KEY, alg="ES256", kid="rsa-1"), "does not match")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # times as offsets from the moment the test runs, not from collection
        # (a long suite would otherwise let "+120 s" slip into the past)
        ({"exp": ("now", -120)}, "expired"),
        ({"nbf": ("now", 120)}, "not yet valid"),
        ({"iat": ("now", 120)}, "not yet valid"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://evil.example/realms/city"}, "issuer"),
        ({"sub": None}, "'sub' claim"),
        ({"exp": None}, "'exp' claim"),
        ({"ward_codes": ["Phan Thiết"]}, "ward_codes"),
    ],
)
def test_claims_are_checked(
    verifier: JwtVerifier, changes: dict[str, Any], reason: str
) -> None:
    now = int(time.time())
    resolved = {
        k: now + v[1] if isinstance(v, tuple) and v[:1] == ("now",) else v
        for k, v in changes.items()
    }
    _refused(verifier, _token(_claims(**resolved)), reason)


def test_leeway_tolerates_small_clock_skew(verifier: JwtVerifier) -> None:
    now = int(time.time())
    assert verifier.verify(_token(_claims(exp=now - 10, nbf=now + 10, iat=now + 10)))


def test_unknown_kid_and_malformed_tokens(verifier: JwtVerifier) -> None:
    _refused(verifier, _token(kid="rotated-away"), "key id is not known")
    _refused(verifier, _token(kid=None), "no key id")
    for garbage in ("", "abc", "a.b.c", "Bearer " + _token(), "x" * 20_000 + ".a.b"):
        _refused(verifier, garbage, "malformed")


def test_unsafe_configurations_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="RS256 and ES256"):
        JwtVerifier(issuer=ISS, audience=AUD, jwks=JWKS, algorithms=["HS256"])
    with pytest.raises(InvalidParameterError, match="RS256 and ES256"):
        JwtVerifier(issuer=ISS, audience=AUD, jwks=JWKS, algorithms=["none"])
    with pytest.raises(InvalidParameterError, match="https"):
        JwtVerifier(issuer=ISS, audience=AUD, jwks_url="http://sso.example/certs")
    with pytest.raises(InvalidParameterError, match="exactly one"):
        JwtVerifier(issuer=ISS, audience=AUD)
    with pytest.raises(InvalidParameterError, match="audience"):
        JwtVerifier(issuer=ISS, audience="", jwks=JWKS)
    with pytest.raises(InvalidParameterError, match="issuer"):
        JwtVerifier(issuer="", audience=AUD, jwks=JWKS)


def test_jwks_keeps_only_safe_public_keys() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    private = {
        **_jwk(RSA_KEY, "leaked"),
        **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY)),
        "kid": "leaked",
    }
    p384 = ec.generate_private_key(ec.SECP384R1())
    keys = parse_jwks(
        {
            "keys": [
                _jwk(RSA_KEY, "ok"),
                _jwk(weak, "weak"),
                private,
                {**_jwk(RSA_KEY, "enc"), "use": "enc"},
                {**_jwk(RSA_KEY, "hs"), "alg": "HS256"},
                _jwk(p384, "p384"),
                {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
                {**_jwk(RSA_KEY, "x"), "kid": None},
                "junk",
            ]
        }
    )
    assert set(keys) == {"ok"}
    with pytest.raises(InvalidParameterError):
        parse_jwks({"no": "keys"})


class _Jwks:
    """A tiny JWKS endpoint on loopback; counts its requests."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": [_jwk(RSA_KEY, "rsa-1")]}
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"


@pytest.fixture
def jwks_server() -> Iterator[_Jwks]:
    server = _Jwks()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_jwks_url_is_fetched_cached_and_refreshed_on_rotation(
    jwks_server: _Jwks,
) -> None:
    v = JwtVerifier(
        issuer=ISS, audience=AUD, jwks_url=jwks_server.url, min_refresh_interval=0.5
    )
    assert v.verify(_token()).subject == "0b5c-uuid"
    assert v.verify(_token()).subject == "0b5c-uuid"
    assert jwks_server.requests == 1  # cached
    # made-up key ids do not make us hammer the provider: one fetch, then none for
    # min_refresh_interval
    time.sleep(0.55)
    for _ in range(5):
        with pytest.raises(AuthenticationError, match="key id is not known"):
            v.verify(_token(kid="made-up"))
    assert jwks_server.requests == 2
    # the provider rotates to an EC key: the first token with the new kid refetches
    jwks_server.document = {"keys": [_jwk(EC_KEY, "ec-2")]}
    time.sleep(0.55)
    who = asyncio.run(v.verify_async(_token(key=EC_KEY, alg="ES256", kid="ec-2")))
    assert who.auth == "jwt"
    assert jwks_server.requests == 3


def test_jwks_unreachable(jwks_server: _Jwks, caplog: pytest.LogCaptureFixture) -> None:
    url = jwks_server.url
    jwks_server.server.shutdown()
    jwks_server.server.server_close()
    v = JwtVerifier(issuer=ISS, audience=AUD, jwks_url=url, timeout=1.0)
    with (
        caplog.at_level(logging.WARNING, logger="auth"),
        pytest.raises(KeysUnavailableError, match="unavailable"),
    ):
        v.verify(_token())
    assert "cannot fetch JWKS" in caplog.text


# -------------------------------------------------------------------------- secrets


@pytest.mark.parametrize(
    "value",
    [
        "",
        "changeme",
        "short-but-random-Zx8#",
        "changeme-changeme-changeme-changeme",
        "my-dothi-production-key-0123456789",
        "SuperSecretValueThatIsLongEnough!!",
        "a" * 64,
    ],
)
def test_check_secret_refuses_weak_secrets(value: str) -> None:
    with pytest.raises(InvalidParameterError, match="DOTHI_AUTH__SECRET_KEY") as err:
        check_secret(value, env="production", name="DOTHI_AUTH__SECRET_KEY")
    assert not value or value not in err.value.detail
    assert isinstance(err.value, ValueError)  # pydantic validators report it plainly
    check_secret(value, env="development")  # a laptop needs no configuration


def test_check_secret_accepts_random_secrets() -> None:
    import secrets

    check_secret(secrets.token_urlsafe(32), env="production")
    check_secret(secrets.token_hex(32), env="test")


# -------------------------------------------------------------------------- logging


def test_no_credential_is_ever_logged(
    db_url: str, verifier: JwtVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        add_user(db_url, "lan", STRONG, ["planner"])
        verify_password(db_url, "lan", STRONG)
        verify_password(db_url, "lan", STRONG + "-wrong")
        verify_password(db_url, "nobody", STRONG)
        with psycopg.connect(libpq_url(db_url)) as conn:  # an unusable stored hash
            conn.execute("UPDATE app_user SET password_hash = 'not-a-hash'")
        verify_password(db_url, "lan", STRONG)
        key = create_api_key(db_url, "sync", ["external_app"])
        _use(db_url, key)
        _use(db_url, key[:-2] + "zz")
        token = _token(_claims(roles=["planner", "weird_role"]))
        verifier.verify(token)
        with pytest.raises(AuthenticationError):
            verifier.verify(_token(_claims(exp=1)))
    assert "unusable password hash" in caplog.text  # logging did happen
    for secret in (STRONG, key, key[15:], token, token.split(".")[2]):
        assert secret not in caplog.text


def test_settings_refuse_weak_secrets_outside_development() -> None:
    import secrets

    import pydantic

    from gis.settings import AuthSettings, DbSettings, Settings

    strong = secrets.token_urlsafe(32)
    for env in ("production", "test"):
        with pytest.raises(pydantic.ValidationError, match="SECRET_KEY"):
            Settings(env=env)
        with pytest.raises(pydantic.ValidationError) as refused:
            Settings(env=env, auth=AuthSettings(secret_key="dothi-secret-" + "x" * 30))
        assert "dothi-secret-" not in str(refused.value)  # never echoed
        for weak in ("postgres", "short", ""):
            with pytest.raises(pydantic.ValidationError, match="DOTHI_DB__URL"):
                Settings(
                    env=env,
                    auth=AuthSettings(secret_key=strong),
                    db=DbSettings(url=f"postgresql://dothi:{weak}@db/dothi"),
                )
        good = Settings(
            env=env,
            auth=AuthSettings(secret_key=strong),
            db=DbSettings(url=f"postgresql://dothi:{secrets.token_urlsafe(16)}@db/x"),
        )
        assert good.auth.secret_key.get_secret_value() == strong
        assert strong not in repr(good)  # SecretStr: never in logs or reprs
    Settings(env="development")  # a laptop needs no configuration

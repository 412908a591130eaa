"""OIDC / OAuth2 bearer tokens: verify a JWT from the province's SSO (e.g. Keycloak).

Only asymmetric signatures are accepted (RS256, ES256), with keys from the identity
provider's JWKS: never ``alg: none``, and never an HMAC algorithm, so a public key can
not be used as a shared secret (the "algorithm confusion" attack). Every failure is an
:class:`~auth.errors.AuthenticationError` whose message names the failed check and never
contains the token.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from auth.errors import AuthenticationError
from gis.errors import InvalidParameterError
from gis.principal import ROLES, Principal, make_principal, validate_ward_codes

logger = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = frozenset({"RS256", "ES256"})
# claims every accepted token carries; "nbf" is checked when present
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
_KEYCLOAK_ROLES = "realm_access.roles"
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class _Key:
    alg: str
    key: PublicKey


class KeysUnavailableError(AuthenticationError):
    """The identity provider's keys could not be fetched (none cached).

    A subclass so that the API may answer 503 rather than 401: the token may be fine.
    """


def _usable_key(jwk: Mapping[str, Any], allowed: frozenset[str]) -> _Key | None:
    """The public key of one JWK if it may verify one of ``allowed``, else None."""
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if jwk.get("use", "sig") != "sig":
        return None
    if "d" in jwk:  # private key material has no business in a published JWKS
        logger.warning(
            "ignoring JWKS key %r: it holds private key material", jwk.get("kid")
        )
        return None
    wanted = (
        "RS256" if kty == "RSA" else "ES256" if (kty, crv) == ("EC", "P-256") else None
    )
    if wanted is None or wanted not in allowed or alg not in (None, wanted):
        return None
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=wanted).key
    except jwt.PyJWTError:
        logger.warning(
            "ignoring JWKS key %r: not a valid %s key", jwk.get("kid"), wanted
        )
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return _Key(wanted, key)
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return _Key(wanted, key)
    logger.warning("ignoring JWKS key %r: unsuitable for %s", jwk.get("kid"), wanted)
    return None


def parse_jwks(
    jwks: Mapping[str, Any], allowed: Iterable[str] = ALLOWED_ALGORITHMS
) -> dict[str, _Key]:
    """The signing keys of a JWKS document, by key id.

    Keys without ``kid``, for other uses or algorithms, RSA keys under 2048 bits and
    keys with private parts are left out.

    Parameters
    ----------
    jwks
        A JWKS document (``{"keys": [...]}``).
    allowed
        The algorithms keys may serve.

    Returns
    -------
    dict
        Key id to key.

    Raises
    ------
    InvalidParameterError
        When the document is not a JWKS.
    """
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list):
        raise InvalidParameterError("jwks: expected a JSON object with a 'keys' list")
    found: dict[str, _Key] = {}
    allowed_set = frozenset(allowed)
    for jwk in keys:
        if not isinstance(jwk, Mapping) or not isinstance(jwk.get("kid"), str):
            continue
        key = _usable_key(jwk, allowed_set)
        if key is not None:
            found[jwk["kid"]] = key
    return found


def _claim(claims: Mapping[str, Any], name: str) -> object:
    """Claim ``name``: a top-level key first (Auth0 uses URLs as claim names), then a
    dotted path (``resource_access.dothi.roles``)."""
    if name in claims:
        return claims[name]
    value: object = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _strings(value: object) -> list[str]:
    """A claim holding names: a list of strings, or one space-separated string."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class JwtVerifier:
    """Verifies OIDC access tokens (JWT) of one issuer for one audience.

    Keys come either from a JWKS URL, fetched with a 5 s timeout, cached for
    ``cache_ttl`` seconds and refetched early when a token names an unknown key id
    (the provider rotated its keys) at most every ``min_refresh_interval`` seconds, so
    tokens with made-up key ids cannot make us hammer the provider; or from a static
    JWKS document (tests, offline sites).

    One instance serves every request of a worker: it is thread-safe, and its only
    state is the key cache. Each worker fetches the JWKS itself (nothing shared).

    Parameters
    ----------
    issuer
        The expected ``iss``, e.g. ``https://sso.example.gov.vn/realms/city``.
    audience
        The accepted ``aud`` value(s): the client id dothi is registered as.
    jwks_url
        The provider's JWKS endpoint (https, or http on loopback only).
    jwks
        A static JWKS document instead of ``jwks_url``.
    algorithms
        Accepted algorithms, a subset of RS256 and ES256.
    leeway
        Clock skew tolerated for ``exp``, ``nbf`` and ``iat``, in seconds.
    roles_claim
        Claim holding the roles (dotted path allowed). Keycloak's
        ``realm_access.roles`` is read as well.
    ward_codes_claim
        Claim holding the ward codes the holder may edit.
    cache_ttl, min_refresh_interval, timeout
        JWKS cache lifetime, minimum time between fetches, and HTTP timeout (s).

    Raises
    ------
    InvalidParameterError
        On a configuration that cannot be safe (no issuer, no audience, both or
        neither key source, an algorithm other than RS256/ES256, a plain-http JWKS
        URL on another host).
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str | Sequence[str],
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        algorithms: Iterable[str] = ("RS256", "ES256"),
        leeway: float = 30.0,
        roles_claim: str = "roles",
        ward_codes_claim: str = "ward_codes",
        cache_ttl: float = 600.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        max_token_length: int = 16_384,
    ) -> None:
        if not issuer:
            raise InvalidParameterError("JWT issuer must be configured")
        audiences = [audience] if isinstance(audience, str) else list(audience)
        if not audiences or not all(audiences):
            raise InvalidParameterError("JWT audience must be configured")
        if (jwks_url is None) == (jwks is None):
            raise InvalidParameterError("give exactly one of jwks_url and jwks")
        algs = frozenset(algorithms)
        if not algs or algs - ALLOWED_ALGORITHMS:
            raise InvalidParameterError(
                "JWT algorithms: only RS256 and ES256 are accepted",
                parameter="algorithms",
            )
        if jwks_url is not None:
            parts = urlsplit(jwks_url)
            if parts.scheme != "https" and not (
                parts.scheme == "http" and parts.hostname in _LOOPBACK
            ):
                raise InvalidParameterError(
                    "jwks_url must use https (keys fetched in the clear can be swapped)",
                    parameter="jwks_url",
                )
        self.issuer = issuer
        self.audience = audiences
        self.jwks_url = jwks_url
        self.algorithms = algs
        self.leeway = leeway
        self.roles_claim = roles_claim
        self.ward_codes_claim = ward_codes_claim
        self.cache_ttl = cache_ttl
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self.max_token_length = max_token_length
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._fetched_at = -math.inf  # last successful fetch (monotonic)
        self._attempted_at = -math.inf  # last fetch attempt, failed or not
        if jwks is not None:
            self._keys = parse_jwks(jwks, algs)
            self._fetched_at = math.inf  # a static JWKS never expires

    # -- keys -------------------------------------------------------------------

    def _should_fetch(self, kid: str) -> bool:
        if self.jwks_url is None:
            return False
        now = time.monotonic()
        if now - self._attempted_at < self.min_refresh_interval:
            return False
        return kid not in self._keys or now - self._fetched_at > self.cache_ttl

    def refresh(self, kid: str = "") -> None:
        """Fetch the JWKS if due (see the class notes); blocking, at most ``timeout``.

        A failed fetch keeps the keys already cached (logged as a warning), so a
        provider outage does not lock out holders of valid tokens.
        """
        with self._lock:
            # another thread may have fetched while this one waited for the lock
            if not self._should_fetch(kid) or self.jwks_url is None:
                return
            self._attempted_at = time.monotonic()
            try:
                response = httpx.get(
                    self.jwks_url, timeout=self.timeout, follow_redirects=False
                )
                response.raise_for_status()
                keys = parse_jwks(response.json(), self.algorithms)
            except (httpx.HTTPError, ValueError, InvalidParameterError) as exc:
                logger.warning(
                    "cannot fetch JWKS from %s: %s", self.jwks_url, type(exc).__name__
                )
                return
            self._keys = keys
            self._fetched_at = time.monotonic()

    # -- tokens -----------------------------------------------------------------

    def _header(self, token: str) -> tuple[str, str]:
        """``(alg, kid)`` of the unverified header, both checked for plausibility."""
        if not token or len(token) > self.max_token_length or token.count(".") != 2:
            raise AuthenticationError("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("malformed token") from None
        alg, kid = header.get("alg"), header.get("kid")
        # "none", HS256 and the rest are refused here, before any key is looked at
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise AuthenticationError("token algorithm is not accepted")
        if "crit" in header:  # RFC 7515 §4.1.11: extensions we do not implement
            raise AuthenticationError("token uses unsupported critical extensions")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("token has no key id")
        return alg, kid

    def verify(self, token: str) -> Principal:
        """Verify ``token`` and return its holder's principal.

        May block up to ``timeout`` seconds when the JWKS must be fetched: in async
        code use :meth:`verify_async`.

        Parameters
        ----------
        token
            The compact JWT (without the ``Bearer`` prefix).

        Returns
        -------
        Principal
            Subject from ``sub``, roles from the roles claim(s) (those not in
            :data:`gis.principal.ROLES` are ignored), ward codes from ``ward_codes``,
            ``auth="jwt"``.

        Raises
        ------
        AuthenticationError
            On a malformed token, an algorithm other than the accepted ones, an
            unknown key id, a bad signature, a wrong issuer or audience, an expired or
            not yet valid token, or a missing required claim.
        KeysUnavailableError
            When no keys could be fetched.
        """
        alg, kid = self._header(token)
        if self._should_fetch(kid):
            self.refresh(kid)
        return self._decode(token, alg, kid)

    async def verify_async(self, token: str) -> Principal:
        """:meth:`verify` for async code: a JWKS fetch runs in a worker thread."""
        alg, kid = self._header(token)
        if self._should_fetch(kid):
            await anyio.to_thread.run_sync(self.refresh, kid)
        return self._decode(token, alg, kid)

    def _decode(self, token: str, alg: str, kid: str) -> Principal:
        key = self._keys.get(kid)
        if key is None:
            if not self._keys and self.jwks_url is not None:
                raise KeysUnavailableError("identity provider keys are unavailable")
            raise AuthenticationError("token key id is not known")
        if key.alg != alg:
            raise AuthenticationError("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            # "from None": PyJWT's own messages stay out of logs and tracebacks
            raise AuthenticationError(_reason(exc)) from None
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("token subject is invalid")
        given = set(_strings(_claim(claims, self.roles_claim)))
        given.update(_strings(_claim(claims, _KEYCLOAK_ROLES)))
        unknown = given - ROLES
        if unknown:
            # role names only: they are the provider's, not secrets; never the token
            logger.debug("ignoring roles unknown to dothi: %s", sorted(unknown)[:20])
        wards = _strings(_claim(claims, self.ward_codes_claim))
        try:
            ward_codes = validate_ward_codes(wards)
        except InvalidParameterError:
            raise AuthenticationError("token ward_codes claim is malformed") from None
        return make_principal(subject, given & ROLES, ward_codes, "jwt")


def _reason(exc: jwt.PyJWTError) -> str:
    """A safe, fixed description of a PyJWT failure (no token, no claim values)."""
    # subclasses first: ExpiredSignatureError is an InvalidTokenError, and so on
    reasons: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.ExpiredSignatureError, "token has expired"),
        (jwt.ImmatureSignatureError, "token is not yet valid"),
        (jwt.InvalidAudienceError, "token audience is not accepted"),
        (jwt.InvalidIssuerError, "token issuer is not accepted"),
        (jwt.InvalidSignatureError, "token signature is invalid"),
        (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
        (jwt.InvalidIssuedAtError, "token issue time is invalid"),
        (jwt.DecodeError, "malformed token"),
    ]
    if isinstance(exc, jwt.MissingRequiredClaimError) and exc.claim in _REQUIRED_CLAIMS:
        return f"token lacks the {exc.claim!r} claim"
    for kind, reason in reasons:
        if isinstance(exc, kind):
            return reason
    return "token is invalid"

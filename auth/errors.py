"""The two ways a credential check fails: not valid (401), or not tried (429)."""

from __future__ import annotations

from gis.errors import GisError


class AuthenticationError(GisError):
    """Credentials were presented and are not valid (maps to 401).

    The ``detail`` says what kind of check failed ("token has expired") and never
    repeats the credential itself.
    """


class TooManySignInsError(GisError):
    """A password check refused before it runs: too many failures (maps to 429).

    Raised for an account name locked for the caller's address (see
    :func:`auth.signin.verify_password`) and, by the API, for an address that has
    spent its budget of password checks. ``retry_after`` is the wait in whole
    seconds.
    """

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

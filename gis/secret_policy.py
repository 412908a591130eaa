"""Refusing weak secrets (``check_secret``), with no imports beyond ``gis.errors``.

In ``gis``, not in ``auth`` with the rest of security: ``gis.settings`` refuses a weak
``DOTHI_AUTH__SECRET_KEY`` or database password when the settings load, and ``gis``
never imports ``auth`` (which sits above it and imports ``gis.settings`` itself).
"""

from __future__ import annotations

from gis.errors import InvalidParameterError


class WeakSecretError(InvalidParameterError, ValueError):
    """A secret that must not be used outside development.

    Also a ``ValueError``, so that raised in a pydantic validator it becomes an
    ordinary ``ValidationError`` naming the setting.
    """


_DEFAULT_WORDS = ("changeme", "change_me", "secret", "dothi", "password", "default")


def check_secret(value: str, *, env: str, name: str = "secret") -> None:
    """Refuse an empty or default-looking secret outside development.

    A secret signs sessions or tokens: a guessable one lets anybody forge them. It
    must be at least 32 characters, not built from words people type when asked for
    "a secret", and not one character repeated.

    Parameters
    ----------
    value
        The secret.
    env
        The deployment environment (``Settings.env``); ``development`` accepts
        anything, so that a laptop needs no configuration.
    name
        What the secret is called in the message (e.g. ``DOTHI_AUTH__SECRET_KEY``).

    Raises
    ------
    WeakSecretError
        When the secret is refused; the message names it and never shows its value.

    Examples
    --------
    >>> check_secret("", env="development")
    >>> import secrets
    >>> check_secret(secrets.token_urlsafe(32), env="production")
    """
    if env == "development":
        return
    hint = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if len(value) < 32:
        raise WeakSecretError(
            f"{name} must be at least 32 characters outside development; {hint}",
            parameter=name,
        )
    lowered = value.lower()
    if any(word in lowered for word in _DEFAULT_WORDS) or len(set(value)) < 8:
        raise WeakSecretError(
            f"{name} looks like a default or placeholder value; {hint}",
            parameter=name,
        )

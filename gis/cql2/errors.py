"""The two errors a filter can be refused with, worded one way everywhere.

Every detail starts with ``filter: `` and names the parameter; an invalid filter also
names the CQL2 conformance class involved, a filter over a limit names the limit.
"""

from __future__ import annotations

from typing import Any

from gis.cql2.vocabulary import CQL2_CONF
from gis.errors import InvalidParameterError, LimitExceededError


def invalid(message: str, conformance: str | None = None) -> InvalidParameterError:
    """A filter that cannot be used (syntax, types, literals), with its class."""
    extra: dict[str, Any] = {"parameter": "filter"}
    if conformance:
        extra["conformance"] = CQL2_CONF + conformance
        message = f"{message} ({conformance})"
    return InvalidParameterError(f"filter: {message}", **extra)


def over_limit(message: str, name: str, maximum: float) -> LimitExceededError:
    """A filter over the documented limit ``name``."""
    return LimitExceededError(
        f"filter: {message}", parameter="filter", limit=name, maximum=maximum
    )


def show(value: Any) -> str:
    """A user value quoted in a message, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

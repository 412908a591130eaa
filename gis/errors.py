"""HTTP-free error tree. ``api/problems.py`` maps each class to a status and OGC code.

Every ``detail`` is safe to show a client: never database text.
"""

from __future__ import annotations

from typing import Any


class GisError(Exception):
    """Base of every error dothi reports to a caller."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidParameterError(GisError):
    """A parameter has a value that cannot be used."""


class UnknownParameterError(InvalidParameterError):
    """A parameter the operation does not define."""


class NotFoundError(GisError):
    """A collection, feature or resource that does not exist (or is hidden)."""


class ForbiddenError(GisError):
    """A signed-in principal may see the resource but not do this to it (403)."""


class UnsupportedMediaTypeError(GisError):
    """A request body in a media type the operation does not take (415)."""


class NotAcceptableError(GisError):
    """No representation matches the requested format."""


class LimitExceededError(InvalidParameterError):
    """A documented limit was passed (page size, filter size, upload size)."""


class ConflictError(GisError):
    """The change conflicts with the current state."""


class QueryTimeoutError(GisError):
    """The database statement timeout was reached."""


class ImportRejectedError(GisError):
    """An import file cannot be loaded; nothing was written."""


class EmbeddedClusterError(GisError):
    """The private PostgreSQL cluster cannot be started."""

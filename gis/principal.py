"""Who is asking: the principal the access policy reads, and the role names.

The access policy (``gis.layer.Access``) and the layer declarations need the
principal and the names of the roles; ``auth`` (accounts, API keys, JWT) establishes
principals and sits above ``gis``, which never imports it. So the principal lives
here, beside the spatial core, and ``auth`` builds it with :func:`make_principal`.

One type, not two: a principal carries everything its holder proved (subject,
roles, wards, how it authenticated and, for a password sign-in, which version of
the account the password check proved). The policy reads the first three; the API
reads the version to decide whether a remembered sign-in still holds. Holding that
version here rather than in a separate "identity" wrapper keeps one value that
flows from the credential check to the policy, with no copies of subject and roles
to keep in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from gis.errors import InvalidParameterError

PUBLIC = "public"  # the role every principal has, anonymous included

ROLES: frozenset[str] = frozenset(
    {
        PUBLIC,  # everyone, anonymous visitors included
        "citizen",  # a signed-in resident: reports, own submissions
        "land_officer",  # cán bộ địa chính: parcels of their wards
        "planner",  # planning zones, edits in QGIS
        "lighting_crew",  # street lights and cabinets
        "tree_crew",  # urban trees
        "ioc_operator",  # the operations centre's map wall
        "security_officer",  # cameras
        "external_app",  # another agency's system
        "admin",  # everything, accounts included
        "auditor",  # reads the audit trail, changes nothing
    }
)
"""Every role dothi knows. Anything else is refused (or, in a JWT, ignored)."""

AuthMethod = Literal["anonymous", "password", "api_key", "jwt"]

# GSO administrative unit code of a ward or commune (5 digits, e.g. 22945 Phan Thiết)
_WARD_CODE = re.compile(r"\d{5}")


@dataclass(frozen=True)
class AccountVersion:
    """Which version of a local account a sign-in proved (migration 0010).

    The database bumps ``app_user.credential_version`` when the password, roles,
    wards, name or the disabled flag change; a remembered sign-in is good only while
    ``auth.signin.account_is_current`` says so.
    """

    account_id: int
    version: int


@dataclass(frozen=True)
class Principal:
    """Who is asking: subject, roles (``public`` always among them), and the wards
    whose rows the principal may edit (a ward's land officer).

    Attributes
    ----------
    subject
        Stable id of the caller (username, ``api_key:<prefix>``, the JWT ``sub``);
        None when anonymous.
    roles
        Role names, ``public`` always among them.
    ward_codes
        The wards (GSO codes) whose rows the holder may edit; empty means none.
    auth
        How the holder authenticated.
    account
        For a password sign-in, the account's version the check proved; None for
        every other way in.
    """

    subject: str | None = None
    roles: frozenset[str] = frozenset({PUBLIC})
    ward_codes: frozenset[str] = frozenset()
    auth: AuthMethod = "anonymous"
    account: AccountVersion | None = None

    def __post_init__(self) -> None:
        if PUBLIC not in self.roles:
            object.__setattr__(self, "roles", self.roles | {PUBLIC})

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def may_edit_ward(self, ward_code: str | None) -> bool:
        """Whether rows of ``ward_code`` are among the principal's wards."""
        return ward_code is not None and ward_code in self.ward_codes


ANONYMOUS = Principal()


def validate_roles(roles: Iterable[str]) -> frozenset[str]:
    """Check that every role is one of :data:`ROLES`.

    Parameters
    ----------
    roles
        Role names.

    Returns
    -------
    frozenset of str
        The roles, ``public`` left out (every principal has it anyway).

    Raises
    ------
    InvalidParameterError
        On a role dothi does not know; the message lists the known ones.

    Examples
    --------
    >>> sorted(validate_roles(["planner", "public", "planner"]))
    ['planner']
    """
    if isinstance(roles, str):  # "admin" would otherwise be five one-letter roles
        raise InvalidParameterError("roles: expected a list of role names")
    given = frozenset(roles)
    unknown = given - ROLES
    if unknown:
        raise InvalidParameterError(
            f"unknown role(s) {', '.join(sorted(unknown))}; "
            f"known roles: {', '.join(sorted(ROLES))}",
            parameter="roles",
        )
    return given - {PUBLIC}


def validate_ward_codes(ward_codes: Iterable[str]) -> frozenset[str]:
    """Check ward codes: five-digit GSO administrative unit codes.

    Parameters
    ----------
    ward_codes
        Ward codes such as ``"22945"``.

    Returns
    -------
    frozenset of str

    Raises
    ------
    InvalidParameterError
        On anything that is not five digits.

    Examples
    --------
    >>> sorted(validate_ward_codes(["22945", "22918"]))
    ['22918', '22945']
    """
    if isinstance(ward_codes, str):
        raise InvalidParameterError("ward_codes: expected a list of ward codes")
    codes = frozenset(ward_codes)
    bad = [c for c in codes if not (isinstance(c, str) and _WARD_CODE.fullmatch(c))]
    if bad:
        raise InvalidParameterError(
            "ward_codes: each ward code is the 5-digit GSO code (e.g. 22945)",
            parameter="ward_codes",
        )
    return codes


def make_principal(
    subject: str | None,
    roles: Iterable[str],
    ward_codes: Iterable[str],
    auth: AuthMethod,
    *,
    account: AccountVersion | None = None,
) -> Principal:
    """Build the principal of an authenticated (or anonymous) caller.

    The one place credentials become principals, so that ``public`` is always among
    the roles and an unknown role or a malformed ward code never slips through.

    Parameters
    ----------
    subject
        Stable id of the caller (username, ``api_key:<prefix>``, or the JWT ``sub``).
    roles
        Roles, each one of :data:`ROLES`.
    ward_codes
        Wards the caller may edit.
    auth
        How the caller authenticated.
    account
        The local account's proved version (password sign-ins only).

    Returns
    -------
    Principal

    Raises
    ------
    InvalidParameterError
        On an unknown role or a malformed ward code.

    Examples
    --------
    >>> who = make_principal("lan", ["land_officer"], ["22945"], "password")
    >>> sorted(who.roles), sorted(who.ward_codes), who.auth
    (['land_officer', 'public'], ['22945'], 'password')
    """
    return Principal(
        subject=subject,
        roles=validate_roles(roles) | {PUBLIC},
        ward_codes=validate_ward_codes(ward_codes),
        auth=auth,
        account=account,
    )

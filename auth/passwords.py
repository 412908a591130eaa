"""Passwords: the policy a new one must meet, and the argon2id hashing of them.

The only module that touches :data:`PASSWORD_HASHER`: accounts hash through
:func:`hash_password`, the sign-in verifies through :func:`verify_hash`, so a test
that swaps the hasher for a cheap one swaps it everywhere. Nothing here logs or
echoes a password: errors carry fixed, safe texts.
"""

from __future__ import annotations

import contextlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gis.errors import InvalidParameterError

PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""The argon2id hasher: OWASP's first minimum, m=19 MiB, t=2, p=1.

Measured on the 2-core box a server runs on: 32 ms and 19 MiB a check, against
165 ms and 64 MiB for argon2-cffi's default (RFC 9106 low-memory, t=3, p=4) that
hashes were made with before. A guess then costs a fifth of the CPU, and the API
runs at most ``limits.password_checks`` checks at once per process, so guesses can
neither take the cores nor the memory. Stored hashes carry their own parameters:
older ones still verify and are replaced on the next successful sign-in
(:func:`auth.signin.verify_password`). Tests may replace it with a cheaper one.
"""

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# What people choose first, in Vietnam and elsewhere; with digits and symbols stripped
# from both ends before the comparison, "matkhau123" and "Password2025!" are caught too.
_COMMON_PASSWORDS = frozenset(
    {
        "", "password", "passw0rd", "matkhau", "mat khau", "matkhaumoi", "qwerty",
        "qwertyuiop", "asdfghjkl", "zxcvbnm", "abc", "abcd", "abcdef", "abcdefgh",
        "abcdefghij", "admin", "administrator", "root", "user", "guest", "test",
        "welcome", "letmein", "iloveyou", "anhyeuem", "emyeuanh", "yeuem", "vietnam",
        "hanoi", "saigon", "hochiminh", "phanthiet", "dothi", "changeme", "secret",
        "default", "login", "master", "dragon", "monkey", "football", "superman",
        "trustno", "sunshine", "princess", "qazwsx", "1qaz2wsx", "zaq1xsw2",
    }
)  # fmt: skip
_NOISE = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_dummy_hash: tuple[PasswordHasher, str] | None = None


def check_password(password: str, *, username: str | None = None) -> None:
    """Apply the password policy.

    At least 10 characters (at most 1024), not only digits (phone numbers and dates
    are tried first), not a common password with digits or symbols added, not mostly
    one character, and not containing the username (when it has 4+ characters).

    Parameters
    ----------
    password
        The proposed password.
    username
        The account it is for, if known.

    Raises
    ------
    InvalidParameterError
        Saying which rule failed, never repeating the password.

    Examples
    --------
    >>> check_password("xanh-lá-cây-phố-biển")
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters", parameter="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"password: at most {MAX_PASSWORD_LENGTH} characters", parameter="password"
        )
    lowered = password.lower()
    if password.isdigit():
        raise InvalidParameterError(
            "password: must not be only digits (phone numbers and dates are "
            "guessed first)",
            parameter="password",
        )
    if _NOISE.sub("", lowered) in _COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise InvalidParameterError(
            "password: too common or too simple; choose a longer phrase",
            parameter="password",
        )
    # short names ("an") occur inside ordinary words: only 4+ characters count
    if username and len(username) >= 4 and username.lower() in lowered:
        raise InvalidParameterError(
            "password: must not contain the username", parameter="password"
        )


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) of ``password``, with today's parameters."""
    return PASSWORD_HASHER.hash(password)


def verify_hash(stored: str, password: str) -> bool | None:
    """Whether ``password`` matches the ``stored`` hash.

    Returns
    -------
    bool or None
        True on a match, False on a mismatch, None when the stored hash cannot be
        used at all (not an argon2 hash, corrupt): the caller logs that, a guess
        cannot cause it.
    """
    try:
        PASSWORD_HASHER.verify(stored, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        return None
    return True


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with parameters other than today's."""
    return PASSWORD_HASHER.check_needs_rehash(stored)


def burn_verify(password: str) -> None:
    """Spend what a real verification costs, so timing does not reveal the account."""
    global _dummy_hash  # per hasher: tests swap PASSWORD_HASHER for a cheap one
    hasher = PASSWORD_HASHER
    if _dummy_hash is None or _dummy_hash[0] is not hasher:
        _dummy_hash = (hasher, hasher.hash(secrets.token_urlsafe(16)))
    with contextlib.suppress(VerificationError):
        hasher.verify(_dummy_hash[1], password)

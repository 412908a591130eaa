"""Security: who a caller is, and the tables that say so.

Accounts and their passwords (argon2id), API keys, the identity provider's JWT
bearer tokens, the sign-in lockout. This package owns its tables and is the one way into
them. It sits between ``api`` (HTTP) and ``layers``: the access policy of the spatial
core (``gis``) takes a ``gis.principal.Principal`` and never imports from here, so
the policy stays below the ways a principal is established.

One job a module:

- ``tables``: ``app_user``, ``api_key``, ``sign_in_failure`` on the shared metadata
  (``migrations/env.py`` imports it, so Alembic compares them like every table);
- ``passwords``: the password policy and the argon2id hasher;
- ``accounts``: local accounts, as the administrator manages them;
- ``signin``: the password check under the lockout, and whether a remembered
  sign-in still holds;
- ``api_keys``: keys of other systems, made, revoked and checked;
- ``jwt``: bearer tokens of the province's identity provider (OIDC);
- ``errors``: the 401 and 429 kinds of failure.

Every check returns a ``gis.principal.Principal``, the one type of "who": it carries,
for a password sign-in, the account version the check proved (see ``gis.principal``
for why there is no separate identity type). Weak secrets are refused by
``gis.secret_policy``, in ``gis`` because the settings refuse them when they load.
"""

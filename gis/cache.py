"""A per-process LRU of bytes, bounded by total size (the tile cache).

Each entry carries a *tag*: the data versions of the layers it was made from. A
request sends the tag it holds to PostgreSQL with the tile statement; the database
compares it with the current versions (a trigger bumps them on every edit, whoever
makes it) and makes the tile only when they differ. So a hit costs one tiny round
trip, and the next request after an edit gets the new tile. Keys carry what the
principal may see, so one principal's tile is never served to another whose rights
differ.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any, Protocol

import orjson


class TileCache(Protocol):
    """What the tile routes need of a cache: tagged bytes by key."""

    async def aget(self, key: Hashable) -> tuple[Any, bytes] | None:
        """``(tag, value)``, or None."""

    async def aput(self, key: Hashable, tag: Any, value: bytes) -> None:
        """Store ``value`` with ``tag``."""


class ByteLRU:
    """Least-recently-used cache of tagged ``bytes``, at most ``max_bytes`` in all.

    Examples
    --------
    >>> c = ByteLRU(10)
    >>> c.put("a", (1,), b"12345"); c.put("b", (1,), b"123456")
    >>> c.get("a") is None, c.get("b")
    (True, ((1,), b'123456'))
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, bytes]] = OrderedDict()
        self._size = 0
        self._lock = Lock()

    def get(self, key: Hashable) -> tuple[Any, bytes] | None:
        """``(tag, value)``, or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
            return entry

    def put(self, key: Hashable, tag: Any, value: bytes) -> None:
        """Store ``value`` with ``tag``; evict the least recently used until it fits."""
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._size -= len(old[1])
            self._data[key] = (tag, value)
            self._size += len(value)
            while self._size > self.max_bytes:
                _, (_, evicted) = self._data.popitem(last=False)
                self._size -= len(evicted)

    async def aget(self, key: Hashable) -> tuple[Any, bytes] | None:
        """``get`` for the async routes (no I/O: returns at once)."""
        return self.get(key)

    async def aput(self, key: Hashable, tag: Any, value: bytes) -> None:
        """``put`` for the async routes."""
        self.put(key, tag, value)


class RedisCache:
    """The tile cache shared by every worker and replica, in Redis.

    Entries are ``tag JSON + newline + tile``; the key is a hash of the cache key
    (which carries the layers and the fields the principal may see). Redis evicts by
    its own ``maxmemory`` policy; entries also expire after ``ttl_s``. A Redis that
    does not answer is a miss, never an error: tiles are then made by PostgreSQL.
    """

    def __init__(
        self, url: str, *, ttl_s: int = 86_400, prefix: str = "dothi:tile:"
    ) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._ttl = ttl_s
        self._prefix = prefix

    def _key(self, key: Hashable) -> str:
        return (
            self._prefix
            + hashlib.blake2b(repr(key).encode(), digest_size=20).hexdigest()
        )

    async def aget(self, key: Hashable) -> tuple[Any, bytes] | None:
        """``(tag, value)``, or None (also when Redis is unreachable)."""
        try:
            raw = await self._redis.get(self._key(key))
        except Exception:
            return None
        if raw is None:
            return None
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        head, _, value = data.partition(b"\n")
        tag = orjson.loads(head)
        return (tuple(tag) if isinstance(tag, list) else tag), value

    async def aput(self, key: Hashable, tag: Any, value: bytes) -> None:
        """Store ``value`` with ``tag`` (best effort)."""
        # best effort, as above: a cache that cannot store is no error
        with contextlib.suppress(Exception):
            await self._redis.set(
                self._key(key), orjson.dumps(tag) + b"\n" + value, ex=self._ttl
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

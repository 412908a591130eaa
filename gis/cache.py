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

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any


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

"""A small in-process cache: bounded, thread-safe, with an optional time to live.

Used for what is immutable once stored (parsed questionnaire and rule-set versions, stored
score rows), for what a caller can check cheaply is still current (verified scores), and for
verified API keys (a short time to live, dropped at once on revocation). Each process holds
its own: nothing here is shared between the workers of a multi-process server.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Least recently used entries go first once ``max_entries`` is reached, or once the
    entries' total ``weigh`` passes ``max_weight`` when one is given (bytes, say); with a
    ``ttl_seconds``, an entry older than that is gone as if never stored."""

    def __init__(
        self,
        max_entries: int,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_weight: int | None = None,
        weigh: Callable[[V], int] = lambda _: 1,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_weight = max_weight
        self._weigh = weigh
        # key -> (stored at, value, weight)
        self._entries: OrderedDict[K, tuple[float, V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            stored_at, value, _ = found
            if self.ttl_seconds is not None and self.clock() - stored_at >= self.ttl_seconds:
                self._remove(key)
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        weight = self._weigh(value)
        with self._lock:
            if key in self._entries:
                self._remove(key)
            self._entries[key] = (self.clock(), value, weight)
            self._weight += weight
            while len(self._entries) > self.max_entries or (
                self.max_weight is not None and self._weight > self.max_weight
            ):
                self._remove(next(iter(self._entries)))

    def pop(self, key: K) -> None:
        with self._lock:
            if key in self._entries:
                self._remove(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def _remove(self, key: K) -> None:
        self._weight -= self._entries.pop(key)[2]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

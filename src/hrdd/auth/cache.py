"""Verified API keys kept in the process for a few seconds, so that a busy client's requests
do not each look its key up in the database.

Revocation: revoking a key through the API empties this process's cache before and after the
revoking transaction commits, so the key fails on its next request to this process. Other
worker processes of a multi-process server (`hrdd serve --workers N`) have caches of their
own: there a revoked key keeps working for at most ``TTL_SECONDS``, the time its entry lives.
A lookup that was already running when a revocation came is not cached (``generation``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.orm import Session

from hrdd.auth.service import LAST_USED_RESOLUTION, Principal
from hrdd.caching import BoundedCache

# How long another worker process may go on accepting a key revoked elsewhere.
TTL_SECONDS = 5.0
MAX_KEYS = 4096


@dataclass
class VerifiedKey:
    principal: Principal
    # When the key's use was last recorded (``ApiKey.last_used_at``), as this process knows it.
    last_used_at: datetime | None

    def touch_due(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


class KeyCache:
    def __init__(
        self,
        ttl_seconds: float = TTL_SECONDS,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Keyed by a digest of the whole presented key: the secret itself is not kept.
        self._entries: BoundedCache[str, VerifiedKey] = BoundedCache(max_keys, ttl_seconds, clock)
        self._lock = threading.Lock()
        self._generation = 0

    @staticmethod
    def _digest(presented: str) -> str:
        return hashlib.sha256(presented.encode()).hexdigest()

    @property
    def generation(self) -> int:
        """Read before a database lookup and hand to ``put``."""
        return self._generation

    def get(self, presented: str) -> VerifiedKey | None:
        return self._entries.get(self._digest(presented))

    def put(self, presented: str, verified: VerifiedKey, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._entries.put(self._digest(presented), verified)

    def forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def forget_on_commit(self, session: Session) -> None:
        """Empty the cache now and again once ``session`` commits: a request that read the
        key as valid before the commit cannot leave it cached behind the revocation."""
        self.forget_all()
        event.listen(session, "after_commit", lambda _: self.forget_all(), once=True)


def key_cache(app: FastAPI) -> KeyCache:
    """The app's key cache (``hrdd.main.create_app`` makes it)."""
    return app.state.key_cache

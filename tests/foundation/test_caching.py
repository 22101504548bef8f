"""The in-process cache behind parsed content, verified scores and verified keys: bounded,
least recently used first out, and an entry past its time to live is gone."""

from __future__ import annotations

import pytest

from hrdd.caching import BoundedCache


def test_the_least_recently_used_entry_goes_first():
    cache: BoundedCache[str, int] = BoundedCache(max_entries=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_with_a_weight_budget_the_least_recently_used_go_until_the_rest_fit():
    cache: BoundedCache[str, bytes] = BoundedCache(max_entries=10, max_weight=10, weigh=len)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # "b" is now the least recently used
    cache.put("c", b"123")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"1234", None, b"123")
    cache.put("a", b"1")  # replacing an entry counts its new weight only
    cache.put("d", b"123456")
    assert (cache.get("a"), cache.get("c"), cache.get("d")) == (b"1", b"123", b"123456")


def test_an_entry_past_its_time_to_live_is_gone():
    now = [100.0]
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4, ttl_seconds=5, clock=lambda: now[0])
    cache.put("key", 1)
    now[0] = 104.9
    assert cache.get("key") == 1
    now[0] = 105.0
    assert cache.get("key") is None
    assert len(cache) == 0


def test_pop_and_clear_forget_entries():
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.pop("a")
    cache.pop("missing")
    assert (cache.get("a"), cache.get("b")) == (None, 2)
    cache.clear()
    assert len(cache) == 0


def test_a_cache_holds_at_least_one_entry():
    with pytest.raises(ValueError, match="at least 1"):
        BoundedCache(max_entries=0)

"""Bodies are read before a request takes a work slot, within a shared budget of bytes: many
small slow bodies fit, but the memory all bodies being read can take is bounded (the
security review: 300 connections each sending 10 MiB grew the server by 3.2 GB)."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from hrdd.middleware import BODY_BUDGET_FACTOR, WorkerThreadAdmission

LIMIT = 1000


async def _app(scope, receive, send) -> None:  # never reached: no body arrives whole
    raise AssertionError("a request whose body did not arrive was run")


def _scope(length: int) -> dict:
    return {
        "type": "http",
        "path": "/x",
        "headers": [(b"content-length", str(length).encode())],
    }


def test_bodies_being_read_share_a_bounded_budget_of_bytes() -> None:
    async def scenario() -> tuple[int, int]:
        admission = WorkerThreadAdmission(_app, body_timeout=0.5, max_body_bytes=LIMIT)
        started: list[int] = []

        def stalled(number: int):
            async def receive() -> Message:
                started.append(number)
                await asyncio.sleep(10)
                raise AssertionError("unreachable")

            return receive

        async def send(message: Message) -> None:
            return None

        # Full-size bodies: only BODY_BUDGET_FACTOR of them are read at once.
        full = [
            asyncio.create_task(admission(_scope(LIMIT), stalled(n), send))
            for n in range(BODY_BUDGET_FACTOR + 3)
        ]
        await asyncio.sleep(0.1)
        reading_full = len(started)
        await asyncio.gather(*full)
        started.clear()
        # Small ones fit many times over in the same budget.
        small = [
            asyncio.create_task(admission(_scope(10), stalled(n), send))
            for n in range(BODY_BUDGET_FACTOR * 10)
        ]
        await asyncio.sleep(0.1)
        reading_small = len(started)
        await asyncio.gather(*small)
        return reading_full, reading_small

    reading_full, reading_small = asyncio.run(scenario())
    assert reading_full == BODY_BUDGET_FACTOR
    assert reading_small == BODY_BUDGET_FACTOR * 10

"""Bodies are read before a request takes a work slot, and their bytes share a budget until
the response starts: the memory they take is bounded however many clients send at once (the
security review: 300 connections each sending 10 MiB grew the server by 3.2 GB), and a client
that announces a large body and sends nothing takes nothing of it."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from hrdd.middleware import BODY_BUDGET_FACTOR, WorkerThreadAdmission

LIMIT = 1000
BUDGET = BODY_BUDGET_FACTOR * LIMIT


def _scope(length: int | None) -> dict:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return {"type": "http", "path": "/x", "headers": headers}


def _whole_body(size: int):
    async def receive() -> Message:
        return {"type": "http.request", "body": b"x" * size, "more_body": False}

    return receive


async def _never() -> Message:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def _ignore(message: Message) -> None:
    return None


def test_bodies_waiting_for_a_slot_stay_within_the_budget() -> None:
    async def scenario() -> tuple[int, int, int]:
        release = asyncio.Event()
        ran: list[str] = []

        async def app(scope, receive, send) -> None:
            ran.append(scope["path"])
            await release.wait()

        admission = WorkerThreadAdmission(app, body_timeout=30, max_body_bytes=LIMIT)
        work, budget = admission._gates_of_loop()
        # Requests without a body take every work slot and hold it.
        holders = [
            asyncio.create_task(admission(_scope(None), _never, _ignore))
            for _ in range(work._value)
        ]
        await asyncio.sleep(0.05)
        # Full-size bodies arrive; only as many as the budget holds are kept waiting for a slot.
        senders = [
            asyncio.create_task(admission(_scope(LIMIT), _whole_body(LIMIT), _ignore))
            for _ in range(BODY_BUDGET_FACTOR + 10)
        ]
        await asyncio.sleep(0.05)
        free_while_waiting, ran_while_waiting = budget.free, len(ran)
        release.set()
        await asyncio.gather(*holders, *senders)
        return free_while_waiting, ran_while_waiting, budget.free

    free_while_waiting, ran_while_waiting, free_after = asyncio.run(scenario())
    assert free_while_waiting == 0  # 16 bodies of 1,000 bytes hold all 16,000
    assert ran_while_waiting == 40  # only the holders ran; the senders wait
    assert free_after == BUDGET  # every body gave its bytes back


def test_an_announced_body_that_never_comes_takes_nothing() -> None:
    async def scenario() -> tuple[int, bool]:
        ran = asyncio.Event()

        async def app(scope, receive, send) -> None:
            ran.set()

        admission = WorkerThreadAdmission(app, body_timeout=30, max_body_bytes=LIMIT)
        _, budget = admission._gates_of_loop()
        stalled = [
            asyncio.create_task(admission(_scope(LIMIT), _never, _ignore))
            for _ in range(BODY_BUDGET_FACTOR * 4)
        ]
        await asyncio.sleep(0.05)
        small = asyncio.create_task(admission(_scope(2), _whole_body(2), _ignore))
        await asyncio.wait_for(ran.wait(), 1)
        free = budget.free
        await small
        for task in stalled:
            task.cancel()
        await asyncio.gather(*stalled, return_exceptions=True)
        return free, ran.is_set()

    free, small_ran = asyncio.run(scenario())
    assert small_ran
    assert free == BUDGET  # the stalled ones took nothing; the small one gave its bytes back

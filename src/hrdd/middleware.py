"""ASGI middleware: request ids and access logs, admission of no more requests at once than
there are worker threads, the request body size limit, and the refusal of NUL characters in
requests."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl
from weakref import WeakKeyDictionary

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrdd.errors import (
    ProblemDetail,
    busy_error,
    database_busy,
    internal_error,
    problem_response,
)
from hrdd.logs import redact_secrets, request_id_var

log = logging.getLogger("hrdd.access")
errors_log = logging.getLogger("hrdd.errors")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,100}$")


class RequestContextMiddleware:
    """Echo the caller's X-Request-ID (or make one), mark every response nosniff, and log one
    line per request.

    It runs the request through, outermost first: the body size limit, admission (which reads
    the whole body, within ``body_timeout`` seconds, before a request takes a slot), and the
    NUL guard; so the logged time includes the wait for a worker thread."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout: float) -> None:
        self.app = BodySizeLimitMiddleware(
            WorkerThreadAdmission(RequestTextGuard(app), body_timeout, max_body_bytes),
            max_body_bytes,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                message.setdefault("headers", [])
                message["headers"].append((b"x-request-id", request_id.encode()))
                # Downloads (reports, exports, uploaded files) are what their type says: a
                # browser must not guess another type from their bytes.
                message["headers"].append((b"x-content-type-options", b"nosniff"))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # Answered here rather than by Starlette's outermost handler, so the 500 carries
            # the request id (header and log line) and the connection stays usable.
            busy = database_busy(error)
            if busy:
                errors_log.warning("database busy", extra={"path": redact_secrets(scope["path"])})
            else:
                errors_log.exception(
                    "unhandled error", extra={"path": redact_secrets(scope["path"])}
                )
            if status_holder.get("started"):
                raise  # part of a response is out: nothing sound can follow it
            response = (
                busy_error(scope["path"]) if busy else internal_error(scope["path"], request_id)
            )
            await response(scope, receive, send_with_id)
        finally:
            principal = getattr(scope.get("state", {}).get("principal"), "organisation_id", None)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": redact_secrets(scope["path"]),
                    "status": status_holder["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                    "organisation_id": str(principal) if principal else None,
                },
            )
            request_id_var.reset(token)


class WorkerThreadAdmission:
    """Lets no more HTTP requests do their work at once than the worker thread pool has
    threads; the rest wait here, on the event loop, holding nothing.

    A sync route hops from worker thread to worker thread (dependencies, the endpoint, the
    response's serialisation, the session's commit) while it holds a pooled connection and the
    SQLite write lock or PostgreSQL row locks. Were every thread taken by requests waiting for
    that lock or for a connection, the holder could not get a thread to finish on, and the
    server would stall until the database timeouts failed them all (seen with 50 concurrent
    answer writers). A request holds at most one thread at a time, so with no more requests
    in flight than threads, a thread is always free.

    A slot is held only while the work is done, so slow clients cannot take them all (the
    security review: a few dozen connections with no key stopped even /health):

    - a request's body is read whole before the request takes a slot, and must arrive within
      ``body_timeout`` seconds (408 otherwise). The bytes of the bodies in memory (being read,
      or read and waiting for a slot) share a budget of ``BODY_BUDGET_FACTOR`` times the
      largest body allowed: each chunk takes its size as it arrives, and a body gives its
      bytes back when its response starts. Memory is bounded, and a client that announces a
      large body and sends nothing takes nothing;
    - a request whose body never arrived whole (the client left, or the size limit cut it off)
      is not run at all, so a route that reads no body changes nothing either;
    - the slot is given back when the response starts: the session has committed by then
      (``hrdd.deps.tenant_session``), and a client reading the response slowly holds none.
    """

    def __init__(self, app: ASGIApp, body_timeout: float, max_body_bytes: int) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.max_body_bytes = max_body_bytes
        # One pair per event loop: asyncio primitives belong to the loop they first wait on.
        self._gates: WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, _ByteBudget]
        ] = WeakKeyDictionary()

    def _gates_of_loop(self) -> tuple[asyncio.Semaphore, _ByteBudget]:
        """(work slots, budget of body bytes in memory) of the running event loop."""
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            slots = int(to_thread.current_default_thread_limiter().total_tokens)
            budget = _ByteBudget(BODY_BUDGET_FACTOR * self.max_body_bytes)
            gates = (asyncio.Semaphore(slots), budget)
            self._gates[loop] = gates
        return gates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        work, budget = self._gates_of_loop()
        body = _BodyBytes(budget)
        try:
            if _has_body(scope):
                try:
                    first = await asyncio.wait_for(body.read(receive), self.body_timeout)
                except TimeoutError:
                    await _answer_problem(
                        "request-timeout",
                        f"the request body did not arrive within {self.body_timeout:g} seconds",
                        scope,
                        receive,
                        send,
                    )
                    return
                if first["type"] != "http.request":
                    return  # gone, or cut off at the size limit (answered 413 outside)
                receive = _replaying(first, receive)
            await self._run(scope, receive, send, work, body)
        finally:
            body.give_back()

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, work: asyncio.Semaphore, body: _BodyBytes
    ) -> None:
        await work.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                work.release()
            body.give_back()

        async def send_then_give_back(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_then_give_back)
        finally:
            give_back()


# The bodies in memory at once may take up to this many times the largest body allowed.
BODY_BUDGET_FACTOR = 16


class _ByteBudget:
    """Bytes shared by the request bodies in memory. Taking waits until the bytes are free;
    giving back never waits (it runs in ``finally`` blocks, cancelled or not). One event loop
    uses it, so no lock is needed."""

    def __init__(self, total: int) -> None:
        self.free = total
        self._waiting: list[asyncio.Future[None]] = []

    async def take(self, size: int) -> None:
        while self.free < size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)
        self.free -= size

    def give(self, size: int) -> None:
        self.free += size
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            if not waiter.done():
                waiter.set_result(None)


class _BodyBytes:
    """One request's body, read into memory chunk by chunk, each chunk's bytes taken from the
    budget as it arrives; ``give_back`` returns them all, once."""

    def __init__(self, budget: _ByteBudget) -> None:
        self.budget = budget
        self.taken = 0

    async def read(self, receive: Receive) -> Message:
        """The whole body as one message to hand on (or the disconnect that cut it short)."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk = message.get("body", b"")
            # No chunk is larger than the body limit (the limit outside cuts it off), so
            # one always fits an empty budget.
            await self.budget.take(len(chunk))
            self.taken += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    def give_back(self) -> None:
        if self.taken:
            self.budget.give(self.taken)
            self.taken = 0


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    declared = headers.get(b"content-length")
    if declared is not None:
        return declared not in (b"", b"0")
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower()


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, whether announced by Content-Length or streamed; the
    request never reaches a route, so nothing is written."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Tell the app the client went away: it stops reading and writes nothing.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not too_large:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is over the limit of {self.max_bytes} bytes"
        await _answer_problem("payload-too-large", detail, scope, receive, send)


# A JSON escape of U+0000 that is not itself an escaped backslash followed by "u0000".
_JSON_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class RequestTextGuard:
    """422 for a NUL character in the path, the query string or a JSON body (strings and keys),
    and for a JSON body that is not UTF-8 or names a key twice in one object.

    No field has a use for a NUL, PostgreSQL cannot store one in text or JSONB (the write would
    fail as a 500), and SQLite would store it where other tools cut the text short. JSON is
    UTF-8 between systems (RFC 8259), as the README promises; and of a key sent twice the
    parser keeps the last where a proxy or an audit may read the first (the security test).
    So every JSON body is parsed once here, before the route parses it again: on the event
    loop when small, in a worker thread when large.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _nul_in_target(scope)
        if problem is None and _is_json(scope):
            first, body = await _read_body(receive)
            if len(body) > _PARSED_ON_THE_LOOP_BYTES:
                problem = await to_thread.run_sync(_json_body_problem, body)
            else:
                problem = _json_body_problem(body)
            receive = _replaying(first, receive)
        if problem is not None:
            await _refuse(problem, scope, receive, send)
            return
        await self.app(scope, receive, send)


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip()
    return content_type.lower().endswith((b"/json", b"+json"))


async def _read_body(receive: Receive) -> tuple[Message, bytes]:
    """The whole body as one message to hand on (or the disconnect that cut it short)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message, b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return {"type": "http.request", "body": body, "more_body": False}, body


def _replaying(first: Message, receive: Receive) -> Receive:
    """A receive that hands out the already-read body once, then waits as the server would."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return first

    return replay


def _nul_in_target(scope: Scope) -> ProblemDetail | None:
    if "\x00" in scope["path"]:
        return ProblemDetail(path="path", message="the path contains a NUL character")
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return ProblemDetail(
                    path=f"query.{_printable(name)}",
                    message="the query parameter contains a NUL character",
                )
    return None


# A JSON body up to this size is checked on the event loop (an answer's takes microseconds);
# a larger one in a worker thread, so that no other request waits while it is parsed.
_PARSED_ON_THE_LOOP_BYTES = 64 * 1024


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _json_body_problem(body: bytes) -> ProblemDetail | None:
    """A JSON body in another encoding than UTF-8, with a key twice in one object, or with a
    NUL character in a string or a key; the body is parsed once for all three."""
    if not body.strip():
        return None
    encoding = json.detect_encoding(body)
    if encoding not in ("utf-8", "utf-8-sig"):
        return ProblemDetail(
            path="body", message=f"the JSON body is {encoding.upper()}: send it as UTF-8"
        )
    try:
        document = json.loads(body, object_pairs_hook=_unique_keys)
    except _DuplicateKey as duplicate:
        return ProblemDetail(
            path="body",
            message=f"the key {_printable(duplicate.key)!r} appears twice in one object: send "
            "each key once",
        )
    except (ValueError, RecursionError):
        return None  # not JSON the route could read either; its own error says why
    if b"\\u0000" not in body or not _JSON_NUL_ESCAPE.search(body):
        return None
    return _nul_in(document)


def _nul_in(document: Any) -> ProblemDetail | None:
    """Where a parsed JSON document holds a NUL character, in a string or a key."""
    # Iterative walk: the document may be nested as deep as the JSON parser allows.
    pending: list[tuple[list[str], Any]] = [([], document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return ProblemDetail(
                path=".".join(path) or "body", message="the text contains a NUL character"
            )
        if isinstance(value, dict):
            for key, child in value.items():
                if "\x00" in key:
                    return ProblemDetail(
                        path=".".join([*path, _printable(key)]),
                        message="the key contains a NUL character",
                    )
                pending.append(([*path, key], child))
        elif isinstance(value, list):
            pending.extend(([*path, str(index)], child) for index, child in enumerate(value))
    return None


def _printable(text: str) -> str:
    return text.replace("\x00", "\\u0000")


async def _refuse(problem: ProblemDetail, scope: Scope, receive: Receive, send: Send) -> None:
    detail = f"{problem.path}: {problem.message}; remove it and send the request again"
    await _answer_problem("validation", detail, scope, receive, send, errors=[problem])


async def _answer_problem(
    slug: str,
    detail: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    errors: list[ProblemDetail] | None = None,
) -> None:
    """Answer with a problem body from the middleware, before any route runs."""
    response = problem_response(slug, detail, instance=scope["path"], errors=errors)
    await response(scope, receive, send)

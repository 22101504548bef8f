"""Structured logs: one JSON object per line, with the request id. Secrets never logged."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# An API key as hrdd makes them (hrdd_<12 hex lookup prefix>_<secret>): the prefix names the
# key harmlessly, the secret must never be written anywhere.
_API_KEY = re.compile(r"(hrdd_[0-9a-f]{12}_)[A-Za-z0-9_\-]{8,}")


def redact_secrets(text: str) -> str:
    """``text`` with the secret part of any API key in it replaced, for logs and error bodies:
    a caller who pastes a key into a URL, a header or a field must not find it echoed."""
    return _API_KEY.sub(r"\1[redacted]", text) if "hrdd_" in text else text


_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact_secrets(json.dumps(entry, default=str))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("hrdd")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

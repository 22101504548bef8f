"""The load benchmark serves two apps of its own (bench/load): the ceilings and the write
floor. The benchmark is a command, not a test, so nothing else would notice when a change to
hrdd stops them from starting (the floor once imported a name hrdd no longer had)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.routing import APIRoute

LOAD_BENCH = Path(__file__).resolve().parents[2] / "bench" / "load"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"load_bench_{name}", LOAD_BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("floor", "/floor/assessments/{assessment_id}/answers/{question_id}"),
        ("ceiling", None),
    ],
)
def test_the_load_benchmarks_apps_build(name: str, path: str | None) -> None:
    routes = load(name).app.router.routes
    assert routes, name
    if path is not None:
        # The floor's route sits just before the answer routes, as its benchmark assumes:
        # FastAPI tries routes in order.
        position = next(i for i, route in enumerate(routes) if getattr(route, "path", "") == path)
        following = routes[position + 1]
        assert getattr(getattr(following, "original_router", None), "prefix", None) == (
            "/assessments"
        )
        # It takes the answer from the body, as the answer write does: a payload read as a
        # query parameter made every floor request a 422 once the payload type became Any.
        floor = routes[position]
        assert isinstance(floor, APIRoute)
        dependant = floor.dependant
        assert [param.name for param in dependant.body_params] == ["payload"]
        assert dependant.query_params == []

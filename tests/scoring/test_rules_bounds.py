"""Every number of a rule set is finite and within range (README, Limits: "numbers must be
finite and within their range"), whether it comes from a draft's JSON, a bundled YAML file or
a stored version; and every rule set validation accepts scores without overflowing."""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import rebuilt, score_requests
from test_engine_support import RULESET_PATH

from hrdd.scoring import rules
from hrdd.scoring.engine import score
from hrdd.scoring.inputs import ScoreRequest
from hrdd.scoring.rules import RuleSetError, load_ruleset_file, parse_ruleset

INF, NAN = float("inf"), float("nan")


def raw() -> dict[str, Any]:
    return yaml.safe_load(RULESET_PATH.read_text(encoding="utf-8"))


def problems_of(data: Any) -> dict[str, str]:
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(data, "draft")
    return {problem.path: problem.message for problem in caught.value.problems}


def _set(path: str, value: Any) -> Any:
    """A change setting the value at a dotted path (list indexes and int keys as digits)."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) or int_key(node, part) else node[part]
        if isinstance(node, list) or int_key(node, last):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def int_key(node: Any, part: str) -> bool:
    return isinstance(node, dict) and part.isdigit() and int(part) in node


NUMBER_PATHS = [
    "themes.policy.weight",
    "decay.1.half_life_days",
    "decay.5.floor_while_unremediated",
    "number_rules.DD6.thresholds.1.at_least",
    "number_rules.DD6.thresholds.1.points",
    "severity.3.points",
    "reliability.ngo_report.factor",
    "evidence.peak_window_days",
    "evidence.remediated_factor",
    "confidence.freshness.stale_after_days",
    "actions.worsening.min_increase_points",
    "sensitivity.weight_factors.1",
    "sensitivity.half_life_factors.0",
    "bands.1.lower",
    "say_do.contradiction_penalty",
]


@pytest.mark.parametrize("value", [INF, -INF, NAN, 1e308, 1e20, -1e20])
@pytest.mark.parametrize("path", NUMBER_PATHS)
def test_infinite_nan_and_huge_numbers_are_refused_with_their_path(path: str, value: float) -> None:
    data = raw()
    _set(path, value)(data)
    problems = problems_of(data)
    assert path in problems, problems


@pytest.mark.parametrize("value", [True, False, "5", "1e3", None])
@pytest.mark.parametrize("path", NUMBER_PATHS)
def test_a_number_must_be_a_number(path: str, value: Any) -> None:
    """Lax parsing stored true as 1.0 and "5" as 5: a number field takes numbers only."""
    data = raw()
    _set(path, value)(data)
    problems = problems_of(data)
    assert path in problems, problems


def test_the_findings_exact_values_are_refused() -> None:
    """The exploratory test's inputs, each on its own."""
    cases = {
        "themes.policy.weight": _set("themes.policy.weight", INF),
        "decay.2.half_life_days": _set("decay.2.half_life_days", INF),
        "number_rules.C3.thresholds.1.at_least": _set("number_rules.C3.thresholds.1.at_least", INF),
        "sensitivity.weight_factors.1": _set("sensitivity.weight_factors", [0.5, INF]),
        "evidence.peak_window_days": _set("evidence.peak_window_days", 1e20),
        "confidence.freshness.stale_after_days": _set(
            "confidence.freshness.stale_after_days", 1e20
        ),
    }
    for path, change in cases.items():
        data = raw()
        change(data)
        problems = problems_of(data)
        assert path in problems, (path, problems)
        assert "parse input string" not in problems[path]  # says the range, not a parser error


def test_every_theme_weight_at_1e308_is_refused_so_their_sum_cannot_overflow() -> None:
    data = raw()
    for theme in data["themes"].values():
        theme["weight"] = 1e308
    problems = problems_of(data)
    assert {f"themes.{theme}.weight" for theme in data["themes"]} <= set(problems)
    assert problems["themes.policy.weight"] == "must be 1000.0 or less, not 1e+308"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("themes.policy.weight", 0),
        ("decay.1.half_life_days", 0.5),  # below a day: times a factor it could round to 0
        ("sensitivity.weight_factors.0", 0),
        ("sensitivity.half_life_factors.0", -1),
        ("evidence.peak_window_days", 0),
        ("confidence.freshness.stale_after_days", 2.5),
        ("actions.worsening.min_increase_points", 101),
        ("version", 10**20),
        ("version", 1e20),
    ],
)
def test_numbers_below_or_beyond_their_range_are_refused(path: str, value: float) -> None:
    data = raw()
    _set(path, value)(data)
    assert path in problems_of(data)


def test_too_many_sensitivity_factors_or_thresholds_are_refused() -> None:
    data = raw()
    data["sensitivity"]["weight_factors"] = [0.5] * (rules.MAX_SENSITIVITY_FACTORS + 1)
    thresholds = [{"at_least": n, "points": 50} for n in range(rules.MAX_NUMBER_THRESHOLDS + 1)]
    data["number_rules"]["DD6"]["thresholds"] = thresholds
    problems = problems_of(data)
    assert {"sensitivity.weight_factors", "number_rules.DD6.thresholds"} <= set(problems)


@pytest.mark.parametrize("literal", [".inf", "-.inf", ".nan", "1e999"])
def test_a_yaml_file_with_an_infinite_or_nan_number_is_refused(
    tmp_path: Path, literal: str
) -> None:
    text = RULESET_PATH.read_text(encoding="utf-8")
    assert text.count("half_life_days: 730\n") == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("half_life_days: 730\n", f"half_life_days: {literal}\n"))
    with pytest.raises(RuleSetError) as caught:
        load_ruleset_file(broken)
    assert "decay.3.half_life_days" in {p.path for p in caught.value.problems}


def test_the_bundled_rule_set_is_within_every_bound() -> None:
    ruleset = load_ruleset_file(RULESET_PATH)
    assert all(
        rules.MIN_THEME_WEIGHT <= t.weight <= rules.MAX_THEME_WEIGHT
        for t in ruleset.themes.values()
    )
    assert all(1 <= d.half_life_days <= rules.MAX_DAYS for d in ruleset.decay.values())


# --- whatever validation accepts, the engine scores ---------------------------------------------

finite = {"allow_nan": False, "allow_infinity": False}
weights = st.floats(rules.MIN_THEME_WEIGHT, rules.MAX_THEME_WEIGHT, **finite)
factors = st.lists(
    st.floats(rules.MIN_SENSITIVITY_FACTOR, rules.MAX_SENSITIVITY_FACTOR, **finite),
    min_size=1,
    max_size=rules.MAX_SENSITIVITY_FACTORS,
)
half_lives = st.floats(1, rules.MAX_DAYS, **finite)
day_counts = st.integers(1, rules.MAX_DAYS)


@st.composite
def extreme_rulesets(draw: st.DrawFn) -> dict[str, Any]:
    """The default rules with their numbers drawn across, and at the edges of, their ranges."""
    data = copy.deepcopy(raw())
    edge = draw(st.booleans())
    for theme in data["themes"].values():
        theme["weight"] = rules.MAX_THEME_WEIGHT if edge else draw(weights)
    for level in data["decay"].values():
        level["half_life_days"] = (
            draw(st.sampled_from([1, rules.MAX_DAYS])) if edge else draw(half_lives)
        )
    data["sensitivity"]["weight_factors"] = (
        [rules.MIN_SENSITIVITY_FACTOR, rules.MAX_SENSITIVITY_FACTOR] if edge else draw(factors)
    )
    data["sensitivity"]["half_life_factors"] = (
        [rules.MIN_SENSITIVITY_FACTOR, rules.MAX_SENSITIVITY_FACTOR] if edge else draw(factors)
    )
    data["evidence"]["peak_window_days"] = rules.MAX_DAYS if edge else draw(day_counts)
    data["confidence"]["freshness"]["stale_after_days"] = (
        rules.MAX_DAYS if edge else draw(day_counts)
    )
    data["actions"]["worsening"]["min_increase_points"] = draw(st.floats(0.001, 100, **finite))
    data["number_rules"]["DD6"]["thresholds"] = [
        {"at_least": -rules.MAX_NUMBER_THRESHOLD, "points": 10},
        {"at_least": rules.MAX_NUMBER_THRESHOLD, "points": 100},
    ]
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=extreme_rulesets(),
    score_request=score_requests(),
    as_of=st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
)
def test_any_rule_set_validation_accepts_scores_finite_numbers(
    data: dict[str, Any], score_request: ScoreRequest, as_of: dt.date
) -> None:
    ruleset = parse_ruleset(data, "extreme")
    for when in (score_request.as_of, as_of):
        result = score(rebuilt(score_request, ruleset=ruleset, as_of=when))
        for value in (
            result.overall,
            result.evidence_risk_current,
            result.evidence_risk_peak,
            result.sensitivity.low,
            result.sensitivity.high,
        ):
            assert math.isfinite(value) and 0 <= value <= 100, value

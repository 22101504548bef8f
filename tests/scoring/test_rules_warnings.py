"""Warnings: rules an analyst may write that pass validation but very likely turn the method
upside down. Each is named by its path; the bundled rules give none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from test_engine_support import RULESET_PATH, SCORING_DIR

from hrdd.scoring.rules import (
    RuleSet,
    RuleSetStructureError,
    load_ruleset_file,
    parse_ruleset,
    parse_ruleset_structure,
    ruleset_warnings,
)

Edit = Callable[[dict[str, Any]], None]
STALE_REASON = "the reason is the bundled default's word for word"


def raw() -> dict[str, Any]:
    return yaml.safe_load(RULESET_PATH.read_text(encoding="utf-8"))


def bundled_default() -> RuleSet:
    return load_ruleset_file(RULESET_PATH)


def warned(
    edit: Edit,
    reference: RuleSet | None,
    minimums: dict[str, float] | None = None,
    *,
    stale_reasons: bool = False,
) -> dict[str, str]:
    """The warnings by path; those about a reason kept from the default (which every edit
    below that leaves its reason alone also gets) only with ``stale_reasons``."""
    data = raw()
    edit(data)
    ruleset = parse_ruleset(data, "draft")  # legal: a warning is never a refusal
    return {
        warning.path: warning.message
        for warning in ruleset_warnings(ruleset, reference, minimums)
        if stale_reasons or not warning.message.startswith(STALE_REASON)
    }


def drop_listing_flag(data: dict[str, Any]) -> None:
    data["overrides"] = [o for o in data["overrides"] if o["id"] != "RF-LISTING"]


def set_in(*path_and_value: Any) -> Edit:
    """An edit setting the value at a path of the rule set, e.g. ("roles", "caused",
    "factor", 0)."""
    *path, key, value = path_and_value

    def edit(data: dict[str, Any]) -> None:
        target = data
        for part in path:
            target = target[part]
        target[key] = value

    return edit


def both(*edits: Edit) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for one in edits:
            one(data)

    return edit


# (edit, the one path warned, words of its message); each holds without a reference.
SELF_EVIDENT = [
    (set_in("elements", "normal", "full", 40), "elements.normal.partial", "discloses less"),
    (set_in("elements", "normal", "no", 60), "elements.normal.no", "discloses less"),
    (
        set_in("elements", "normal", "no_information", 20),
        "elements.normal.no_information",
        "rewards silence",
    ),
    (set_in("elements", "reverse", "full", 80), "elements.reverse.full", "conduct worsens"),
    (set_in("elements", "reverse", "no", 40), "elements.reverse.partial", "conduct worsens"),
    (
        set_in("elements", "reverse", "no_information", 30),
        "elements.reverse.no_information",
        "rewards silence",
    ),
    (set_in("elements", "unanswered", 10), "elements.unanswered", "rewards silence"),
    (
        set_in("say_do", "fulfilment", "verified", "value", 0.4),
        "say_do.fulfilment.self_reported.value",
        "less borne out",
    ),
    (
        set_in("say_do", "fulfilment", "contradicted", "value", 0.5),
        "say_do.fulfilment.contradicted.value",
        "less borne out",
    ),
    (
        set_in("reliability", "forensic_lab", "factor", 0),
        "reliability.forensic_lab.factor",
        "forensic_lab sources adds no evidence risk",
    ),
    (set_in("roles", "contributed", "factor", 0), "roles.contributed.factor", "no evidence risk"),
    (set_in("severity", 1, "points", 0), "severity.1.points", "severity 1 adds no evidence risk"),
    (set_in("evidence", "remediated_factor", 0), "evidence.remediated_factor", "erases"),
    (
        both(
            set_in("responses", "credits", "remedy", "credit", 1),
            set_in("responses", "max_total", 1),
        ),
        "responses.max_total",
        "erases documented harm",
    ),
    (set_in("policy_gap", "max_risk", 0), "policy_gap.max_risk", "adds no risk"),
    (set_in("actions", "worsening", "steps_up", 0), "actions.worsening.steps_up", "no rung beyond"),
    (set_in("overrides", []), "overrides", "no red flags"),
    (set_in("overrides", 0, "floor", 0), "overrides.0.floor", "RF-LISTING"),
    (set_in("overrides", 1, "floor", 60), "overrides.1.floor", "below the severe band (75)"),
    # From the analyst's user test: neither fired.
    (set_in("policy_gap", "max_risk", 80), "policy_gap.max_risk", "can reach 80, in the severe"),
    (
        both(set_in("bands", 2, "upper", 55), set_in("bands", 3, "lower", 55)),
        "policy_gap.max_risk",
        "can reach 60, in the severe band (from 55)",
    ),
]

# Against the bundled default: what an edit removed, and which way a number question runs.
AGAINST_THE_DEFAULT = [
    (drop_listing_flag, "overrides", "RF-LISTING is gone"),
    (
        set_in("overrides", 0, "min_action", "monitor"),
        "overrides.0.min_action",
        "RF-LISTING requires at least monitor, below the bundled default's vote_or_file_resolution",
    ),
    (
        set_in("evidence_types", "court_ruling", "treatment", "neutral"),
        "evidence_types.court_ruling.treatment",
        "add no risk",
    ),
    (
        set_in("number_rules", "DD6", "thresholds", 1, "points", 10),
        "number_rules.DD6.thresholds.1.points",
        "scores a better answer lower",
    ),
    (
        set_in("number_rules", "C3", "thresholds", 1, "points", 20),
        "number_rules.C3.thresholds.1.points",
        "scores a better answer lower",
    ),
]


@pytest.mark.parametrize(("edit", "path", "words"), SELF_EVIDENT)
def test_each_method_inversion_is_warned_at_its_path(edit: Edit, path: str, words: str) -> None:
    for reference in (None, bundled_default()):
        warnings = warned(edit, reference)
        assert set(warnings) == {path}, warnings
        assert words in warnings[path]


@pytest.mark.parametrize(("edit", "path", "words"), AGAINST_THE_DEFAULT)
def test_what_an_edit_removed_from_the_default_is_warned_at_its_path(
    edit: Edit, path: str, words: str
) -> None:
    warnings = warned(edit, bundled_default())
    assert set(warnings) == {path}, warnings
    assert words in warnings[path]
    assert warned(edit, None) == {}  # nothing to compare with, nothing said


def test_no_red_flags_at_all_names_the_defaults_that_are_gone() -> None:
    message = warned(set_in("overrides", []), bundled_default())["overrides"]
    assert "RF-LISTING" in message and "RF-HRD-TARGETING" in message


def test_a_floor_below_the_worst_band_says_what_a_flagged_company_can_read() -> None:
    """The bands say an active red flag is severe; at 60 a listed company can read high."""
    message = warned(set_in("overrides", 0, "floor", 60), None)["overrides.0.floor"]
    assert "RF-LISTING sets a floor of 60" in message
    assert "can read high" in message
    # At the band's own lower bound the promise holds.
    assert warned(set_in("overrides", 0, "floor", 75), bundled_default()) == {}


def test_a_renamed_red_flag_is_not_gone_but_a_narrowed_one_is() -> None:
    def rename(data: dict[str, Any]) -> None:
        data["overrides"][0]["id"] = "RF-SANCTIONS-OR-EXPORT-LISTING"

    assert warned(rename, bundled_default()) == {}

    def narrow(data: dict[str, Any]) -> None:
        rename(data)
        data["overrides"][0]["evidence_types"] = ["sanction"]

    assert "RF-LISTING is gone" in warned(narrow, bundled_default())["overrides"]

    def only_journalists(data: dict[str, Any]) -> None:
        data["overrides"][1]["id"] = "RF-JOURNALISTS"
        data["overrides"][1]["affected_groups"] = ["journalists"]

    assert "RF-HRD-TARGETING is gone" in warned(only_journalists, bundled_default())["overrides"]


def test_a_value_changed_under_the_defaults_reason_is_warned_at_the_reason() -> None:
    """The methodology readers get prints the reasons: the default's reason over a value
    no longer in force would mislead them."""
    penalty = warned(
        set_in("say_do", "contradiction_penalty", 20), bundled_default(), stale_reasons=True
    )
    assert set(penalty) == {"say_do.contradiction_penalty_why"}
    assert "contradiction_penalty 10.0 -> 20.0" in penalty["say_do.contradiction_penalty_why"]

    weight = warned(set_in("themes", "policy", "weight", 30), bundled_default(), stale_reasons=True)
    assert set(weight) == {"themes.policy.why"}

    # A red flag is paired by id, wherever it moved in the list; its reason says why it
    # exists, so only an old number it quotes makes it stale ("It starts at severity 3").
    def reordered_and_raised(data: dict[str, Any]) -> None:
        data["overrides"].reverse()
        data["overrides"][0]["min_severity"] = 4

    moved = warned(reordered_and_raised, bundled_default(), stale_reasons=True)
    assert set(moved) == {"overrides.0.why"}
    assert "min_severity 3 -> 4" in moved["overrides.0.why"]
    # The user test: a floor or an action changed under "a government finding; no policy
    # statement can lift it" left the reason true, yet was warned.
    for edit in (
        set_in("overrides", 0, "floor", 80),
        set_in("overrides", 0, "min_action", "divest_or_exclude"),
    ):
        assert warned(edit, bundled_default(), stale_reasons=True) == {}


def test_a_reason_rewritten_with_its_value_or_prose_reworded_is_not_warned() -> None:
    def penalty_with_its_reason(data: dict[str, Any]) -> None:
        data["say_do"]["contradiction_penalty"] = 20
        data["say_do"]["contradiction_penalty_why"] = "Twenty points: contradiction is grave."

    assert warned(penalty_with_its_reason, bundled_default(), stale_reasons=True) == {}

    # Rewording a description leaves its reason as true as it was; so does a new version.
    reworded = both(
        set_in("severity", 1, "scale", "Minor interference, no sign of targeting."),
        set_in("overrides", 0, "lifted_when", "A delisting record for the same list."),
        set_in("version", 99),
    )
    assert warned(reworded, bundled_default(), stale_reasons=True) == {}
    assert warned(set_in("say_do", "contradiction_penalty", 20), None, stale_reasons=True) == {}


def test_every_inverted_element_level_is_named_once() -> None:
    """full 0, partial 50, no 100: both lesser disclosures beat a better one."""
    inverted = both(
        set_in("elements", "normal", "full", 0), set_in("elements", "normal", "no", 100)
    )
    warnings = warned(inverted, None)
    assert set(warnings) == {"elements.normal.partial", "elements.normal.no"}
    assert '"no" (100) scores more than "full" (0)' in warnings["elements.normal.no"]


def test_a_number_rule_the_default_has_none_for_is_not_guessed() -> None:
    """The questionnaire does not say which way a count is better (declined deals are,
    forensic allegations are not): without the default's rule for it, no direction is known."""
    falling = {
        "thresholds": [{"at_least": 0, "points": 100}, {"at_least": 5, "points": 0}],
        "below_points": 0,
        "why": "a count the bundled default has no rule for",
    }
    assert warned(set_in("number_rules", "GR2", falling), bundled_default()) == {}


def test_points_no_answer_can_reach_are_not_weighed() -> None:
    """DD6 and C3 take no answer below 0, their first threshold: their below_points apply to
    no answer, so neither a high one nor an unanswered score above it says anything."""
    counts_from_zero = {"DD6": 0.0, "C3": 0.0}
    unreachable = set_in("number_rules", "C3", "below_points", 50)
    assert warned(unreachable, bundled_default(), counts_from_zero) == {}
    # Not knowing the questionnaire, an answer below 0 is taken to be possible.
    assert set(warned(unreachable, bundled_default())) == {"number_rules.C3.thresholds.0.points"}

    # Unanswered at 10, as much as the worst disclosure answers and below every count's 25.
    silence = both(
        set_in("elements", "normal", "no", 10),
        set_in("elements", "reverse", "full", 10),
        set_in("elements", "unanswered", 10),
    )
    assert warned(silence, bundled_default(), counts_from_zero) == {}
    assert (
        "the lowest answer to DD6 (0)" in warned(silence, bundled_default())["elements.unanswered"]
    )


def test_red_flags_still_floor_what_a_factor_of_0_silences() -> None:
    """A forensic finding weighed at 0 still fires RF-HRD-TARGETING: the warning says so
    instead of saying the harm adds no risk."""
    message = warned(set_in("reliability", "forensic_lab", "factor", 0), None)[
        "reliability.forensic_lab.factor"
    ]
    assert "only a red flag it matches still puts a floor under the score" in message


def test_ties_are_not_inversions() -> None:
    """The bundled default scores "no", "no information" and unanswered all 0."""
    flat = both(*(set_in("elements", "normal", level, 50) for level in ("full", "partial", "no")))
    assert warned(flat, bundled_default()) == {}


@pytest.mark.parametrize("path", sorted(SCORING_DIR.glob("default-v*.yaml")), ids=lambda p: p.name)
def test_the_bundled_rule_sets_give_no_warning(path: Any) -> None:
    ruleset = load_ruleset_file(path)
    assert ruleset_warnings(ruleset, bundled_default()) == []
    assert ruleset_warnings(ruleset) == []


def test_a_rule_set_of_the_wrong_shape_is_a_structure_error() -> None:
    """Its shape comes first: the checks across sections need a well-formed rule set."""
    data = raw()
    data["themes"]["policy"]["weight"] = "heavy"
    data["bands"][1]["lower"] = 30  # an overlap, found only once the shape is right
    with pytest.raises(RuleSetStructureError) as caught:
        parse_ruleset_structure(data, "draft")
    assert [problem.path for problem in caught.value.problems] == ["themes.policy.weight"]

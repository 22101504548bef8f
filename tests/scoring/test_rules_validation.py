"""The default rule set is valid and complete; broken rule sets are refused with their paths."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_engine_support import RULESET_PATH, SCORED_THEMES, question_ids
from test_score_api_support import NEWEST_DEFAULT

from hrdd.scoring import service as scoring_service
from hrdd.scoring.rules import (
    RuleSetError,
    load_ruleset_file,
    parse_ruleset,
    questionnaire_problems,
)
from hrdd.scoring.service import content_hash, content_of, methodology
from hrdd.vocab import CompanyRole, EvidenceType, FulfilmentStatus, RiskBand, SourceClass


def raw() -> dict[str, Any]:
    return yaml.safe_load(RULESET_PATH.read_text(encoding="utf-8"))


def problems_of(data: Any, name: str = "draft.yaml") -> dict[str, str]:
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(data, name)
    assert caught.value.source_name == name
    assert all(name in line for line in str(caught.value).splitlines())
    return {problem.path: problem.message for problem in caught.value.problems}


def test_default_rule_set_loads_and_names_its_questionnaire() -> None:
    ruleset = load_ruleset_file(RULESET_PATH)
    assert (ruleset.id, ruleset.version) == ("default", NEWEST_DEFAULT)  # the engine tests' rules
    assert (ruleset.questionnaire.key, ruleset.questionnaire.version) == (
        "stap-surveillance",
        "1.0.0",
    )
    assert set(ruleset.themes) == SCORED_THEMES
    assert {override.id for override in ruleset.overrides} == {"RF-LISTING", "RF-HRD-TARGETING"}
    assert questionnaire_problems(ruleset, question_ids(), SCORED_THEMES) == []


def test_default_bands_cover_0_to_100_in_order() -> None:
    ruleset = load_ruleset_file(RULESET_PATH)
    assert [rule.band for rule in ruleset.bands] == list(RiskBand)
    assert ruleset.band_for(0) is RiskBand.low
    assert ruleset.band_for(100) is RiskBand.severe
    for lower, upper in zip(ruleset.bands, ruleset.bands[1:], strict=False):
        assert ruleset.band_for(upper.lower - 0.1) is lower.band
        assert ruleset.band_for(upper.lower) is upper.band


def _entries_without_why(node: Any, path: str = "") -> list[str]:
    """Every mapping that holds numbers or choices must say why, in `why` or `<field>_why`."""
    missing: list[str] = []
    if isinstance(node, dict):
        keys = {str(key) for key in node}
        scalar_keys = {
            str(key)
            for key, value in node.items()
            if not isinstance(value, dict | list) and not str(key).endswith("why")
        }
        has_why = "why" in keys or any(key.endswith("_why") for key in keys)
        descriptive = {"scale", "scope", "irremediability", "lifted_when", "title", "key"}
        if scalar_keys - descriptive and not has_why and path not in {"", "elements"}:
            missing.append(path)
        for key, value in node.items():
            missing += _entries_without_why(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict) and set(value) <= {"at_least", "points"}:
                continue  # number thresholds: their rule's `why` covers them
            missing += _entries_without_why(value, f"{path}.{index}")
    return missing


def test_every_entry_of_the_default_rule_set_says_why() -> None:
    assert _entries_without_why(raw()) == []


def test_every_vocabulary_member_has_an_entry() -> None:
    ruleset = load_ruleset_file(RULESET_PATH)
    assert set(ruleset.reliability) == set(SourceClass)
    assert set(ruleset.roles) == set(CompanyRole)
    assert set(ruleset.evidence_types) == set(EvidenceType)
    assert set(ruleset.say_do.fulfilment) == set(FulfilmentStatus)
    assert set(ruleset.severity) == set(ruleset.decay) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("weight", [0, -5, "heavy"])
def test_a_non_positive_weight_is_refused_with_its_path(weight: object) -> None:
    data = raw()
    data["themes"]["policy"]["weight"] = weight
    assert "themes.policy.weight" in problems_of(data)


def test_band_gap_and_overlap_and_short_range_are_refused() -> None:
    data = raw()
    data["bands"][1]["lower"] = 30  # gap 25..30
    data["bands"][3]["lower"] = 70  # overlap with high (50..75)
    data["bands"][3]["upper"] = 99
    problems = problems_of(data)
    assert "gap" in problems["bands.1.lower"]
    assert "overlap" in problems["bands.3.lower"]
    assert "bands.3.upper" in problems


def test_bands_out_of_order_are_refused() -> None:
    data = raw()
    data["bands"][0]["band"], data["bands"][1]["band"] = "medium", "low"
    assert "bands" in problems_of(data)


def test_every_problem_is_reported_at_once() -> None:
    data = raw()
    data["themes"]["policy"]["weight"] = 0
    data["reliability"]["forensic_lab"]["factor"] = 1.5
    data["surprise"] = True
    del data["themes"]["governance"]["why"]
    problems = problems_of(data)
    assert {
        "themes.policy.weight",
        "reliability.forensic_lab.factor",
        "surprise",
        "themes.governance.why",
    } <= set(problems)


def test_missing_vocabulary_entries_are_named() -> None:
    data = raw()
    del data["evidence_types"]["sanction"]
    del data["decay"][5]
    problems = problems_of(data)
    assert "sanction" in problems["evidence_types"]
    assert "5" in problems["decay"]


def test_an_overrides_field_problem_is_named_as_the_rule_set_is_written() -> None:
    """pydantic puts the union member it tried (the override's kind) into the location:
    'overrides.0.active_listing.floor' named no key of the rule set."""
    data = raw()
    data["overrides"][0]["floor"] = "high"
    data["overrides"][1]["affected_groups"] = ["aliens"]
    problems = problems_of(data)
    assert {"overrides.0.floor", "overrides.1.affected_groups.0"} <= set(problems)
    assert not any("active_listing" in path or "unremediated_harm" in path for path in problems)


def test_an_override_on_a_type_the_rules_ignore_is_refused() -> None:
    data = raw()
    data["overrides"][0]["evidence_types"] = ["trade_restriction_listing", "company_statement"]
    data["overrides"][1]["id"] = data["overrides"][0]["id"]
    problems = problems_of(data)
    assert "company_statement" in problems["overrides.0.evidence_types.1"]
    assert "duplicate" in problems["overrides.1.id"]


def test_milder_action_for_a_riskier_band_is_refused() -> None:
    data = raw()
    data["actions"]["by_band"]["severe"]["action"] = "monitor"
    assert "actions.by_band" in problems_of(data)


def test_number_thresholds_must_rise() -> None:
    data = raw()
    data["number_rules"]["DD6"]["thresholds"][1]["at_least"] = 0
    # The problem names the threshold that does not rise, and what it should exceed.
    problems = problems_of(data)
    assert problems["number_rules.DD6.thresholds.1.at_least"] == (
        "at_least must strictly rise: 0 is not above the 0 of the threshold before it"
    )


def test_version_must_be_an_integer() -> None:
    data = raw()
    data["version"] = "one"
    assert "version" in problems_of(data)


def test_a_top_level_list_is_refused() -> None:
    assert "" in problems_of(["not", "a", "mapping"])


def test_dangling_question_id_and_theme_mismatch_are_refused() -> None:
    ruleset = load_ruleset_file(RULESET_PATH)
    without_dd6 = question_ids() - {"DD6"}
    themes = (SCORED_THEMES - {"transparency"}) | {"investor_position"}
    problems = {p.path: p.message for p in questionnaire_problems(ruleset, without_dd6, themes)}
    assert "DD6" in problems["number_rules.DD6"]
    assert "themes.transparency" in problems
    assert "no weight" in problems["themes.investor_position"]


def test_bad_yaml_is_refused_with_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: default\nthemes: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuleSetError, match=r"broken\.yaml.*line \d+"):
        load_ruleset_file(broken)


def test_a_missing_file_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match=r"absent\.yaml: .*cannot read file"):
        load_ruleset_file(tmp_path / "absent.yaml")


def test_a_copy_edited_in_memory_parses_like_the_file() -> None:
    data = copy.deepcopy(raw())
    data["version"] = 2
    data["themes"]["grievance_remedy"]["weight"] = 25
    draft = parse_ruleset(data, "draft")
    assert draft.version == 2
    assert draft.themes["grievance_remedy"].weight == 25
    assert load_ruleset_file(RULESET_PATH).themes["grievance_remedy"].weight == 20


def test_methodology_names_every_rule_in_words_for_the_reader() -> None:
    """The methodology is printed in the reports: its labels and values say "End user
    controls" and "NGO report", not the identifiers the rule file uses."""
    sections = methodology(load_ruleset_file(RULESET_PATH)).sections
    entries = {(s.title, e.label): e.value for s in sections for e in s.entries}
    assert all("_" not in f"{label} {value}" for (_, label), value in entries.items())
    assert entries[("Themes and weights", "End user controls")] == "13 (13%)"
    assert entries[("Source reliability and company role", "Source: NGO report")] == "x0.7"
    assert entries[("Bands and actions", "Severe")] == (
        "75 to 100: vote or file resolution (private company: use governance rights)"
    )


def test_methodology_says_how_evidence_items_combine() -> None:
    """An analyst could not reproduce the evidence risk from the report: how items combine
    (1 - prod(1 - s)) was only in the engine's code."""
    sections = {s.title: s for s in methodology(load_ruleset_file(RULESET_PATH)).sections}
    combine = sections["How the evidence and the answers combine"]
    values = {e.label: e.value for e in combine.entries}
    assert values["Several evidence items"] == (
        "100 x (1 - (1 - a) x (1 - b) x ...) for items weighing a, b and so on"
    )
    assert values["Overall risk"].startswith("the highest of the evidence risk")


def test_methodology_says_what_one_item_reaches_by_the_companys_role() -> None:
    """ "Severity 5 alone reaches the severe band" was false for a company that contributed
    (85 x 0.8 = 68, high): the band one item reaches is worked out from the rules per role."""
    sections = methodology(load_ruleset_file(RULESET_PATH)).sections
    whys = {e.label: e.why for s in sections for e in s.entries}
    assert whys["Severity 5"].endswith(
        "by the company's role: caused 85 (severe); contributed 68 (high); "
        "directly linked 42.5 (medium)."
    )
    said = " ".join(whys.values())
    assert "Alone reaches the severe band" not in said
    assert "Alone reaches the high band" not in said


def test_a_rule_set_without_the_company_closures_rule_is_stored_without_it() -> None:
    """v1 and v2 were published before the rule existed: their stored form and hash stay."""
    data = raw()
    del data["say_do"]["company_sourced_closures"]
    assert (
        "company_sourced_closures" not in content_of(parse_ruleset(data, "v2-like.yaml"))["say_do"]
    )
    entries = {
        e.label: (e.value, e.why)
        for s in methodology(parse_ruleset(data, "v2-like.yaml")).sections
        for e in s.entries
    }
    assert entries["Remedies and delistings on the company's word only"][0] == (
        "close what they name"
    )


def test_an_answers_own_sources_cannot_contradict_it() -> None:
    data = raw()
    data["say_do"]["company_sourced_answers"]["fulfilment"] = "contradicted"
    message = problems_of(data)["say_do.company_sourced_answers.fulfilment"]
    # The refusal names what may be chosen, and only that.
    assert "'self_reported'" in message and "contradicted" not in message


def test_a_rule_set_without_the_company_sources_rule_is_stored_without_it() -> None:
    """v1 was published before the rule existed: its stored form, and so its content hash,
    must not change (published versions are immutable and loading refuses a changed one)."""
    data = raw()
    # The rules added after it go too (the unsourced-answers rule needs this one).
    for added_later in (
        "company_sourced_answers",
        "company_sourced_closures",
        "unsourced_answers",
        "answers_denying_evidence",
    ):
        del data["say_do"][added_later]
    stored = content_of(parse_ruleset(data, "draft.yaml"))
    assert "company_sourced_answers" not in stored["say_do"]
    assert "unsourced_answers" not in stored["say_do"]
    assert content_of(parse_ruleset(raw(), "draft.yaml"))["say_do"]["company_sourced_answers"] == {
        "fulfilment": "self_reported",
        "why": raw()["say_do"]["company_sourced_answers"]["why"],
    }
    labels = [
        entry.label
        for section in methodology(parse_ruleset(data, "v1-like.yaml")).sections
        for entry in section.entries
    ]
    assert "Answers on company sources only" in labels


def test_a_rule_sets_content_hash_is_the_hash_it_is_stored_under() -> None:
    """Scores record RuleSet.content_hash; GET /rulesets shows the stored content_hash: the
    two must agree for a reader to find the rules a score was made with."""
    for path in sorted(RULESET_PATH.parent.glob("default-v*.yaml")):
        ruleset = load_ruleset_file(path)
        assert ruleset.content_hash == content_hash(content_of(ruleset))


def test_the_methodology_states_the_policy_gap_as_the_scale_it_is() -> None:
    """'Policy gap at most: 60 risk points' read as a cap; the investor expected 60 where the
    report gave (100 - 13.5) x 0.6 = 51.9."""
    ruleset = parse_ruleset(yaml.safe_load(RULESET_PATH.read_text()), RULESET_PATH.name)
    entries = {
        entry.label: entry.value
        for section in scoring_service.methodology(ruleset).sections
        for entry in section.entries
    }
    cap = f"{ruleset.policy_gap.max_risk:g}"
    assert entries["Policy gap"] == (
        f"{cap} x (100 - verified practice score) / 100 risk points, so at most {cap}"
    )


def test_the_methodology_says_whether_no_information_found_is_coverage() -> None:
    """From v5 the rules decide it, and the reader is told; v4 says nothing, as it decided
    nothing (no information counted as an answer)."""

    def coverage_entries(name: str) -> dict[str, str]:
        sections = methodology(load_ruleset_file(RULESET_PATH.parent / name)).sections
        confidence = next(s for s in sections if s.title == "Confidence and sensitivity")
        return {entry.label: entry.value for entry in confidence.entries}

    for later in ("default-v5.yaml", "default-v6.yaml"):
        assert coverage_entries(later)["No information found"] == (
            "does not count towards coverage"
        )
    assert "No information found" not in coverage_entries("default-v4.yaml")
    # A version without the rule dumps, so hashes, as it did before the rule existed.
    v4 = load_ruleset_file(RULESET_PATH.parent / "default-v4.yaml")
    assert "no_information" not in v4.model_dump(mode="json")["confidence"]

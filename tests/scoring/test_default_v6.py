"""Default rules v6: v5 with RF-LISTING's lifted_when reworded to say what the engine does (a
delisting that names listings in `closes` ends those alone; one that names none ends every
earlier listing of its list). Nothing else may change: the curated companies score under v6
exactly as under v5, the methodology prints the new words, and v1 to v5 hash as published."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from test_engine_support import SCORING_DIR
from test_score_api_support import answer_payloads, bundled_questionnaire, make_assessment

from hrdd.companies.models import Company
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, TenantContext
from hrdd.scoring import service
from hrdd.scoring.engine import score
from hrdd.scoring.rules import RuleSet, load_ruleset_file, parse_ruleset, ruleset_warnings
from hrdd.vocab import DisclosureLevel

# The content hashes v1 to v5 were published under: a published version never changes.
PUBLISHED_HASHES = {
    1: "5dd2450274495f17203cdfebf7ee0e9af4b12a84a859da4c81794bd4d433cd65",
    2: "7113747ff2becf52ebbfde5efc99790035fccce21efbde4e61dbdf17bc50c135",
    3: "8d4a72a847f902a725105d34592f851abaf1199e3b50a9c7ca70c7a4549201fc",
    4: "c3c4440b190817f15686830595f5b6c3768ac517813380b7c2dd154635c1920c",
    5: "0b61ebadd462062a7def98ed5b022de0416d11537d9fe5c7890d94bd312fda23",
}


def default(version: int) -> RuleSet:
    return load_ruleset_file(SCORING_DIR / f"default-v{version}.yaml")


def listing_flag(ruleset: RuleSet) -> Any:
    return next(rule for rule in ruleset.overrides if rule.id == "RF-LISTING")


def test_v6_differs_from_v5_only_in_the_listing_flags_words() -> None:
    v5 = default(5).model_dump(mode="json")
    v6 = default(6).model_dump(mode="json")
    assert (v5.pop("version"), v6.pop("version")) == (5, 6)
    lifted = [rule.pop("lifted_when") for rule in (v5["overrides"][0], v6["overrides"][0])]
    assert v5["overrides"][0]["id"] == "RF-LISTING"
    assert v5 == v6
    assert lifted[0] != lifted[1]
    assert "closes" in lifted[1] and "company's own word" in lifted[1]


@pytest.mark.parametrize("version", sorted(PUBLISHED_HASHES))
def test_published_versions_hash_as_they_were_published(version: int) -> None:
    ruleset = default(version)
    assert ruleset.version == version
    assert ruleset.content_hash == PUBLISHED_HASHES[version]
    assert service.content_hash(service.content_of(ruleset)) == PUBLISHED_HASHES[version]


def test_a_reworded_lifted_when_is_not_a_stale_reason() -> None:
    """The reasons of v5 kept beside v6's words, or v6's beside v5's, explain the same values:
    lifted_when is prose, not a value, so neither warns (nor does an organisation's copy)."""
    assert ruleset_warnings(default(5), default(6)) == []
    assert ruleset_warnings(default(6), default(5)) == []
    data = yaml.safe_load((SCORING_DIR / "default-v5.yaml").read_text(encoding="utf-8"))
    data["version"] = 7
    data["overrides"][0]["lifted_when"] = "When the listing ends."
    own = parse_ruleset(data, "own.yaml")
    assert ruleset_warnings(own, default(6)) == []


def test_the_methodology_prints_each_versions_own_words() -> None:
    def listing_entry(ruleset: RuleSet) -> str:
        return next(
            entry.why
            for section in service.methodology(ruleset).sections
            for entry in section.entries
            if entry.label == "RF-LISTING"
        )

    v5, v6 = default(5), default(6)
    assert listing_entry(v6).endswith(f"Lifted: {listing_flag(v6).lifted_when}")
    assert listing_entry(v5).endswith(f"Lifted: {listing_flag(v5).lifted_when}")
    assert "names in closes" in listing_entry(v6)
    assert "for the same list" not in listing_entry(v6)


def outcome(result: Any) -> tuple[Any, ...]:
    return (
        result.overall,
        result.band,
        result.confidence,
        tuple((o.rule_id, o.floor, o.incident_ids, o.reason) for o in result.overrides),
        result.action,
    )


def test_v6_scores_the_curated_companies_as_v5(db, settings, tenant_a) -> None:
    """Evidence-only and fully answered, on dates before and after the curated delistings:
    the same overall, band, confidence, red flags and action; only the words of a fired
    RF-LISTING differ."""
    load_bundled_content(db, settings)
    with db.session(SYSTEM) as session:
        companies = sorted(session.scalars(select(Company.id)))
    answers = answer_payloads(bundled_questionnaire(db)[1], DisclosureLevel.full)
    assessed = {
        company_id: make_assessment(db, tenant_a.organisation_id, company_id, answers)
        for company_id in companies
    }
    v5, v6 = default(5), default(6)
    dates = [dt.date(2022, 1, 1), dt.date(2024, 7, 1), dt.date(2025, 6, 1), dt.date.today()]
    fired_listing = 0
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        assessments = {a.id: a for a in service.live_assessments(session, None)}
        subjects = [
            *(service.Subject(company_id) for company_id in companies),
            *(
                service.Subject(company_id, assessments[assessed[company_id]])
                for company_id in companies
            ),
        ]
        loaded = service.load_inputs(session, subjects, whole_organisation=True)
        questionnaire = service._stored_questionnaire(session, v5)
        assert questionnaire is not None
        for subject in subjects:
            for as_of in dates:
                before = score(
                    service.build_request(subject, loaded, v5, questionnaire, as_of, None)
                )
                after = score(
                    service.build_request(subject, loaded, v6, questionnaire, as_of, None)
                )
                assert outcome(after) == outcome(before), (subject, as_of)
                assert [(o.rule_id, o.lifted_when) for o in after.overrides] == [
                    (rule.id, rule.lifted_when)
                    for rule in v6.overrides
                    if rule.id in {o.rule_id for o in before.overrides}
                ]
                fired_listing += any(o.rule_id == "RF-LISTING" for o in after.overrides)
    # The comparison covers listed companies, not only ones no listing flag concerns.
    assert fired_listing

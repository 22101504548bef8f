"""Default rules v7, from the investor review. An answer citing no source anyone can check
(none, or only sources naming neither whose they are nor a publisher or address, such as a bare
uploaded file) counts as self-reported, as one on the company's own sources has since v2: under
v6 it kept all its points, so an unsourced answer scored better than one citing the company.
And R1, the count of forensic allegations, answered below the forensic findings known on the
scoring date is contradicted by them and caps its theme: under v6, 0 allegations for NSO Group
hid the response questions and left that theme at 100. Nothing else changes, and v1 to v6 hash
as they were published."""

from __future__ import annotations

import datetime as dt

import pytest
from test_default_v6 import PUBLISHED_HASHES as EARLIER_HASHES
from test_engine_support import (
    SCORED_THEMES,
    SCORING_DIR,
    best_answers,
    catalogue,
    incident,
    latest_default,
    question_ids,
    request,
)
from test_score_api_company_sources import LAB_REPORT, POLICY_PAGE, answered_draft, put_p1, scored
from tests.scoring.ruleset_helpers import choose

from hrdd.scoring import service
from hrdd.scoring.adapters import company_site, unsourced
from hrdd.scoring.engine import score
from hrdd.scoring.inputs import AnswerInput
from hrdd.scoring.rules import (
    RuleSet,
    RuleSetError,
    load_ruleset_file,
    parse_ruleset,
    questionnaire_problems,
)
from hrdd.vocab import EvidenceType, FulfilmentStatus, SourceClass

PUBLISHED_HASHES = {
    **EARLIER_HASHES,
    6: "2fa63858989ec24fc4be7cc33ffd990ecbcae783ef972ab48d357a9c68e837cd",
}
AS_OF = dt.date(2024, 6, 1)
SITE = company_site("https://www.vendor.example", ["Vendor Ltd"])
BARE_FILE = {
    "title": "Human rights policy (PDF)",
    "file_id": "5f0c3c8e-1d1e-4c55-9d8e-2b7a0d1e6f10",
}


def default(version: int) -> RuleSet:
    return load_ruleset_file(SCORING_DIR / f"default-v{version}.yaml")


def test_v7_is_the_latest_default_and_differs_from_v6_only_in_its_two_rules() -> None:
    assert latest_default().name == "default-v7.yaml"
    v6 = default(6).model_dump(mode="json")
    v7 = default(7).model_dump(mode="json")
    assert (v6.pop("version"), v7.pop("version")) == (6, 7)
    unsourced_rule = v7["say_do"].pop("unsourced_answers")
    below_rule = v7["say_do"].pop("answers_denying_evidence")
    assert {"unsourced_answers", "answers_denying_evidence"}.isdisjoint(v6["say_do"])
    assert v6 == v7
    assert unsourced_rule["fulfilment"] == "self_reported"
    assert below_rule["questions"] == {
        "R1": {"evidence_types": ["forensic_finding"], "source_classes": ["forensic_lab"]}
    }


@pytest.mark.parametrize("version", sorted(PUBLISHED_HASHES))
def test_published_versions_hash_as_they_were_published(version: int) -> None:
    ruleset = default(version)
    assert ruleset.content_hash == PUBLISHED_HASHES[version]
    assert service.content_hash(service.content_of(ruleset)) == PUBLISHED_HASHES[version]


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ([], True),
        ([BARE_FILE], True),
        # The company's own page beside a bare file: nothing checkable is independent.
        ([POLICY_PAGE, BARE_FILE], True),
        ([{**BARE_FILE, "publisher": "Example Audit LLP"}], False),
        ([{**BARE_FILE, "source": "independent"}], False),
        ([LAB_REPORT], False),
        ([BARE_FILE, LAB_REPORT], False),
        # All the company's own is the company-sources rule's case, not this one.
        ([POLICY_PAGE], False),
        ([{**BARE_FILE, "publisher": "Vendor Ltd"}], False),
        ([{**BARE_FILE, "source": "company"}], False),
    ],
)
def test_which_answers_no_source_anyone_can_check_backs(evidence, expected) -> None:
    payload = {"type": "disclosure", "level": "full", "evidence": evidence}
    assert unsourced(payload, SITE) is expected


def test_the_engine_counts_an_unsourced_answer_as_the_rule_says_and_explains_it() -> None:
    def marked(answers):
        return [
            a.model_copy(update={"unsourced": True}) if a.question_id == "P1" else a
            for a in answers
        ]

    v6, v7 = default(6), default(7)
    checked = score(request(AS_OF, best_answers(), ruleset=v7))
    under_v6 = score(request(AS_OF, marked(best_answers()), ruleset=v6))
    under_v7 = score(request(AS_OF, marked(best_answers()), ruleset=v7))

    assert under_v6.verified_commitment_score == checked.verified_commitment_score
    assert under_v6.unsourced_answers == ()
    assert under_v7.verified_commitment_score < checked.verified_commitment_score
    assert under_v7.overall > checked.overall
    assert (under_v7.unsourced_answers, under_v7.company_sourced_answers) == (("P1",), ())
    self_reported = v7.say_do.fulfilment[FulfilmentStatus.self_reported].value
    [explained] = [c for c in under_v7.contributions if c.ref == "P1"]
    assert "no source it cites names a publisher, an address or whose it is" in explained.reason
    assert f"counts at {self_reported:g}" in explained.reason
    assert sum(c.points for c in under_v7.contributions) == under_v7.overall


def test_an_answer_without_a_source_no_longer_scores_better_than_the_companys_own_page(
    client, db, tenant_a, questionnaire
):
    """The investor review: with P1 answered "full", citing the company's policy page scored
    worse than citing nothing, or than uploading the same policy as a bare file."""
    _, draft = answered_draft(db, tenant_a, questionnaire)

    def outcome(evidence: list[dict]) -> tuple[dict, dict | None]:
        assert put_p1(client, tenant_a, draft, evidence).status_code == 200
        return scored(client, tenant_a, draft)

    on_its_page, _ = outcome([POLICY_PAGE])
    without, p1 = outcome([])
    assert without["summary"]["overall"] == on_its_page["summary"]["overall"]
    assert without["summary"]["say_do_gap"] == on_its_page["summary"]["say_do_gap"] > 0
    assert without["result"]["unsourced_answers"] == ["P1"]
    assert p1 is not None and "no source it cites names a publisher" in p1["reason"]

    uploaded = client.post(
        f"/api/v1/assessments/{draft}/files",
        files={"file": ("policy.pdf", b"%PDF-1.4 the company's policy", "application/pdf")},
        headers=tenant_a.investor,
    )
    assert uploaded.status_code == 201, uploaded.text
    bare = {"title": "Human rights policy", "file_id": uploaded.json()["id"]}
    as_file, _ = outcome([bare])
    assert as_file["summary"]["overall"] == on_its_page["summary"]["overall"]
    # Saying who published it lets an independent file keep its points.
    audited, p1 = outcome([{**bare, "publisher": "Example Audit LLP"}])
    assert p1 is None  # P1 answered "full" and checkable: it adds nothing to the risk
    assert audited["summary"]["say_do_gap"] < on_its_page["summary"]["say_do_gap"]
    assert audited["result"]["unsourced_answers"] == []


def test_the_methodology_says_how_each_version_counts_unsourced_answers() -> None:
    def entry(ruleset: RuleSet) -> tuple[str, str]:
        [found] = [
            (e.value, e.why)
            for section in service.methodology(ruleset).sections
            for e in section.entries
            if e.label == "Answers citing no named source"
        ]
        return found

    assert entry(default(7)) == ("as self reported (0.5)", default(7).say_do.unsourced_answers.why)
    assert entry(default(6)) == ("keep all points", "This rule set does not weigh them.")


def test_rules_before_v7_keep_all_points_and_the_inputs_hash(client, db, tenant_a, questionnaire):
    """Under v6 an answer's lack of sources is no input: its stored scores do not read as
    "answers changed" when v7 is loaded beside it."""
    _, draft = answered_draft(db, tenant_a, questionnaire)
    listed = client.get("/api/v1/rulesets", headers=tenant_a.investor).json()["items"]
    [v6] = [item["id"] for item in listed if item["version"] == 6 and item["shared"]]
    assert choose(client, tenant_a.analyst, v6).status_code == 200

    assert put_p1(client, tenant_a, draft, [LAB_REPORT]).status_code == 200
    sourced, _ = scored(client, tenant_a, draft)
    assert put_p1(client, tenant_a, draft, []).status_code == 200
    without, p1 = scored(client, tenant_a, draft)
    assert without["summary"]["overall"] == sourced["summary"]["overall"]
    assert without["result"]["unsourced_answers"] == []
    assert p1 is None or "no source it cites" not in p1["reason"]
    # Whether it cites a checkable source is no input under v6: the hash is the same.
    assert without["summary"]["inputs_hash"] == sourced["summary"]["inputs_hash"]


def with_r1(count: int) -> list[AnswerInput]:
    """The best answers, R1 counting ``count`` allegations: at 0, the questionnaire hides R2
    (how the company responds to them)."""
    answers = [a for a in best_answers() if count > 0 or a.question_id != "R2"]
    hidden = [] if count > 0 else [AnswerInput(question_id="R2", visible=False)]
    return [*answers, *hidden, AnswerInput(question_id="R1", number=count)]


# Of minor severity, so that the score rests on the answers and shows the capped theme.
FINDINGS = [
    incident("lab-2019", dt.date(2019, 10, 1), severity=1),
    incident("lab-2021", dt.date(2021, 7, 18), severity=1),
    # Known after the scoring date: not yet a finding the answer could count.
    incident("lab-2025", dt.date(2025, 3, 1), severity=1),
    # Not confirmed by a forensic lab, or not a forensic finding: R1 is not held to them.
    incident("press-2020", dt.date(2020, 5, 1), severity=1, source=SourceClass.media_report),
    incident("suit-2019", dt.date(2019, 10, 29), type=EvidenceType.lawsuit_filed, severity=1),
]


def theme(result, name: str):
    return {t.theme: t for t in result.themes}[name]


def test_a_count_of_allegations_below_the_forensic_findings_caps_its_theme() -> None:
    v6, v7 = default(6), default(7)
    cap = v7.say_do.contradicted_theme_cap
    under_v6 = score(request(AS_OF, with_r1(0), FINDINGS, ruleset=v6))
    under_v7 = score(request(AS_OF, with_r1(0), FINDINGS, ruleset=v7))

    assert float(theme(under_v6, "allegation_response").verified) == 100
    assert under_v6.answers_denying_evidence == ()
    response = theme(under_v7, "allegation_response")
    assert float(response.verified) == cap
    assert response.capped_by == ("R1",)
    [denying] = under_v7.answers_denying_evidence
    assert (denying.question_id, denying.evidence_count, denying.incident_ids) == (
        "R1",
        2,
        ("lab-2019", "lab-2021"),
    )
    assert denying.counted == "forensic finding items with a forensic lab source"
    assert under_v7.verified_commitment_score < under_v6.verified_commitment_score
    [capped] = [c for c in under_v7.contributions if c.kind == "theme"]
    assert (
        "contradicted R1 (answered 0; the evidence holds 2 forensic finding items with a "
        "forensic lab source)" in capped.reason
    )
    assert sum(c.points for c in under_v7.contributions) == under_v7.overall


@pytest.mark.parametrize("count", [1, 2, 3])
def test_a_count_above_none_stands_even_below_the_findings(count: int) -> None:
    """It hides nothing (the response questions follow), and it may only be older than the
    latest finding: only a count of none is contradicted."""
    result = score(request(AS_OF, with_r1(count), FINDINGS, ruleset=default(7)))
    assert result.answers_denying_evidence == ()
    assert theme(result, "allegation_response").capped_by == ()


def test_a_later_scoring_date_counts_the_findings_known_by_then() -> None:
    before = score(request(dt.date(2019, 9, 1), with_r1(0), FINDINGS, ruleset=default(7)))
    assert before.answers_denying_evidence == ()
    later = score(request(dt.date(2025, 6, 1), with_r1(0), FINDINGS, ruleset=default(7)))
    [denying] = later.answers_denying_evidence
    assert denying.evidence_count == 3


def test_the_rule_names_only_number_questions_of_the_questionnaire() -> None:
    data = default(7).model_dump(mode="json")
    counted = {"evidence_types": ["forensic_finding"]}
    data["say_do"]["answers_denying_evidence"]["questions"] = {
        "ZZ9": counted,
        "R4": counted,
        "R1": counted,
    }
    ruleset = parse_ruleset(data, "own.yaml")
    numbers = {q.id for q in catalogue() if q.answer_type == "number"}
    problems = {
        p.path: p.message
        for p in questionnaire_problems(
            ruleset, question_ids(), SCORED_THEMES, number_question_ids=numbers
        )
    }
    prefix = "say_do.answers_denying_evidence.questions"
    assert "does not exist" in problems[f"{prefix}.ZZ9"]
    assert "not answered with a number" in problems[f"{prefix}.R4"]
    assert f"{prefix}.R1" not in problems


def test_an_answer_that_something_is_absent_needs_no_source(client, db, tenant_a, questionnaire):
    """The questionnaire asks no source of "no", 0 or "none identified" (the checks go in the
    comment): under v7 such an answer keeps its points with none, EU4 (not on a trade list)
    and R4 (no intimidation found) included, where "no" is the best answer."""
    _, draft = answered_draft(db, tenant_a, questionnaire)
    url = f"/api/v1/assessments/{draft}"
    for question_id in ("EU4", "R4"):
        etag = client.get(url, headers=tenant_a.investor).headers["ETag"]
        written = client.put(
            f"{url}/answers/{question_id}",
            json={"type": "disclosure", "level": "no", "comment": "Checked the lists and press"},
            headers={**tenant_a.investor, "If-Match": etag},
        )
        assert written.status_code == 200, written.text
    body, _ = scored(client, tenant_a, draft)
    assert body["result"]["unsourced_answers"] == []
    assert body["summary"]["say_do_gap"] == 0


def test_the_unsourced_rule_needs_the_company_sources_rule() -> None:
    """Alone, it would leave an answer on the company's own pages its points while halving one
    citing no named source."""
    data = default(7).model_dump(mode="json")
    del data["say_do"]["company_sourced_answers"]
    with pytest.raises(RuleSetError) as refused:
        parse_ruleset(data, "own.yaml")
    paths = {problem.path: problem.message for problem in refused.value.problems}
    assert "company_sourced_answers" in paths["say_do.unsourced_answers"]

"""From stored rows to engine inputs (hrdd.scoring.adapters): pure, no database."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from test_score_api_support import answer_payloads

from hrdd.config import PROJECT_ROOT
from hrdd.questionnaires.loader import load_questionnaire_file
from hrdd.scoring.adapters import (
    answer_inputs,
    commitment_inputs,
    company_site,
    incident_input,
    question_specs,
    reference_index,
)
from hrdd.vocab import DisclosureLevel, EvidenceStatus, FulfilmentStatus, SourceClass

WHEN = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def questionnaire():
    return load_questionnaire_file(PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml")


def records(payloads):
    return [
        SimpleNamespace(question_id=question_id, payload=payload, updated_at=WHEN)
        for question_id, payload in payloads.items()
    ]


def evidence(**fields):
    row = {
        "id": uuid.uuid4(),
        "slug": None,
        "event_date": dt.date(2021, 7, 18),
        "published_date": dt.date(2021, 7, 18),
        "type": "forensic_finding",
        "severity": 4,
        "company_role": "contributed",
        "affected_groups": ["journalists"],
        "status": "ongoing",
        "remediated_date": None,
        "sources": [],
        "company_responses": [],
        "related_listing": None,
        "closes": [],
        "updated_at": WHEN,
    }
    return SimpleNamespace(**(row | fields))


def test_specs_follow_the_questionnaire(questionnaire):
    specs = {spec.id: spec for spec in question_specs(questionnaire)}
    assert set(specs) == set(questionnaire.question_ids)
    for question in questionnaire.questions:
        spec = specs[question.id]
        assert spec.theme == question.theme
        assert spec.reverse_scored == question.reverse_scored
        if questionnaire.is_scored(question) and question.answer_type.type == "single_choice":
            assert spec.option_points == {o.id: o.points for o in question.options}
        if not questionnaire.theme(question.theme).scored:
            assert not spec.scored


def test_answers_carry_values_dates_and_visibility(questionnaire):
    payloads = answer_payloads(questionnaire, DisclosureLevel.full)
    payloads["EX5"] = {"type": "single_choice", "value": "no"}  # does not export: DD7 hidden
    answers = {a.question_id: a for a in answer_inputs(questionnaire, records(payloads))}
    assert answers["P1"].disclosure is DisclosureLevel.full
    assert answers["P1"].answered_on == WHEN.date()
    assert answers["DD6"].number == 2.0
    assert answers["G3"].options == ("independent_veto",)
    assert answers["DD7"].visible is False and answers["DD7"].disclosure is not None
    assert answers["EU6"].visible is False
    # hidden and unanswered: a marker, so the engine does not count it as missing
    assert answers["EU3b"].visible is False and answers["EU3b"].date_value is None
    assert all(a.visible for qid, a in answers.items() if qid in {"P1", "EX5", "C3a"})


def test_an_answer_is_as_recent_as_its_newest_dated_source(questionnaire):
    """Freshness is about the information: an answer typed in today from 2019 and 2021
    reports is 2021 information; one citing no dated source is as recent as its last change."""
    sources = [
        {"url": "https://example.org/a", "title": "Old report", "source_date": "2019-10-29"},
        {"url": "https://example.org/b", "title": "Newer report", "source_date": "2021-07-18"},
        {"url": "https://example.org/c", "title": "Undated page"},
    ]
    payloads = {
        "P1": {"type": "disclosure", "level": "full", "evidence": sources},
        "P2": {"type": "disclosure", "level": "full", "evidence": sources[2:]},
    }
    answers = {a.question_id: a for a in answer_inputs(questionnaire, records(payloads))}
    assert answers["P1"].answered_on == dt.date(2021, 7, 18)
    assert answers["P2"].answered_on == WHEN.date()


def test_unfit_payloads_are_left_out(questionnaire):
    payloads = {
        "P1": {"type": "single_choice", "value": "yes"},
        "P2": {"type": "disclosure", "level": "sort_of"},
        "G3": {"type": "single_choice", "value": "not_an_option"},
        "ZZ1": {"type": "disclosure", "level": "full"},
        "G1": {"type": "disclosure", "level": "partial"},
    }
    answered = {a.question_id for a in answer_inputs(questionnaire, records(payloads)) if a.visible}
    assert answered == {"G1"}


def test_incident_takes_its_most_reliable_source_and_listing():
    item = evidence(
        type="trade_restriction_listing",
        sources=[
            {"source_class": "media_report"},
            {"source_class": "court_or_government_record"},
            {"source_class": "ngo_report"},
        ],
        related_listing={"list_name": "Entity List", "federal_register_notice": "86 FR 60759"},
        company_responses=[{"kind": "public_response", "date": "2021-11-04"}],
    )
    incident = incident_input(item, {})
    assert incident.source_class is SourceClass.court_or_government_record
    assert incident.listing.list_name == "Entity List"
    assert incident.listing.reference == "86 FR 60759"
    assert incident.responses[0].date == dt.date(2021, 11, 4)
    assert incident.id == str(item.id)
    assert incident_input(evidence(slug="nso-2021"), {}).id == "nso-2021"
    unsourced = incident_input(evidence(type="sanction", sources=[]), {})
    assert unsourced.source_class is SourceClass.court_or_government_record
    assert incident_input(evidence(sources=[]), {}).source_class is SourceClass.unverified


def test_remediated_item_without_a_date_counts_from_its_last_change():
    incident = incident_input(evidence(status="remediated"), {})
    assert incident.status is EvidenceStatus.remediated
    assert incident.remediated_date == WHEN.date()


def test_closes_name_the_incidents_the_score_sees_and_drop_the_rest():
    harm, bundled = evidence(), evidence(slug="lab-finding")
    unseen = str(uuid.uuid4())  # deleted, or another organisation's
    fix = evidence(type="remediation", closes=[str(harm.id), str(bundled.id), unseen])
    index = reference_index([harm, bundled, fix])
    assert incident_input(fix, index).closes == tuple(sorted((str(harm.id), "lab-finding")))
    assert incident_input(fix, {}).closes == ()


def test_commitments_resolve_contradictions_by_uuid_or_slug():
    by_uuid, by_slug = evidence(), evidence(slug="lab-finding")
    index = reference_index([by_uuid, by_slug])
    claims = [
        SimpleNamespace(
            id=uuid.uuid4(),
            slug="vetting-claim",
            date=dt.date(2020, 1, 1),
            question_ids=["EU1", "NOPE"],
            fulfilment="contradicted",
            contradicted_by=[str(by_uuid.id), "lab-finding"],
        ),
        SimpleNamespace(
            id=uuid.uuid4(),
            slug=None,
            date=dt.date(2020, 1, 1),
            question_ids=["DD1"],
            fulfilment="contradicted",
            contradicted_by=[str(uuid.uuid4())],  # not in effect for this organisation
        ),
        SimpleNamespace(
            id=uuid.uuid4(),
            slug=None,
            date=dt.date(2020, 1, 1),
            question_ids=["NOPE"],
            fulfilment="verified",
            contradicted_by=[],
        ),
    ]
    first, second = commitment_inputs(claims, {"EU1", "DD1"}, index, FulfilmentStatus.self_reported)
    assert first.id == "vetting-claim" and first.question_ids == ("EU1",)
    assert set(first.contradicted_by) == {str(by_uuid.id), "lab-finding"}
    assert second.fulfilment is FulfilmentStatus.self_reported
    assert second.contradicted_by == ()


# --- whose sources an answer cites ------------------------------------------------------------


@pytest.mark.parametrize(
    ("evidence_items", "website", "company_only"),
    [
        ([{"url": "https://www.nsogroup.com/governance/human-rights-policy/"}], None, False),
        ([{"url": "https://www.nsogroup.com/governance/"}], "https://www.nsogroup.com", True),
        ([{"url": "https://nsogroup.com/a"}], "https://www.nsogroup.com/", True),
        ([{"url": "https://investors.nsogroup.com/report.pdf"}], "https://nsogroup.com", True),
        ([{"url": "https://notnsogroup.com/a"}], "https://nsogroup.com", False),
        ([{"url": "https://citizenlab.ca/2018/09/"}], "https://nsogroup.com", False),
        (
            [{"url": "https://nsogroup.com/a"}, {"url": "https://citizenlab.ca/2018/09/"}],
            "https://nsogroup.com",
            False,
        ),
        ([{"url": "https://example.org/letter", "source": "company"}], None, True),
        (
            [{"url": "https://nsogroup.com/audit", "source": "independent"}],
            "https://nsogroup.com",
            False,
        ),
        ([{"file_id": str(uuid.uuid4())}], "https://nsogroup.com", False),
        ([{"url": "https://www.nsogroup.com./policy"}], "https://nsogroup.com", True),
        (
            [{"url": "https://web.archive.org/web/20210101000000/https://www.nsogroup.com/p"}],
            "https://www.nsogroup.com",
            True,
        ),
        (
            [{"url": "https://web.archive.org/web/2021/nsogroup.com/p"}],
            "https://nsogroup.com",
            True,
        ),
        (
            [{"url": "https://web.archive.org/web/2021/https://citizenlab.ca/p"}],
            "https://nsogroup.com",
            False,
        ),
        # An archived address that does not parse is simply not the company's.
        (
            [{"url": "https://web.archive.org/web/2020/https://[::1/x"}],
            "https://nsogroup.com",
            False,
        ),
        ([{"url": "https://web.archive.org/web/2020/["}], "https://nsogroup.com", False),
        # A site on a shared host is the pages below its path, not the whole host.
        ([{"url": "https://github.com/citizenlab/indicators"}], "https://github.com/vendor", False),
        ([{"url": "https://github.com/Vendor/policy.md"}], "https://github.com/vendor/", True),
        ([{"url": "https://github.com/vendorx/policy"}], "https://github.com/vendor", False),
        ([], "https://nsogroup.com", False),
        # An uploaded reply the company published counts as its own, by name or alias, with or
        # without a website on record; another publisher's file does not.
        ([{"file_id": str(uuid.uuid4()), "publisher": "NSO Group"}], None, True),
        (
            [{"file_id": str(uuid.uuid4()), "publisher": " nso  group technologies LIMITED "}],
            "https://nsogroup.com",
            True,
        ),
        ([{"file_id": str(uuid.uuid4()), "publisher": "Citizen Lab"}], None, False),
        ([{"file_id": str(uuid.uuid4()), "publisher": "NSO"}], None, False),
        (
            [{"file_id": str(uuid.uuid4()), "publisher": "NSO Group", "source": "independent"}],
            None,
            False,
        ),
    ],
)
def test_an_answer_is_company_sourced_when_every_source_is_the_companys(
    questionnaire, evidence_items, website, company_only
):
    payload = {
        "type": "disclosure",
        "level": "full",
        "evidence": [{"title": "A source", **item} for item in evidence_items],
    }
    [p1] = [
        a
        for a in answer_inputs(
            questionnaire,
            records({"P1": payload}),
            company_site(website, ["NSO Group Technologies Limited", "NSO Group"]),
        )
        if a.question_id == "P1"
    ]
    assert p1.company_sources_only is company_only

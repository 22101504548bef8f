"""Malformed evidence files are rejected with every problem named by file, item id and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hrdd.evidence.content import (
    EvidenceFileError,
    EvidenceProblem,
    load_evidence_dir,
    load_evidence_file,
    parse_evidence_document,
)
from hrdd.vocab import FulfilmentStatus

VALID = """\
company:
  slug: acme
  name: Acme Surveillance Ltd
  country: IL
  categories: [spyware_intrusion]
  listing_status: listed
  identifiers:
    isins: [US0378331005]
    lei: 5493001KJTIIGC8Y1R12
    tickers: ["NASDAQ:ACME"]
incidents:
  - id: acme-2021-01-forensic
    event_date: 2021-01-01
    event_date_precision: month
    published_date: 2021-02-03
    type: forensic_finding
    title: Spyware found on a journalist's phone
    summary: A lab found the company's spyware on the phone of a journalist.
    affected_groups: [journalists]
    countries: [MX]
    severity: 4
    severity_rationale: A journalist's communications were exposed.
    company_role: contributed
    role_rationale: The company sold the spyware.
    status: ongoing
    sources:
      - publisher: Example Lab
        title: A report
        date: 2021-02-03
        url: https://lab.example.org/report
        source_class: forensic_lab
commitments:
  - id: acme-2020-policy
    date: 2020-06-01
    title: Human rights policy
    claim: The company promised to vet every customer.
    source:
      publisher: Acme
      title: Our policy
      date: 2020-06-01
      url: https://acme.example.com/policy
    question_ids: [P1, EU1]
    fulfilment: contradicted
    fulfilment_rationale: The lab's finding shows the vetting failed.
    contradicted_by: [acme-2021-01-forensic]
"""


def problems_of(text: str, source_name: str = "acme.yaml") -> list[EvidenceProblem]:
    with pytest.raises(EvidenceFileError) as caught:
        parse_evidence_document(text, source_name)
    return list(caught.value.problems)


def find(problems: list[EvidenceProblem], path: str) -> EvidenceProblem:
    matching = [problem for problem in problems if problem.path == path]
    assert matching, f"no problem at {path}: {[str(problem) for problem in problems]}"
    return matching[0]


def test_the_reference_document_is_valid() -> None:
    document = parse_evidence_document(VALID, "acme.yaml")

    assert document.company.slug == "acme"
    assert document.commitments[0].fulfilment is FulfilmentStatus.contradicted
    assert document.incident("acme-2021-01-forensic").published_date == dt.date(2021, 2, 3)


def test_bad_isin_is_named_with_file_item_and_field() -> None:
    problem = find(
        problems_of(VALID.replace("US0378331005", "US0378331006")), "company.identifiers.isins[0]"
    )

    assert problem.file == "acme.yaml"
    assert problem.item_id == "acme"
    assert "ISIN" in problem.message
    assert problem.line == 8


def test_bad_lei_check_digits_are_rejected() -> None:
    problem = find(
        problems_of(VALID.replace("5493001KJTIIGC8Y1R12", "5493001KJTIIGC8Y1R13")),
        "company.identifiers.lei",
    )

    assert problem.item_id == "acme"
    assert "LEI" in problem.message


def test_unknown_evidence_type_is_rejected() -> None:
    problem = find(
        problems_of(VALID.replace("type: forensic_finding", "type: rumour")), "incidents[0].type"
    )

    assert problem.item_id == "acme-2021-01-forensic"
    assert "forensic_finding" in problem.message


def test_severity_above_five_is_rejected() -> None:
    problem = find(
        problems_of(VALID.replace("severity: 4", "severity: 6")), "incidents[0].severity"
    )

    assert problem.item_id == "acme-2021-01-forensic"
    assert "5" in problem.message


def test_contradicted_by_must_name_an_incident_of_the_file() -> None:
    text = VALID.replace("contradicted_by: [acme-2021-01-forensic]", "contradicted_by: [acme-nope]")
    problem = find(problems_of(text), "commitments[0].contradicted_by[0]")

    assert problem.item_id == "acme-2020-policy"
    assert "acme-nope" in problem.message


def test_duplicate_id_within_a_file_is_rejected() -> None:
    text = VALID.replace("  - id: acme-2020-policy", "  - id: acme-2021-01-forensic")
    text = text.replace("contradicted_by: [acme-2021-01-forensic]", "contradicted_by: []")
    text = text.replace("fulfilment: contradicted", "fulfilment: self_reported")
    problem = find(problems_of(text), "commitments[0].id")

    assert problem.item_id == "acme-2021-01-forensic"
    assert "duplicate" in problem.message


def test_duplicate_id_across_files_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(VALID, encoding="utf-8")
    other = VALID.replace("slug: acme", "slug: acme-two").replace("US0378331005", "CH0038863350")
    other = other.replace("    lei: 5493001KJTIIGC8Y1R12\n", "").replace("NASDAQ:ACME", "SIX:ACME")
    (tmp_path / "acme-two.yaml").write_text(other, encoding="utf-8")

    with pytest.raises(EvidenceFileError) as caught:
        load_evidence_dir(tmp_path)

    problem = find(list(caught.value.problems), "incidents[0].id")
    assert problem.file == "acme.yaml"
    assert problem.item_id == "acme-2021-01-forensic"
    assert "acme-two.yaml" in problem.message


def test_non_http_url_is_rejected() -> None:
    text = VALID.replace("https://lab.example.org/report", "javascript:alert(1)")
    problem = find(problems_of(text), "incidents[0].sources[0].url")

    assert problem.item_id == "acme-2021-01-forensic"
    assert "http" in problem.message


def test_yaml_syntax_error_reports_the_line() -> None:
    text = VALID.replace("categories: [spyware_intrusion]", "categories: [spyware_intrusion")
    (problem,) = problems_of(text)

    assert problem.file == "acme.yaml"
    assert "YAML syntax error" in problem.message
    assert problem.line is not None and problem.line >= 5


def test_a_control_character_is_refused_with_its_line() -> None:
    text = VALID.replace("  name: Acme Surveillance Ltd\n", "  name: Acme\x00 Surveillance Ltd\n")
    (problem,) = problems_of(text)

    assert problem.file == "acme.yaml"
    assert problem.line == VALID.splitlines().index("  name: Acme Surveillance Ltd") + 1
    assert "U+0000" in problem.message


def test_duplicate_yaml_key_is_rejected_with_its_line() -> None:
    text = VALID.replace("  name: Acme Surveillance Ltd\n", "  name: Acme\n  name: Acme Two\n")
    (problem,) = problems_of(text)

    assert problem.path == "company"
    assert "'name' appears twice" in problem.message
    assert problem.line == 4


def test_all_problems_of_a_file_are_reported_together() -> None:
    text = VALID.replace("US0378331005", "US0378331006").replace("severity: 4", "severity: 6")
    text = text.replace("contradicted_by: [acme-2021-01-forensic]", "contradicted_by: [acme-nope]")
    paths = {problem.path for problem in problems_of(text)}

    assert {
        "company.identifiers.isins[0]",
        "incidents[0].severity",
        "commitments[0].contradicted_by[0]",
    } <= paths


def test_unknown_keys_are_rejected() -> None:
    text = VALID.replace("    severity: 4\n", "    severity: 4\n    sevrity_note: typo\n")
    problem = find(problems_of(text), "incidents[0].sevrity_note")

    assert problem.item_id == "acme-2021-01-forensic"


def test_month_precision_requires_the_first_day_of_the_month() -> None:
    text = VALID.replace("event_date: 2021-01-01", "event_date: 2021-01-15")
    problem = find(problems_of(text), "incidents[0].event_date")

    assert "2021-01-01" in problem.message


def test_a_listing_incident_needs_its_list_entry() -> None:
    text = VALID.replace("type: forensic_finding", "type: trade_restriction_listing")
    problem = find(problems_of(text), "incidents[0].related_listing")

    assert problem.item_id == "acme-2021-01-forensic"


def test_file_name_must_be_the_company_slug(tmp_path: Path) -> None:
    path = tmp_path / "not-acme.yaml"
    path.write_text(VALID, encoding="utf-8")

    with pytest.raises(EvidenceFileError) as caught:
        load_evidence_file(path)

    problem = find(list(caught.value.problems), "company.slug")
    assert problem.file == "not-acme.yaml"


def test_already_parsed_data_with_text_dates_is_accepted() -> None:
    data = {
        "company": {
            "slug": "acme",
            "name": "Acme",
            "country": "IL",
            "listing_status": "private",
        },
        "ownership": [
            {
                "owner_name": "Example Partners",
                "owner_kind": "private_equity",
                "start": "2019-02-01",
                "start_precision": "month",
                "sources": [
                    {
                        "publisher": "Example News",
                        "title": "Fund buys Acme",
                        "date": "2019-02-18",
                        "url": "https://news.example.com/acme",
                    }
                ],
            }
        ],
    }

    document = parse_evidence_document(data, "request body")

    assert document.ownership[0].start == dt.date(2019, 2, 1)


def test_the_same_isin_in_two_files_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(VALID, encoding="utf-8")
    other = VALID.replace("slug: acme", "slug: acme-two").replace("acme-20", "acmetwo-20")
    other = other.replace("    lei: 5493001KJTIIGC8Y1R12\n", "").replace("NASDAQ:ACME", "SIX:ACME")
    (tmp_path / "acme-two.yaml").write_text(other, encoding="utf-8")

    with pytest.raises(EvidenceFileError) as caught:
        load_evidence_dir(tmp_path)

    (problem,) = caught.value.problems
    assert problem.file == "acme.yaml"
    assert problem.path == "company.identifiers.isins[0]"
    assert "acme-two.yaml" in problem.message


PUBLISHED_LINE = VALID.splitlines().index("    published_date: 2021-02-03") + 1


@pytest.mark.parametrize(
    ("written", "shown", "example"),
    [
        ("2021-02-03T00:00:00", "'2021-02-03T00:00:00'", "2021-02-03"),  # a YAML timestamp
        ("'2021-02-03T00:00:00'", "'2021-02-03T00:00:00'", "2021-02-03"),
        ("'1612310400'", "'1612310400'", "2021-12-31"),  # Unix seconds as text
        ("1612310400", "1612310400", "2021-12-31"),
    ],
)
def test_a_date_not_written_yyyy_mm_dd_is_named(written: str, shown: str, example: str) -> None:
    """Numbers were refused already; a YAML timestamp and Unix seconds as text were read as
    a day."""
    text = VALID.replace("    published_date: 2021-02-03", f"    published_date: {written}")
    problem = find(problems_of(text), "incidents[0].published_date")
    assert problem.message == f"{shown} is not a date: write it as YYYY-MM-DD, e.g. {example}"
    assert problem.line == PUBLISHED_LINE


def test_an_unquoted_day_no_calendar_has_is_named_at_its_line() -> None:
    """PyYAML stops on an unquoted 2021-02-30 with a bare ValueError, which the loader did not
    catch."""
    text = VALID.replace("    published_date: 2021-02-03", "    published_date: 2021-02-30")
    [problem] = problems_of(text)
    assert "'2021-02-30' is not a valid date: day is out of range for month" in problem.message
    assert problem.line == PUBLISHED_LINE

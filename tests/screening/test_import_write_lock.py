"""A screening import parses and matches its file before its write begins: on SQLite a write
holds the database's one write lock from its first query, and a list at the row limit took
about 30 s to parse and match, during which every other organisation's writes waited (503).
The write then re-checks what may have changed since the file was read: the list's latest
snapshot, analysts' rejections, the companies."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from screening_helpers import ENTITY_LIST, csl_file, upload_file
from sqlalchemy import delete, select, update
from tests.conftest import shared_company

from hrdd.auth.service import Principal
from hrdd.companies.models import Company
from hrdd.db import SYSTEM, Database, TenantContext
from hrdd.evidence.models import EvidenceItem
from hrdd.screening import service
from hrdd.screening.matching import Matcher
from hrdd.screening.models import ScreeningImport, ScreeningMatch
from hrdd.screening.parsers import ScreeningReader
from hrdd.vocab import Role

IMPORTS = "/api/v1/screening/imports"
# As imported, before a test wraps it: what another request runs.
READ = service.read_screening_file


def between_read_and_write(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` (another request's committed work) once the file is read and matched,
    before the import's write begins."""

    def reading(*args: Any, **kwargs: Any) -> service.ScreeningFile:
        file = READ(*args, **kwargs)
        action()
        return file

    monkeypatch.setattr(service, "read_screening_file", reading)


def post(client: Any, headers: dict[str, str], content: bytes, snapshot_date: str) -> Any:
    return client.post(
        IMPORTS,
        files={"file": ("consolidated.csv", content, "text/csv")},
        data={"snapshot_date": snapshot_date},
        headers=headers,
    )


def import_directly(db: Database, tenant: Any, content: bytes, snapshot_date: str) -> uuid.UUID:
    """An import of the same organisation committed by another request, as the API runs it."""
    organisation = TenantContext(tenant.organisation_id)
    with (
        READ(
            db.session(organisation),
            io.BytesIO(content),
            file_name="other.csv",
            snapshot_date=dt.date.fromisoformat(snapshot_date),
            max_rows=1000,
        ) as file,
        db.session(organisation, write=True) as session,
    ):
        importer = service.Importer(tenant.organisation_id, None, "another request")
        return service.import_screening_file(session, importer, file).id


def analyst(tenant: Any) -> Principal:
    return Principal(
        tenant.key_ids[Role.analyst], "analyst", Role.analyst, tenant.organisation_id, tenant.name
    )


def screening_items(db: Database, company_id: str) -> list[EvidenceItem]:
    with db.session(SYSTEM) as session:
        return list(
            session.scalars(
                select(EvidenceItem).where(
                    EvidenceItem.company_id == uuid.UUID(company_id),
                    EvidenceItem.screening_record_key.is_not(None),
                )
            )
        )


@pytest.fixture
def write_begun(write_sessions: list[Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """For every record the parser gives and the matcher decides, whether a write session had
    begun by then."""
    begun: list[bool] = []
    parse, match = ScreeningReader.__iter__, Matcher.match_many

    def parsing(self: ScreeningReader) -> Iterator[Any]:
        for record in parse(self):
            begun.append(any(session.in_transaction() for session in write_sessions))
            yield record

    def matching(self: Matcher, records: Any) -> Iterator[Any]:
        for decided in match(self, records):
            begun.append(any(session.in_transaction() for session in write_sessions))
            yield decided

    monkeypatch.setattr(ScreeningReader, "__iter__", parsing)
    monkeypatch.setattr(Matcher, "match_many", matching)
    yield begun


def test_the_file_is_parsed_and_matched_before_the_write_begins(
    client, db, tenant_a, write_begun, write_sessions
):
    """The security test: the import read the previous snapshot (beginning its write) before
    parsing the file, and parsed and matched it inside the write, holding every other
    organisation's writes for the whole file. None is begun now until the file is matched; the
    import then writes as before."""
    shared_company(db, "Acme Robotics")
    content = csl_file(
        [("k1", "Acme Robotics Ltd", ENTITY_LIST), ("k2", "Unrelated Party", ENTITY_LIST)],
        "2020-01-01",
    )
    run = upload_file(client, tenant_a.analyst, content)
    # Both records went through the parser and the matcher, with no write begun.
    assert len(write_begun) == 4
    assert not any(write_begun)
    assert write_sessions, "the import wrote through a write session"
    assert (run["rows_total"], run["name_matches"], run["evidence_created"]) == (2, 1, 1)


def test_a_bad_line_is_refused_before_the_write_begins(client, tenant_a, write_begun):
    """All or nothing still, and found with no write begun: nothing of the file is kept."""
    content = csl_file([("k1", "Listed Party", ENTITY_LIST)], "2020-01-01") + b'"short"\n'
    response = post(client, tenant_a.analyst, content, "2024-10-01")
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["file.line.3"]
    assert write_begun == [False]  # the good line was parsed; its batch never reached the matcher
    assert client.get(IMPORTS, headers=tenant_a.analyst).json()["items"] == []


def test_a_pair_rejected_in_between_does_not_become_evidence(client, db, tenant_a, monkeypatch):
    """An analyst rejects a queued near match while the next snapshot, which names the company
    exactly, is being matched: the rejection stands, as if it had come first."""
    acme = shared_company(db, "Acme Robotics")
    upload_file(
        client,
        tenant_a.analyst,
        csl_file([("k1", "Acme Robotix", ENTITY_LIST)], "2020-01-01"),
        snapshot_date="2024-09-01",
    )
    queued = client.get(f"{IMPORTS[:-8]}/matches", headers=tenant_a.analyst).json()["items"]
    assert [(m["record_key"], m["company_id"], m["status"]) for m in queued] == [
        ("k1", acme, "pending")
    ]

    def reject() -> None:
        with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
            match = service.get_match(session, uuid.UUID(queued[0]["id"]))
            service.reject_match(session, analyst(tenant_a), match)

    between_read_and_write(monkeypatch, reject)
    run = upload_file(
        client,
        tenant_a.analyst,
        csl_file([("k1", "Acme Robotics Ltd", ENTITY_LIST)], "2020-01-01"),
        snapshot_date="2024-10-01",
    )
    assert (run["name_matches"], run["evidence_created"], run["review_queued"]) == (0, 0, 0)
    assert screening_items(db, acme) == []


def test_a_record_whose_pair_was_rejected_in_between_is_decided_again(
    client, db, tenant_a, monkeypatch
):
    """A record naming two companies exactly waits for review; once one of the pairs is
    rejected, the other is its one exact match, which is automatic. A rejection made while the
    file was being matched counts so too."""
    acme = shared_company(db, "Acme Robotics")
    other = shared_company(db, "Orbital Drones", aliases=["Acme Robotics AG"])
    listed = csl_file([("k1", "Acme Robotics Ltd", ENTITY_LIST)], "2020-01-01")
    first = upload_file(client, tenant_a.analyst, listed, snapshot_date="2024-09-01")
    assert (first["name_matches"], first["review_queued"]) == (0, 2)
    queued = client.get(f"{IMPORTS[:-8]}/matches", headers=tenant_a.analyst).json()["items"]
    (acme_match,) = [m for m in queued if m["company_id"] == acme]

    def reject() -> None:
        with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
            match = service.get_match(session, uuid.UUID(acme_match["id"]))
            service.reject_match(session, analyst(tenant_a), match)

    between_read_and_write(monkeypatch, reject)
    run = upload_file(client, tenant_a.analyst, listed, snapshot_date="2024-10-01")
    assert (run["name_matches"], run["evidence_created"]) == (1, 1)
    assert screening_items(db, acme) == []
    assert [item.screening_record_key for item in screening_items(db, other)] == ["k1"]


@pytest.mark.parametrize("change", ["rename", "delete", "add"])
def test_a_company_changed_in_between_makes_the_import_a_conflict(
    client, db, tenant_a, monkeypatch, change
):
    """The review: a company renamed while the file was matched still got a listing saying
    it matched by its old name. The matches rest on the registry as it was read: any company
    added, renamed, removed or given other codes since makes the import a 409, and nothing of
    it is kept."""
    acme = shared_company(db, "Acme Robotics")
    shared_company(db, "Beta Sensors")

    def change_registry() -> None:
        with db.session(SYSTEM, write=True) as session:
            if change == "rename":
                session.execute(
                    update(Company).where(Company.id == uuid.UUID(acme)).values(name="Zenith")
                )
            elif change == "delete":
                session.execute(delete(Company).where(Company.id == uuid.UUID(acme)))
        if change == "add":
            shared_company(db, "Gamma Optics")

    between_read_and_write(monkeypatch, change_registry)
    response = post(
        client,
        tenant_a.analyst,
        csl_file(
            [("k1", "Acme Robotics Ltd", ENTITY_LIST), ("k2", "Beta Sensors GmbH", ENTITY_LIST)],
            "2020-01-01",
        ),
        "2024-10-01",
    )
    assert response.status_code == 409, response.text
    assert "the companies changed while the file was being matched" in response.json()["detail"]
    assert client.get(IMPORTS, headers=tenant_a.analyst).json()["items"] == []
    with db.session(SYSTEM) as session:
        assert session.scalars(select(ScreeningMatch.company_id)).all() == []


def test_a_later_snapshot_landing_in_between_is_a_conflict(client, db, tenant_a, monkeypatch):
    """Snapshots of a list come in date order: one dated later, imported while this one was
    read, makes this one a 409, and nothing of it is kept."""
    content = csl_file([("k1", "Listed Party", ENTITY_LIST)], "2020-01-01")
    later: list[uuid.UUID] = []
    between_read_and_write(
        monkeypatch, lambda: later.append(import_directly(db, tenant_a, content, "2024-11-01"))
    )
    response = post(client, tenant_a.analyst, content, "2024-10-01")
    assert response.status_code == 409, response.text
    assert "a later snapshot of 'csl' (dated 2024-11-01)" in response.json()["detail"]
    runs = client.get(IMPORTS, headers=tenant_a.analyst).json()["items"]
    assert [run["id"] for run in runs] == [str(later[0])]


def test_an_earlier_snapshot_landing_in_between_is_the_one_followed(
    client, db, tenant_a, monkeypatch
):
    """Two imports of one list: the one that writes second follows the one that wrote first,
    not the snapshot both saw when they read their files, so additions and removals are
    counted against it (and it is not followed twice)."""
    first = upload_file(
        client,
        tenant_a.analyst,
        csl_file(
            [("k1", "Party One", ENTITY_LIST), ("k2", "Party Two", ENTITY_LIST)], "2020-01-01"
        ),
        snapshot_date="2024-09-01",
    )
    between: list[uuid.UUID] = []
    middle = csl_file(
        [
            ("k1", "Party One", ENTITY_LIST),
            ("k3", "Party Three", ENTITY_LIST),
            ("k4", "Party Four", ENTITY_LIST),
        ],
        "2020-01-01",
    )
    between_read_and_write(
        monkeypatch, lambda: between.append(import_directly(db, tenant_a, middle, "2024-09-15"))
    )
    run = upload_file(
        client,
        tenant_a.analyst,
        csl_file(
            [("k2", "Party Two", ENTITY_LIST), ("k3", "Party Three", ENTITY_LIST)], "2020-01-01"
        ),
        snapshot_date="2024-10-01",
    )
    assert run["previous_import_id"] == str(between[0])
    # Against k1, k3, k4: k2 is back, k1 and k4 went (against the first: k3 new, k1 gone).
    assert (run["rows_added"], run["rows_removed"]) == (1, 2)
    with db.session(SYSTEM) as session:
        followed = session.get(ScreeningImport, between[0])
        assert followed is not None and followed.previous_import_id == uuid.UUID(first["id"])

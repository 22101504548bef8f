"""Questionnaire versions in the database: loading the bundled files, uploads, look-ups.

Bundled versions are shared reference data (no organisation); a version published through the
API is private to its organisation, so no organisation changes what another one's assessments,
templates and reports use. A version is identified by its key and semantic version (an
organisation's own before a shared one of the same number); once an assessment uses it, it is
frozen and its content can never change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrdd.audit import service as audit
from hrdd.auth.service import Principal
from hrdd.caching import BoundedCache
from hrdd.config import Settings
from hrdd.db import SYSTEM, Database, get_tenant, reusable, shared_write, utcnow
from hrdd.errors import Conflict, Invalid, NotFound, ProblemDetail
from hrdd.http import PageParams, paginate
from hrdd.questionnaires.loader import (
    QuestionnaireError,
    QuestionnaireProblem,
    load_questionnaire_dir,
    parse_questionnaire,
)
from hrdd.questionnaires.models import QuestionnaireSource, QuestionnaireVersion
from hrdd.questionnaires.schemas import Questionnaire, semver_sort_key

AUDIT_ENTITY = "questionnaire_version"

# Parsed questionnaires by version id and content hash: a version's content never changes once
# it is frozen (and a change before that changes the hash), and re-reading ~45 KB of JSON and
# re-validating ~45 questions on every request would be wasted work.
_parsed: BoundedCache[tuple[uuid.UUID, str], Questionnaire] = BoundedCache(max_entries=64)
_HEADER_COLUMNS = (
    QuestionnaireVersion.id,
    QuestionnaireVersion.key,
    QuestionnaireVersion.version,
    QuestionnaireVersion.title,
    QuestionnaireVersion.content_hash,
)


@dataclass(frozen=True)
class VersionHeader:
    """A stored version without its content: read in one light query."""

    id: uuid.UUID
    key: str
    version: str
    title: str
    content_hash: str


def problems_as_invalid(error: QuestionnaireError, detail: str, *, root: str = "body") -> Invalid:
    """A loader error as a 422: one entry per problem, the path naming the question and field
    (`questions.EU4.answer_type.options`), or ``root`` (the request part that held the
    document) for a problem with the document as a whole; the message names the file and
    line."""
    return Invalid(
        f"{detail}: {len(error.problems)} problem(s); first: {error.problems[0]}",
        errors=[_problem_detail(problem, root) for problem in error.problems],
    )


def _problem_detail(problem: QuestionnaireProblem, root: str) -> ProblemDetail:
    if problem.question_id is not None:
        path = f"questions.{problem.question_id}" + (f".{problem.path}" if problem.path else "")
    else:
        path = problem.path or root
    where = problem.source if problem.line is None else f"{problem.source} line {problem.line}"
    return ProblemDetail(path=path, message=f"{where}: {problem.message}")


def questionnaire_of(row: QuestionnaireVersion) -> Questionnaire:
    """The validated questionnaire a stored version holds."""
    cached = _parsed.get((row.id, row.content_hash))
    if cached is not None:
        return cached
    questionnaire = parse_questionnaire(row.content, source_name=f"{row.key} {row.version}")
    _parsed.put((row.id, row.content_hash), questionnaire)
    return questionnaire


_HEADER_BY_ID = reusable(
    select(*_HEADER_COLUMNS).where(QuestionnaireVersion.id == bindparam("version_id"))
)


def version_header(session: Session, version_id: uuid.UUID) -> VersionHeader:
    found = session.execute(_HEADER_BY_ID, {"version_id": version_id}).first()
    if found is None:
        raise NotFound(f"no questionnaire version {version_id}")
    return VersionHeader(*found)


def version_headers(session: Session, version_ids: Iterable[uuid.UUID]) -> list[VersionHeader]:
    wanted = set(version_ids)
    if not wanted:
        return []
    statement = select(*_HEADER_COLUMNS).where(QuestionnaireVersion.id.in_(wanted))
    return [VersionHeader(*found) for found in session.execute(statement)]


def questionnaire_at(session: Session, header: VersionHeader) -> Questionnaire:
    """The validated questionnaire of a version; its content is read only when this process
    has not parsed that version's content yet."""
    cached = _parsed.get((header.id, header.content_hash))
    if cached is not None:
        return cached
    return questionnaire_of(get_version_by_id(session, header.id))


def questionnaire_by_id(session: Session, version_id: uuid.UUID) -> Questionnaire:
    return questionnaire_at(session, version_header(session, version_id))


def _visible_first(session: Session, statement: Select[Any]) -> Select[Any]:
    """``statement`` over versions, the caller's organisation's own first (the tenant filter
    shows a tenant its own and the shared ones); the system (loader, CLI) sees the shared ones
    only, never one organisation's."""
    tenant = get_tenant(session)
    if tenant is None or tenant.system:
        return statement.where(QuestionnaireVersion.organisation_id.is_(None))
    return statement.order_by(QuestionnaireVersion.organisation_id.is_(None))


def questionnaire_by_key(session: Session, key: str, version: str) -> Questionnaire:
    found = session.execute(
        _visible_first(
            session,
            select(*_HEADER_COLUMNS).where(
                QuestionnaireVersion.key == key, QuestionnaireVersion.version == version
            ),
        )
    ).first()
    if found is None:
        raise NotFound(f"no questionnaire {key} version {version}")
    return questionnaire_at(session, VersionHeader(*found))


def content_of(questionnaire: Questionnaire) -> dict[str, Any]:
    return questionnaire.model_dump(mode="json", by_alias=True, exclude_none=True)


def get_version(session: Session, key: str, version: str) -> QuestionnaireVersion:
    row = session.scalars(
        _visible_first(
            session,
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.key == key, QuestionnaireVersion.version == version
            ),
        )
    ).first()
    if row is None:
        raise NotFound(f"no questionnaire {key} version {version}")
    return row


def get_version_by_id(session: Session, version_id: uuid.UUID) -> QuestionnaireVersion:
    row = session.get(QuestionnaireVersion, version_id)
    if row is None:
        raise NotFound(f"no questionnaire version {version_id}")
    return row


def latest_version(session: Session, key: str) -> QuestionnaireVersion:
    """The highest release by semver precedence among the shared versions and the caller's
    organisation's own (its own first at an equal number); pre-releases (1.1.0-rc.1) only
    when the key has no release at all, so a draft version is never picked by default."""
    rows = list(
        session.scalars(
            _visible_first(
                session, select(QuestionnaireVersion).where(QuestionnaireVersion.key == key)
            )
        )
    )
    if not rows:
        raise NotFound(f"no questionnaire {key}")
    releases = [row for row in rows if "-" not in row.version.split("+")[0]]
    return max(
        releases or rows,
        key=lambda row: (semver_sort_key(row.version), row.organisation_id is not None),
    )


def only_key(session: Session) -> str:
    """The key of the one questionnaire the caller sees; a 422 at ``questionnaire_key`` naming
    them when there are several (or none), so a client never gets one it did not choose."""
    keys = sorted(set(session.scalars(_visible_first(session, select(QuestionnaireVersion.key)))))
    if len(keys) != 1:
        raise Invalid.at(
            "questionnaire_key",
            f"name the questionnaire: there are {len(keys)} ({', '.join(keys) or 'none'})",
        )
    return keys[0]


def list_versions(
    session: Session, key: str | None, page: PageParams
) -> tuple[list[QuestionnaireVersion], str | None]:
    statement = select(QuestionnaireVersion)
    if key:
        statement = statement.where(QuestionnaireVersion.key == key)
    return paginate(
        session,
        statement,
        [QuestionnaireVersion.key, QuestionnaireVersion.created_at, QuestionnaireVersion.id],
        page,
    )


def freeze(session: Session, row: QuestionnaireVersion) -> None:
    """Called when an assessment starts using the version: its content is fixed from now on.
    A statement rather than a change to the object: a tenant session may not change a shared
    row, and this is the one change every organisation's use makes to it."""
    if row.frozen:
        return
    session.execute(
        shared_write(
            update(QuestionnaireVersion)
            .where(QuestionnaireVersion.id == row.id)
            .values(frozen=True, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    session.expire(row, ["frozen", "updated_at"])


def parse_upload(data: Mapping[str, Any] | str, source_name: str, root: str) -> Questionnaire:
    """Validate an uploaded questionnaire exactly as the loader validates bundled files;
    ``root`` is the request part it came in (``file`` or ``body``)."""
    try:
        return parse_questionnaire(data, source_name=source_name)
    except QuestionnaireError as exc:
        raise problems_as_invalid(
            exc, f"the questionnaire in {source_name} is not valid", root=root
        ) from exc


def publish_version(
    session: Session, questionnaire: Questionnaire, actor: Principal
) -> QuestionnaireVersion:
    """Store an uploaded version, private to the publisher's organisation. A key and version
    it sees already (its own or a shared one) are never overwritten: publish a new version
    instead (409)."""
    existing = session.scalar(
        select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.key == questionnaire.key,
            QuestionnaireVersion.version == questionnaire.version,
        )
    )
    if existing is not None:
        raise Conflict(
            f"questionnaire {questionnaire.key} version {questionnaire.version} exists already; "
            "publish it under a new version"
        )
    row = _new_row(questionnaire, QuestionnaireSource.api, actor.key_id)
    row.organisation_id = actor.organisation_id
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"questionnaire {questionnaire.key} version {questionnaire.version} was just "
            "published by someone else"
        ) from exc
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        row.id,
        "published",
        new={"key": row.key, "version": row.version, "content_hash": row.content_hash},
    )
    return row


def _new_row(
    questionnaire: Questionnaire, source: QuestionnaireSource, actor_key_id: uuid.UUID | None
) -> QuestionnaireVersion:
    return QuestionnaireVersion(
        key=questionnaire.key,
        version=questionnaire.version,
        title=questionnaire.title,
        content=content_of(questionnaire),
        content_hash=questionnaire.digest(),
        source=source.value,
        created_by_key_id=actor_key_id,
    )


def load_bundled_questionnaires(database: Database, settings: Settings) -> list[str]:
    """Load every questionnaire file of ``settings.questionnaires_dir``.

    Idempotent: a version whose content is unchanged is left alone; a changed file updates a
    version no assessment uses yet, and is refused (nothing written) for a frozen version.
    Every file is validated, and every frozen version checked, before anything is written.
    """
    try:
        questionnaires = load_questionnaire_dir(settings.questionnaires_dir)
    except QuestionnaireError as exc:
        raise problems_as_invalid(exc, "bundled questionnaires are not valid") from exc
    return store_bundled_questionnaires(database, questionnaires, str(settings.questionnaires_dir))


def store_bundled_questionnaires(
    database: Database, questionnaires: list[Questionnaire], origin: str
) -> list[str]:
    """Store already-validated bundled questionnaires (``origin`` names where they came from
    in errors), with the same rules as ``load_bundled_questionnaires``."""
    report: list[str] = []
    with database.session(SYSTEM, write=True) as session:
        stored = {
            (row.key, row.version): row
            for row in session.scalars(
                select(QuestionnaireVersion).where(QuestionnaireVersion.organisation_id.is_(None))
            )
        }
        refused = [
            ProblemDetail(
                path=f"{questionnaire.key}.{questionnaire.version}",
                message=f"questionnaire {questionnaire.key} {questionnaire.version} is frozen "
                f"(assessments use it) and its file in {origin} differs from the stored "
                "content; publish the change as a new version",
            )
            for questionnaire in questionnaires
            if (row := stored.get((questionnaire.key, questionnaire.version))) is not None
            and row.frozen
            and row.content_hash != questionnaire.digest()
        ]
        if refused:
            raise Invalid(
                f"{len(refused)} frozen questionnaire version(s) changed on disk", errors=refused
            )
        for questionnaire in questionnaires:
            label = f"questionnaire {questionnaire.key} {questionnaire.version}"
            row = stored.get((questionnaire.key, questionnaire.version))
            if row is None:
                row = _new_row(questionnaire, QuestionnaireSource.bundled, None)
                session.add(row)
                session.flush()
                audit.record(
                    session,
                    None,
                    AUDIT_ENTITY,
                    row.id,
                    "loaded",
                    new={"content_hash": row.content_hash},
                    shared=True,
                )
                report.append(f"{label}: added ({len(questionnaire.questions)} questions)")
            elif row.content_hash == questionnaire.digest():
                report.append(f"{label}: unchanged")
            else:
                old_hash = row.content_hash
                # Guarded: an assessment created since we read the row may have frozen it.
                result = session.execute(
                    update(QuestionnaireVersion)
                    .where(
                        QuestionnaireVersion.id == row.id,
                        QuestionnaireVersion.frozen.is_(False),
                        QuestionnaireVersion.content_hash == old_hash,
                    )
                    .values(
                        title=questionnaire.title,
                        content=content_of(questionnaire),
                        content_hash=questionnaire.digest(),
                        source=QuestionnaireSource.bundled.value,
                        updated_at=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    raise Conflict(
                        f"{label} was frozen or changed while loading; nothing was written, "
                        "run the load again"
                    )
                audit.record(
                    session,
                    None,
                    AUDIT_ENTITY,
                    row.id,
                    "reloaded",
                    field="content",
                    old={"content_hash": old_hash},
                    new={"content_hash": questionnaire.digest()},
                    shared=True,
                )
                report.append(f"{label}: updated (not yet used by any assessment)")
    return report

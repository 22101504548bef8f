"""Scoring routes: rule-set versions (analysts edit drafts, preview, publish and choose;
investors read) and assessment scores with their history."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from hrdd.audit.schemas import AuditEventList, AuditEventOut
from hrdd.dates import PlausibleDate
from hrdd.deps import Analyst, CachedRead, DbSession, Investor, in_worker_thread
from hrdd.errors import PreconditionFailed, problem_responses
from hrdd.http import (
    PageParams,
    RequiredIfMatch,
    check_if_match,
    etag_for,
    page_params,
)
from hrdd.scoring import service
from hrdd.scoring.models import RuleSetStatus, RuleSetVersion
from hrdd.scoring.schemas import (
    ChooseRuleSet,
    CurrentRuleSet,
    PreviewOut,
    PublishDraft,
    RuleChoiceList,
    RuleSetVersionList,
    RuleSetVersionOut,
    ScoreHistory,
    ScoreOut,
)

router = APIRouter(tags=["scoring"])

_READ_ERRORS = problem_responses(401, 403, 404, 409, 422)
_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 412, 413, 422, 428)
_DELETE_ERRORS = problem_responses(401, 403, 404, 409, 412, 422, 428)
# Writes that take no If-Match (creating a draft): no 412 or 428.
_NO_ETAG_WRITE_ERRORS = problem_responses(401, 403, 404, 409, 413, 422)
_CHOICE_IF_MATCH = (
    " Send the ETag of GET /rulesets/current as If-Match (428 without it, 412 when another "
    "analyst changed the choice or a new default was loaded since you read it): the choice "
    "rescores every holding of the organisation."
)

RuleSetDocument = Annotated[
    dict[str, Any],
    Body(
        description="The whole rule set, shaped like scoring/default-v1.yaml (as GET returns "
        "it in `content`). `id` and `version` must stay as the draft has them."
    ),
]


def _etag(row: RuleSetVersion) -> str:
    return etag_for(row.id, row.revision)


@router.get(
    "/rulesets",
    summary="List the rule-set versions you can see (bundled, yours, your drafts)",
    response_model=RuleSetVersionList,
    responses=_READ_ERRORS,
)
def list_rulesets(
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
    status_filter: Annotated[RuleSetStatus | None, Query(alias="status")] = None,
    key: Annotated[str | None, Query(max_length=64)] = None,
) -> RuleSetVersionList:
    rows, next_cursor = service.list_versions(session, status_filter, key, page)
    in_use = service.in_use_id(session)
    numbers = service.shown_versions(session, rows)
    return RuleSetVersionList(
        items=[service.to_summary(row, in_use, numbers.get(row.id)) for row in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/rulesets/current",
    summary="The rule-set version your organisation scores with",
    response_model=CurrentRuleSet,
    responses=_READ_ERRORS,
)
def read_current(session: DbSession, _: Investor, response: Response) -> CurrentRuleSet:
    row, chosen = service.current_version(session)
    response.headers["ETag"] = service.choice_etag(row.id, chosen=chosen)
    return service.current_out(session, row, chosen=chosen)


@router.put(
    "/rulesets/current",
    summary="Choose the published version your organisation scores with (an older one rolls "
    "back; send If-Match); holdings are rescored",
    description="409 for a draft (publish it first)." + _CHOICE_IF_MATCH,
    response_model=CurrentRuleSet,
    responses=_WRITE_ERRORS,
)
def choose_current(
    data: ChooseRuleSet,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
) -> CurrentRuleSet:
    row = service.get_version(session, data.version_id)
    _, rescored = service.choose_version(session, row, principal, data.comment, if_match)
    response.headers["ETag"] = service.choice_etag(row.id, chosen=True)
    return service.current_out(session, row, chosen=True, rescored=rescored)


@router.delete(
    "/rulesets/current",
    summary="Follow the bundled default rules again instead of a chosen version (send "
    "If-Match); holdings are rescored if the rules change",
    description=_CHOICE_IF_MATCH.strip(),
    response_model=CurrentRuleSet,
    responses=_DELETE_ERRORS,
)
def follow_default(
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
    comment: Annotated[
        str | None, Query(max_length=2000, description="Why, for the audit trail")
    ] = None,
) -> CurrentRuleSet:
    row, rescored = service.follow_default(session, principal, comment, if_match)
    response.headers["ETag"] = service.choice_etag(row.id, chosen=False)
    return service.current_out(session, row, chosen=False, rescored=rescored)


@router.get(
    "/rulesets/current/history",
    summary="Who chose which rule-set version for your organisation, when and why",
    response_model=RuleChoiceList,
    responses=_READ_ERRORS,
)
def current_history(
    session: DbSession, _: Investor, page: Annotated[PageParams, Depends(page_params)]
) -> RuleChoiceList:
    events, next_cursor = service.choice_history(session, page)
    return RuleChoiceList(items=service.choice_events(session, events), next_cursor=next_cursor)


@router.get(
    "/rulesets/{version_id}",
    summary="Read a rule-set version with its rules",
    response_model=RuleSetVersionOut,
    responses=_READ_ERRORS,
)
def read_ruleset(
    version_id: uuid.UUID, session: DbSession, principal: Investor, response: Response
) -> RuleSetVersionOut:
    row = service.get_version(session, version_id)
    response.headers["ETag"] = _etag(row)
    number = service.shown_versions(session, [row]).get(row.id)
    return service.to_out(session, row, principal, number)


@router.get(
    "/rulesets/{version_id}/history",
    summary="Audit trail of a rule-set version (creation, every edited value, publication); "
    "a deleted draft's trail stays readable",
    response_model=AuditEventList,
    responses=_READ_ERRORS,
)
def ruleset_history(
    version_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
) -> AuditEventList:
    events, next_cursor = service.version_history(session, version_id, page)
    return AuditEventList(
        items=[AuditEventOut.model_validate(event, from_attributes=True) for event in events],
        next_cursor=next_cursor,
    )


@router.post(
    "/rulesets/{version_id}/drafts",
    summary="Copy a version into a new draft private to your organisation",
    status_code=status.HTTP_201_CREATED,
    response_model=RuleSetVersionOut,
    responses=_NO_ETAG_WRITE_ERRORS,
)
def create_draft(
    version_id: uuid.UUID, session: DbSession, principal: Analyst, response: Response
) -> RuleSetVersionOut:
    source = service.get_version(session, version_id)
    draft = service.create_draft(session, source, principal)
    response.headers["Location"] = f"/api/v1/rulesets/{draft.id}"
    response.headers["ETag"] = _etag(draft)
    return service.to_out(session, draft, principal)


@router.put(
    "/rulesets/drafts/{draft_id}",
    summary="Replace a draft's rules (send If-Match); validated in full, 422 names each path",
    response_model=RuleSetVersionOut,
    responses=_WRITE_ERRORS,
)
def update_draft(
    draft_id: uuid.UUID,
    document: RuleSetDocument,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
) -> RuleSetVersionOut:
    draft = service.get_draft(session, draft_id)
    check_if_match(if_match, _etag(draft), required=True)
    service.update_draft(session, draft, document, principal)
    response.headers["ETag"] = _etag(draft)
    return service.to_out(session, draft, principal)


@router.delete(
    "/rulesets/drafts/{draft_id}",
    summary="Delete a draft (send If-Match); published versions are never deleted",
    description="For a draft no one will publish. The deletion is in the audit; versions "
    "copied from the draft keep their rules (their `parent_id` becomes null). 409 for a "
    "published version, 404 for another organisation's draft.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_DELETE_ERRORS,
)
def delete_draft(
    draft_id: uuid.UUID, session: DbSession, principal: Analyst, if_match: RequiredIfMatch
) -> None:
    draft = service.get_draft(session, draft_id)
    check_if_match(if_match, _etag(draft), required=True)
    service.delete_draft(session, draft, principal)


@router.post(
    "/rulesets/drafts/{draft_id}/preview",
    summary="Score every assessment of your organisation with the draft and with the rules in "
    "use, side by side; saves no score, records the preview (needed to publish)",
    description="`portfolios` says what the draft does to each of your portfolios, as its risk "
    "view would read it before and after: holdings and value by band, the holdings and value "
    "moving between bands, and the holdings whose band or recommended action changes. "
    "Also says what the draft was copied from when that is not the rules in use, "
    "and which of their values publishing the draft would undo (`copied_from`). The preview is "
    "recorded on the draft (its revision, the rules in use it was compared with, by whom and "
    "when; `recorded`) without changing the draft's ETag: publishing needs your own latest "
    "preview of the draft as it stands, against the rules in use then.",
    response_model=PreviewOut,
    responses=_READ_ERRORS,
)
def preview_draft(
    draft_id: uuid.UUID, session: DbSession, principal: Analyst, response: Response
) -> PreviewOut:
    draft = service.get_draft(session, draft_id, to_preview=True)
    response.headers["ETag"] = _etag(draft)
    return service.preview_and_record(session, draft, principal)


@router.post(
    "/rulesets/drafts/{draft_id}/publish",
    summary="Publish a draft as an immutable version (send If-Match); by default your "
    "organisation then scores with it",
    description="Preview the draft first, then send as If-Match the ETag the preview gave "
    "(`draft_etag`): the draft is published only if its rules are still those you previewed "
    "(412 after any edit since or for `*`, saying so; 428 without If-Match). 409 "
    "`/problems/preview-required` when your own latest preview is not of the draft as it "
    "stands or compared it with other rules than those in use now (another version was chosen, "
    "published as current or loaded as the default since): preview it again. This holds with "
    "`make_current` false too, since the version published is the one previewed. 409 "
    "`/problems/conflict` for a version already published. With `make_current` (the default) "
    "it also becomes the rules in use, replacing the choice as it stands; send `current_etag` "
    "(the ETag of GET /rulesets/current) to have a choice made since you read it refused with "
    "412 instead, saying what the rules in use are now and who made them so.",
    response_model=RuleSetVersionOut,
    responses=_WRITE_ERRORS,
)
def publish_draft(
    draft_id: uuid.UUID,
    session: DbSession,
    principal: Analyst,
    response: Response,
    if_match: RequiredIfMatch,
    data: Annotated[PublishDraft | None, Body()] = None,
) -> RuleSetVersionOut:
    options = data or PublishDraft()
    draft = service.get_draft(session, draft_id)
    check_if_match(
        if_match,
        _etag(draft),
        required=True,
        stale=lambda: service.draft_edited_since(session, draft, if_match),
    )
    if if_match is not None and "*" in (tag.strip() for tag in if_match.split(",")):
        # "Whatever it holds now" would defeat publishing what was previewed.
        raise PreconditionFailed(
            "send the draft's ETag as the preview gave it (draft_etag), not *",
            headers={"ETag": _etag(draft)},
        )
    service.publish_draft(
        session,
        draft,
        principal,
        make_current=options.make_current,
        comment=options.comment,
        current_etag=options.current_etag,
    )
    response.headers["ETag"] = _etag(draft)
    return service.to_out(session, draft, principal)


@router.get(
    "/assessments/{assessment_id}/score",
    summary="Score an assessment now, or as of a past date (later evidence ignored, decay "
    "computed at that date); a changed current score is stored",
    description="Without `as_of` (or with today's date) the score is computed with your "
    "organisation's rule-set version and stored when the rules, the answers, the evidence, "
    "the commitments, the overall score or the band changed since the last stored score; "
    "otherwise the last stored score is returned (`score_id` names it). With a past `as_of` "
    "the score is computed as of that date and not stored (`score_id` is null); answers are "
    "taken as they are now.",
    response_model=ScoreOut,
    responses=_READ_ERRORS,
    dependencies=[CachedRead],
)
async def read_score(
    assessment_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    as_of: Annotated[
        PlausibleDate | None, Query(description="YYYY-MM-DD, 1900-01-01 to today")
    ] = None,
) -> ScoreOut:
    return await in_worker_thread(
        session, lambda: service.assessment_score(session, assessment_id, as_of)
    )


@router.get(
    "/assessments/{assessment_id}/scores",
    summary="Stored scores of an assessment, oldest first, each with its diff and reasons",
    response_model=ScoreHistory,
    responses=_READ_ERRORS,
)
def read_score_history(
    assessment_id: uuid.UUID,
    session: DbSession,
    _: Investor,
    page: Annotated[PageParams, Depends(page_params)],
) -> ScoreHistory:
    return service.assessment_history(session, assessment_id, page)

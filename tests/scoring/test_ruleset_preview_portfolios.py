"""A rule-set draft's preview in portfolio terms: how many holdings, and how much money, would
move between bands, and whose recommended action would change, as each portfolio's risk view
would read it (the scoring analyst's user test: investors think in portfolios, not scores)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from test_score_api_support import (
    add_incident,
    answer_payloads,
    bundled_questionnaire,
    make_assessment,
    make_company,
)
from tests.portfolios.portfolio_helpers import (
    API,
    by_name,
    create_company,
    create_portfolio,
    holdings,
    resolve,
    risk,
    upload,
)
from tests.scoring.ruleset_helpers import RULESETS, choose, new_draft, preview, publish, put_draft

from hrdd.db import TenantContext
from hrdd.scoring.models import RuleSetPreview
from hrdd.vocab import AssessmentStatus, DisclosureLevel

# The risk view's totals a draft's preview shows before and after, under the same names.
FIGURES = ("by_band", "unassessed", "needing_escalation", "mean_score", "value_weighted_score")


def severe_from_55(client: Any, tenant: Any) -> str:
    """A draft whose severe band starts at 55 instead of 60's high band: an assessment with
    nothing answered (60, high, escalate collectively) becomes severe (vote or file a
    resolution) at the same risk. The draft's id."""
    created = new_draft(client, tenant.analyst)
    assert created.status_code == 201, created.text
    content = copy.deepcopy(created.json()["content"])
    content["bands"][2]["upper"] = 55
    content["bands"][3]["lower"] = 55
    draft_id = created.json()["id"]
    saved = put_draft(client, tenant.analyst, draft_id, content, created.headers["ETag"])
    assert saved.status_code == 200, saved.text
    return draft_id


def portfolio_of(
    client: Any, tenant: Any, name: str, lines: list[tuple[str, str | None, str]]
) -> str:
    """A portfolio of (holding name, company id or None for no company, market value)."""
    portfolio = create_portfolio(client, tenant.investor, name)
    csv = "name,market_value\n" + "".join(f"{n},{value}\n" for n, _, value in lines)
    assert upload(client, tenant.investor, portfolio, csv).status_code == 200
    companies = {n: company for n, company, _ in lines}
    for holding in holdings(client, tenant.investor, portfolio):
        found = resolve(
            client, tenant.investor, portfolio, holding["id"], companies[holding["name"]]
        )
        assert found.status_code == 200, found.text
    return portfolio


def added_up(figures: dict[str, Any]) -> tuple[int, Decimal]:
    """Holdings and value of every band and of the unassessed ones, added up."""
    slices = [*figures["by_band"], figures["unassessed"]]
    return (
        sum(s["holdings"] for s in slices),
        sum((Decimal(s["value"]) for s in slices), Decimal(0)),
    )


def band(figures: dict[str, Any], name: str) -> tuple[int, Decimal]:
    [found] = [s for s in figures["by_band"] if s["band"] == name]
    return found["holdings"], Decimal(found["value"])


def test_a_draft_moving_a_held_company_to_severe_moves_the_portfolios_holdings_and_money(
    client, db, tenant_a, tenant_b, rules
):
    _, questionnaire = bundled_questionnaire(db)
    gaps = make_company(db, "Practice Gaps plc")
    make_assessment(db, tenant_a.organisation_id, gaps, {})  # nothing answered: 60, high
    strong = make_company(db, "Strong Practice plc")
    full = answer_payloads(questionnaire, DisclosureLevel.full)
    make_assessment(db, tenant_a.organisation_id, strong, full)
    # Only a draft of it: it stands for nothing, so its holding is unassessed, as in the
    # risk view; and a company with neither an assessment nor evidence.
    drafted = make_company(db, "Drafted plc")
    make_assessment(db, tenant_a.organisation_id, drafted, {}, status=AssessmentStatus.draft)
    unscored = make_company(db, "Unscored plc")
    # A private parent that owns Practice Gaps now: its holding carries Practice Gaps' score.
    parent = create_company(client, tenant_a, "Example Capital Partners plc")
    linked = client.post(
        f"{API}/companies/{gaps}/ownership",
        json={
            "owner_name": "Example Capital",
            "owner_kind": "private_equity",
            "owner_company_id": parent,
            "start_date": "2020-01-01",
        },
        headers=tenant_a.analyst,
    )
    assert linked.status_code == 201, linked.text

    portfolio = portfolio_of(
        client,
        tenant_a,
        "Global equity",
        [
            ("Practice Gaps", str(gaps), "1000"),
            ("Example Capital", parent, "500"),
            ("Strong Practice", str(strong), "2000"),
            ("Drafted", str(drafted), "300"),
            ("Unscored", str(unscored), "200"),
            ("Nowhere Holdings", None, "1000"),
        ],
    )
    # Another organisation holding the same company: never in tenant A's preview.
    theirs = portfolio_of(client, tenant_b, "Their fund", [("Practice Gaps", str(gaps), "7")])

    response = preview(client, tenant_a.analyst, severe_from_55(client, tenant_a))
    assert response.status_code == 200, response.text
    body = response.json()
    [moved] = body["portfolios"]
    assert moved["portfolio_id"] == portfolio != theirs
    assert (moved["currency"], moved["holdings"], Decimal(moved["total_value"])) == (
        "EUR",
        6,
        Decimal(5000),
    )
    assert (moved["share_basis"], moved["holdings_without_value"]) == ("market_values", 0)

    before, after = moved["before"], moved["after"]
    # The holding and the parent that owns it now move from high to severe, with 1500 of 5000.
    assert band(before, "high") == (2, Decimal(1500))
    assert band(after, "high") == (0, Decimal(0))
    assert band(after, "severe") == (2, Decimal(1500))
    [high_to_severe] = moved["band_moves"]
    assert (high_to_severe["old_band"], high_to_severe["new_band"]) == ("high", "severe")
    assert (high_to_severe["holdings"], Decimal(high_to_severe["value"])) == (2, Decimal(1500))
    assert Decimal(high_to_severe["share_of_value"]) == Decimal("0.3")

    # Largest move first: both go one band and one action up; the larger value first.
    assert [h["name"] for h in moved["changed_holdings"]] == ["Practice Gaps", "Example Capital"]
    assert moved["changed_holdings_count"] == 2
    direct, through = moved["changed_holdings"]
    assert (direct["company_name"], direct["scored_company_name"]) == (
        "Practice Gaps plc",
        "Practice Gaps plc",
    )
    assert (through["company_name"], through["scored_company_name"]) == (
        "Example Capital Partners plc",
        "Practice Gaps plc",
    )
    assert (direct["old_band"], direct["new_band"]) == ("high", "severe")
    assert (direct["old_action"], direct["new_action"]) == (
        "escalate_collectively",
        "vote_or_file_resolution",
    )
    assert direct["old_overall"] == direct["new_overall"] == 60.0
    assert Decimal(direct["market_value"]) == 1000
    by_id = {h["name"]: h["id"] for h in holdings(client, tenant_a.investor, portfolio)}
    assert direct["holding_id"] == by_id["Practice Gaps"]

    # Unassessed as the risk view counts them: the draft-only company, the one with nothing
    # to score and the holding matched to no company, the same before and after.
    for figures in (before, after):
        assert (figures["unassessed"]["holdings"], Decimal(figures["unassessed"]["value"])) == (
            3,
            Decimal(1500),
        )
        assert figures["scores_failed"] == 0
        assert added_up(figures) == (6, Decimal(5000))
    assert after["value_weighted_score"] == before["value_weighted_score"]  # same risk
    # Escalating collectively counts as escalation both before and after.
    assert before["needing_escalation"]["holdings"] == after["needing_escalation"]["holdings"]

    # Before is what the portfolio's risk view shows now, figure for figure.
    view = risk(client, tenant_a.investor, portfolio)
    assert {name: before[name] for name in FIGURES} == {
        name: view["totals"][name] for name in FIGURES
    }
    assert by_name(view["holdings"], "Drafted")["assessed"] is False

    # The recorded preview keeps the counts only.
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        [row] = session.scalars(select(RuleSetPreview)).all()
    assert row.summary["portfolios"] == {
        "portfolios": 1,
        "holdings": 6,
        "band_changes": 2,
        "changed_holdings": 2,
    }


def test_a_held_company_scored_on_evidence_alone_counts_before_any_risk_view_read_it(
    client, db, tenant_a, rules
):
    """A holding imported and never looked at: its company, unassessed but with evidence,
    has no stored score yet, though the risk view scores it when read. The preview scores it
    too and counts it where the risk view then does, not as unassessed."""
    company = make_company(db, "Evidence Only plc")
    add_incident(
        db,
        company,
        event_date=dt.date(2024, 1, 10),
        severity=3,
        affected_groups=("general_public",),
    )
    portfolio = portfolio_of(
        client, tenant_a, "Small caps", [("Evidence Only", str(company), "400")]
    )

    body = preview(client, tenant_a.analyst, severe_from_55(client, tenant_a)).json()
    [item] = body["items"]
    assert (item["basis"], item["company_name"], item["stands_for_company"]) == (
        "evidence_only",
        "Evidence Only plc",
        True,
    )
    [figures] = body["portfolios"]
    assert figures["before"]["unassessed"]["holdings"] == 0
    assert band(figures["before"], item["old_band"]) == (1, Decimal(400))
    view = risk(client, tenant_a.investor, portfolio)["totals"]
    assert {name: figures["before"][name] for name in FIGURES} == {
        name: view[name] for name in FIGURES
    }


def test_a_rollback_tells_the_held_companies_the_preview_counted(client, db, tenant_a, rules):
    """A change of the rules in use says what it rescored over the same companies as a draft's
    preview: a held company scored on its evidence alone counts before a risk view read it."""
    company = make_company(db, "Evidence Only plc")
    add_incident(
        db,
        company,
        event_date=dt.date(2024, 1, 10),
        severity=3,
        affected_groups=("general_public",),
    )
    portfolio_of(client, tenant_a, "Small caps", [("Evidence Only", str(company), "400")])
    default_id = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()["version"][
        "id"
    ]
    # A draft whose medium band starts at 10 instead of 25: the company's 13.1 turns medium.
    created = new_draft(client, tenant_a.analyst)
    content = copy.deepcopy(created.json()["content"])
    content["bands"][0]["upper"] = 10
    content["bands"][1]["lower"] = 10
    draft_id = created.json()["id"]
    saved = put_draft(client, tenant_a.analyst, draft_id, content, created.headers["ETag"])
    assert saved.status_code == 200, saved.text
    [item] = preview(client, tenant_a.analyst, draft_id).json()["items"]
    assert (item["company_name"], item["old_band"], item["new_band"]) == (
        "Evidence Only plc",
        "low",
        "medium",
    )
    assert publish(client, tenant_a.analyst, draft_id).status_code == 200

    rolled_back = choose(client, tenant_a.analyst, default_id)
    assert rolled_back.status_code == 200, rolled_back.text
    rescored = rolled_back.json()["rescored"]
    assert (rescored["companies"], rescored["band_changes"], rescored["moved_count"]) == (1, 1, 1)
    [moved] = rescored["moved"]
    assert (moved["company_name"], moved["old_band"], moved["new_band"]) == (
        "Evidence Only plc",
        "medium",
        "low",
    )


def test_holdings_without_a_value_count_by_number_only(client, db, tenant_a, rules):
    gaps = make_company(db, "Practice Gaps plc")
    make_assessment(db, tenant_a.organisation_id, gaps, {})
    portfolio = create_portfolio(client, tenant_a.investor, "Weights only")
    csv = "name,weight\nPractice Gaps,0.25\nNo Weight Given,\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    [first, _] = holdings(client, tenant_a.investor, portfolio)
    assert resolve(client, tenant_a.investor, portfolio, first["id"], str(gaps)).status_code == 200

    body = preview(client, tenant_a.analyst, severe_from_55(client, tenant_a)).json()
    [figures] = body["portfolios"]
    assert figures["share_basis"] == "weights"
    # Neither has a market value (nothing adds to total_value); one has no weight either.
    assert (figures["holdings_without_value"], figures["holdings_without_share"]) == (2, 1)
    assert Decimal(figures["total_value"]) == 0
    [move] = figures["band_moves"]
    assert (move["holdings"], Decimal(move["value"]), Decimal(move["share_of_value"])) == (
        1,
        Decimal(0),
        Decimal(1),
    )
    assert [h["market_value"] for h in figures["changed_holdings"]] == [None]
    assert figures["after"]["unassessed"]["holdings"] == 1

"""A rescore across organisations (the bundled loader, imports) goes on past an organisation
whose assessments cannot be scored. One organisation's analyst could publish a questionnaire
version with a scored theme the rules do not weigh, start an assessment on it, and make
`hrdd load` fail for everyone (the security re-test)."""

from __future__ import annotations

import logging
import uuid

from tests.portfolios.portfolio_helpers import company_id, load_content

from hrdd.scoring import service as scoring

API = "/api/v1"


def test_one_organisation_that_cannot_be_scored_does_not_stop_the_others(
    client, tenant_a, tenant_b, db, settings, caplog
):
    load_content(db, settings)
    nso = company_id(db, "nso-group")
    text = (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()
    text = text.replace("\nversion: 1.0.0\n", "\nversion: 3.0.0\n", 1)
    text = text.replace(
        "themes:\n",
        "themes:\n  - id: zz\n    title: Unweighted\n    scored: true\n"
        "    description: A theme no rule set weighs.\n",
        1,
    )
    text = text.replace(
        "  - id: P1\n    section: policy\n    theme: policy\n",
        "  - id: P1\n    section: policy\n    theme: zz\n",
        1,
    )
    published = client.post(
        f"{API}/questionnaires",
        files={"file": ("q.yaml", text.encode(), "application/x-yaml")},
        headers=tenant_a.analyst,
    )
    assert published.status_code == 201, published.text
    for tenant, version in ((tenant_a, "3.0.0"), (tenant_b, "1.0.0")):
        started = client.post(
            f"{API}/assessments",
            json={"company_id": nso, "questionnaire_key": "stap-surveillance", "version": version},
            headers=tenant.investor,
        )
        assert started.status_code == 201, started.text
        assessment = started.json()["id"]
        scored = client.get(f"{API}/assessments/{assessment}/score", headers=tenant.investor)
        if tenant is tenant_a:
            assert scored.status_code == 409, scored.text
            assert "theme 'zz' has no weight" in scored.json()["detail"]
        else:
            assert scored.status_code == 200, scored.text

    # hrdd's loggers do not propagate to the root (their JSON handler writes them): listen on
    # hrdd's own.
    hrdd_log = logging.getLogger("hrdd")
    hrdd_log.addHandler(caplog.handler)
    try:
        rescored = scoring.rescore_everywhere(db, [uuid.UUID(nso)], reason="evidence changed")
    finally:
        hrdd_log.removeHandler(caplog.handler)
    assert rescored == 1  # B; A is skipped and says why
    [warning] = [r for r in caplog.records if r.name == "hrdd.scoring"]
    assert str(tenant_a.organisation_id) in warning.getMessage()
    assert "no weight" in warning.getMessage()

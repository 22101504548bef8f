"""Evidence items through the API: roles, validation, ETags, soft delete, audit, tenancy."""

from __future__ import annotations

import pytest


def _create(client, headers, body):
    return client.post("/api/v1/evidence", json=body, headers=headers)


def _timeline(client, company_id, headers, **params):
    response = client.get(
        f"/api/v1/companies/{company_id}/evidence", params=params, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_analyst_adds_private_evidence_investors_of_that_organisation_read_it(
    client, tenant_a, tenant_b, company_id, evidence_body
):
    assert _create(client, tenant_a.investor, evidence_body(company_id)).status_code == 403
    created = _create(client, tenant_a.analyst, evidence_body(company_id))
    assert created.status_code == 201, created.text
    item = created.json()
    assert created.headers["location"] == f"/api/v1/evidence/{item['id']}"
    assert (item["origin"], item["shared"], item["version"]) == ("analyst", False, 1)
    assert item["sources"][0]["source_class"] == "forensic_lab"

    assert [i["id"] for i in _timeline(client, company_id, tenant_a.investor)["items"]] == [
        item["id"]
    ]
    assert (
        client.get(f"/api/v1/evidence/{item['id']}", headers=tenant_a.investor).status_code == 200
    )
    # Another organisation neither lists nor reads it, nor can it change or delete it.
    assert _timeline(client, company_id, tenant_b.investor)["items"] == []
    url = f"/api/v1/evidence/{item['id']}"
    assert client.get(url, headers=tenant_b.investor).status_code == 404
    body = evidence_body(company_id)
    del body["company_id"]
    put = client.put(url, json=body, headers=tenant_b.analyst | {"If-Match": "*"})
    assert put.status_code == 404
    assert client.delete(url, headers=tenant_b.analyst).status_code == 404


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"type": "trade_restriction_listing"}, "related_listing"),
        (
            {
                "related_listing": {
                    "list_name": "Entity List (EL) - Bureau of Industry and Security"
                }
            },
            "related_listing",
        ),
        ({"status": "remediated"}, "remediated_date"),
        ({"remediated_date": "2021-01-01"}, "remediated_date"),
        ({"published_date": "2020-05-01"}, "published_date"),
        ({"event_date": "2020-06-05", "event_date_precision": "month"}, "event_date"),
        ({"published_date": None, "published_date_precision": "month"}, "published_date_precision"),
        ({"severity": 6}, "severity"),
        ({"countries": ["XX"]}, "countries.0"),
        ({"sources": []}, "sources"),
        # A source published before the event it reports (a 2019 article on a 2020 event).
        (
            {
                "sources": [
                    {
                        "publisher": "Example Lab",
                        "title": "Earlier report",
                        "date": "2019-05-01",
                        "url": "https://example.org/earlier",
                        "source_class": "forensic_lab",
                    }
                ]
            },
            "sources.0.date",
        ),
        ({"event_date": 20200601}, "event_date"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_items_are_422_naming_the_field(
    client, tenant_a, company_id, evidence_body, overrides, path
):
    response = _create(client, tenant_a.analyst, evidence_body(company_id, **overrides))
    assert response.status_code == 422, response.text
    assert path in [error["path"] for error in response.json()["errors"]]
    assert _timeline(client, company_id, tenant_a.analyst)["items"] == []


def test_unknown_company_is_404(client, tenant_a, evidence_body):
    body = evidence_body("8d3c4c55-43c7-4d2f-9d69-0a6f9b8f1a77")
    assert _create(client, tenant_a.analyst, body).status_code == 404


def test_replace_needs_the_current_etag_and_is_audited(client, tenant_a, company_id, evidence_body):
    created = _create(client, tenant_a.analyst, evidence_body(company_id))
    url = f"/api/v1/evidence/{created.json()['id']}"
    body = evidence_body(company_id, severity=5, title="Implant found on two phones")
    del body["company_id"]

    assert client.put(url, json=body, headers=tenant_a.analyst).status_code == 428
    stale = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": '"x-0"'})
    assert stale.status_code == 412
    replaced = client.put(
        url, json=body, headers=tenant_a.analyst | {"If-Match": created.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["severity"], replaced.json()["version"]) == (5, 2)
    assert replaced.headers["etag"] != created.headers["etag"]
    again = client.put(
        url, json=body, headers=tenant_a.analyst | {"If-Match": created.headers["etag"]}
    )
    assert again.status_code == 412

    events = client.get(f"{url}/history", headers=tenant_a.analyst).json()["items"]
    changes = {
        e["field"]: (e["old_value"], e["new_value"]) for e in events if e["action"] == "updated"
    }
    assert changes == {
        "severity": (4, 5),
        "title": ("Implant found on a journalist's phone", "Implant found on two phones"),
    }
    assert client.get(f"{url}/history", headers=tenant_a.investor).status_code == 403


def test_delete_needs_the_current_etag(client, tenant_a, company_id, evidence_body):
    created = _create(client, tenant_a.analyst, evidence_body(company_id))
    url = f"/api/v1/evidence/{created.json()['id']}"
    missing = client.delete(url, headers=tenant_a.analyst)
    assert missing.status_code == 428
    assert missing.json()["type"] == "/problems/precondition-required"
    body = evidence_body(company_id, severity=5)
    del body["company_id"]
    etag = created.headers["etag"]
    replaced = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": etag})
    assert replaced.status_code == 200, replaced.text
    stale = client.delete(url, headers=tenant_a.analyst | {"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["etag"] == replaced.headers["etag"]
    # Neither refusal deleted anything.
    kept = client.get(url, headers=tenant_a.investor)
    assert (kept.status_code, kept.json()["version"]) == (200, 2)
    current = tenant_a.analyst | {"If-Match": replaced.headers["etag"]}
    assert client.delete(url, headers=current).status_code == 204


def test_delete_is_soft_and_kept_in_the_history(client, tenant_a, company_id, evidence_body):
    response = _create(client, tenant_a.analyst, evidence_body(company_id))
    created = response.json()
    url = f"/api/v1/evidence/{created['id']}"
    current = {"If-Match": response.headers["etag"]}
    assert client.delete(url, headers=tenant_a.investor | current).status_code == 403
    assert client.delete(url, headers=tenant_a.analyst | current).status_code == 204

    assert client.get(url, headers=tenant_a.investor).status_code == 404
    kept = client.get(url, headers=tenant_a.analyst)
    assert kept.status_code == 200 and kept.json()["deleted_at"] is not None
    assert _timeline(client, company_id, tenant_a.analyst)["items"] == []
    listed = _timeline(client, company_id, tenant_a.analyst, include_deleted="true")["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    forbidden = client.get(
        f"/api/v1/companies/{company_id}/evidence",
        params={"include_deleted": "true"},
        headers=tenant_a.investor,
    )
    assert forbidden.status_code == 403

    deleted = [
        e
        for e in client.get(f"{url}/history", headers=tenant_a.analyst).json()["items"]
        if e["action"] == "deleted"
    ]
    assert deleted[0]["old_value"]["title"] == created["title"]
    body = evidence_body(company_id)
    del body["company_id"]
    put = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": kept.headers["etag"]})
    assert put.status_code == 409
    assert client.delete(url, headers=tenant_a.analyst).status_code == 409


def test_timeline_filters_orders_and_pages(client, tenant_a, company_id, evidence_body):
    dated = {
        "2019-03-01": "forensic_finding",
        "2020-06-01": "lawsuit_filed",
        "2021-09-01": "forensic_finding",
        "2022-01-01": "court_ruling",
    }
    for day, kind in dated.items():
        body = evidence_body(company_id, event_date=day, published_date=day, type=kind)
        assert _create(client, tenant_a.analyst, body).status_code == 201

    newest = _timeline(client, company_id, tenant_a.investor)["items"]
    assert [i["event_date"] for i in newest] == sorted(dated, reverse=True)
    oldest = _timeline(client, company_id, tenant_a.investor, order="oldest")["items"]
    assert [i["event_date"] for i in oldest] == sorted(dated)

    forensic = _timeline(client, company_id, tenant_a.investor, type="forensic_finding")["items"]
    assert [i["event_date"] for i in forensic] == ["2021-09-01", "2019-03-01"]
    ranged = _timeline(
        client, company_id, tenant_a.investor, **{"from": "2020-01-01", "to": "2021-12-31"}
    )
    assert [i["event_date"] for i in ranged["items"]] == ["2021-09-01", "2020-06-01"]
    for name, day in (("from", "0001-01-01"), ("to", "9999-12-31")):
        far = client.get(
            f"/api/v1/companies/{company_id}/evidence",
            params={name: day},
            headers=tenant_a.investor,
        )
        assert far.status_code == 422, far.text
        assert far.json()["errors"][0]["path"] == f"query.{name}"

    pages, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = _timeline(client, company_id, tenant_a.investor, **params)
        pages.append([i["event_date"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [sorted(dated, reverse=True)[:3], sorted(dated, reverse=True)[3:]]
    bad = client.get(
        f"/api/v1/companies/{company_id}/evidence",
        params={"cursor": "nonsense"},
        headers=tenant_a.investor,
    )
    assert bad.status_code == 422


def test_timeline_of_an_unknown_company_is_404(client, tenant_a):
    response = client.get(
        "/api/v1/companies/8d3c4c55-43c7-4d2f-9d69-0a6f9b8f1a77/evidence", headers=tenant_a.investor
    )
    assert response.status_code == 404


def test_openapi_says_if_match_is_required_on_replace_and_delete(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/evidence/{evidence_id}", "/api/v1/commitments/{commitment_id}"):
        for method in ("put", "delete"):
            operation = paths[path][method]
            [if_match] = [p for p in operation["parameters"] if p["name"] == "If-Match"]
            assert (if_match["in"], if_match["required"]) == ("header", True), (method, path)
            assert if_match["schema"] == {"type": "string", "title": "If-Match"}
            assert {"412", "428"} <= set(operation["responses"]), (method, path)

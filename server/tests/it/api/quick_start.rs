//! The manual's Quick Start driven through the API on both stores (region → distributor
//! → partner → tenant → subscription → users → pricing → usage → billing records), and
//! the PowerShell client's flow (token, refresh, a lower-cased `GET subscriptions/`).

use serde_json::{Value, json};

use super::{ADMIN, ADMIN_PASSWORD, Db, Server, ids};

fn quick_start(db: Db) {
    let server = Server::start(db);
    let admin = server.admin();

    admin.ok(
        "PUT",
        "/api/v1/settings/billing",
        Some(json!({"defaultPlatformCurrency": "AUD", "useMonthlyVariablePricing": false, "rounding": "half_even"})),
    );
    admin.ok(
        "POST",
        "/api/v1/regions",
        Some(json!({"id": "mel1", "name": "Melbourne 1", "timeZone": "Australia/Melbourne",
                    "adminEndpoint": "https://adminmanagement.mel1.example", "collectionWindowHours": 24,
                    "credentialRef": "env:MEL1_SECRET"})),
    );
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "D-Apac", "name": "APAC Distribution", "currency": "AUD"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "P-Harbour", "distributorId": "d-apac", "name": "Harbour IT"})),
    );
    let tenant = admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(
            json!({"id": "T-Contoso", "PartnerId": "P-Harbour", "Name": "Contoso",
                    "currency": "AUD", "timeZone": "Australia/Melbourne", "taxPercent": "10",
                    "paymentTermsDays": 14, "billingContact": "billing@contoso.example",
                    "entraTenantId": "0f6b2f32-1a1e-4b1a-9b1a-3c2d1e0f9a8b",
                    "initialOwner": "owner@contoso.example"}),
        ),
    );
    assert_eq!(tenant["distributorId"], "D-Apac");
    assert_eq!(tenant["billingContact"], "billing@contoso.example");
    let sub = "6E1F6A2C-0D5B-4C3E-9E61-1B2A3C4D5E6F";
    admin.ok(
        "POST",
        "/api/v1/subscriptions",
        Some(json!({"id": sub, "tenantId": "t-contoso", "regionId": "mel1", "name": "Production"})),
    );
    let sub = sub.to_lowercase();

    // Users: a tenant administrator of Contoso sees only Contoso.
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(json!({"emailAddress": "owner@contoso.example", "firstName": "Olive", "lastName": "Owner",
                    "password": "contoso-owner-pass", "role": "TenantAdministrator",
                    "tenantId": "T-Contoso"})),
    );
    let owner = server.login("owner@contoso.example", "contoso-owner-pass");
    assert_eq!(
        ids(&owner.ok("GET", "/api/v1/tenants", None)),
        ["T-Contoso"]
    );
    assert_eq!(
        ids(&owner.ok("GET", "/api/v1/subscriptions", None)),
        std::slice::from_ref(&sub)
    );
    assert_eq!(owner.get("/api/v1/distributors/D-Apac").0, 404);

    // Pricing: a region price list with a graduated tier and a flat meter.
    admin.ok(
        "POST",
        "/api/v1/pricing",
        Some(
            json!({"id": "mel1-2026", "scope": {"region": "mel1"}, "currency": "AUD",
            "effectiveFrom": "2026-01-01",
            "items": [
                {"meter": "cores", "rate": "0.05"},
                {"meter": "storage", "tiers": {"mode": "graduated", "bands": [
                    {"from": "0", "to": "100", "rate": "0.10"},
                    {"from": "100", "to": null, "rate": "0.08"}]}}
            ]}),
        ),
    );

    // Usage for October 2026, ingested twice: the second time changes nothing.
    let records: Vec<Value> = (0..24)
        .flat_map(|h| {
            let start = format!("2026-10-10T{h:02}:00:00Z");
            let end = if h == 23 { "2026-10-11T00:00:00Z".to_owned() } else { format!("2026-10-10T{:02}:00:00Z", h + 1) };
            [
                json!({"id": format!("c-{h}"), "subscriptionId": sub, "meterId": "cores", "start": start, "end": end, "quantity": "4"}),
                json!({"id": format!("s-{h}"), "subscriptionId": sub, "meterId": "storage", "start": start, "end": end, "quantity": "10"}),
            ]
        })
        .collect();
    let first = admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"source": "quick-start", "records": records})),
    );
    assert_eq!(
        (first["new"].clone(), first["duplicate"].clone()),
        (json!(48), json!(0)),
        "{first}"
    );
    let again = admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"source": "quick-start", "records": records})),
    );
    assert_eq!(
        (again["new"].clone(), again["duplicate"].clone()),
        (json!(0), json!(48)),
        "{again}"
    );

    // Billing records: generate, view, issue.
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let invoices = admin.ok("GET", "/api/v1/billing/invoices?period=2026-10", None);
    let invoice = &invoices.as_array().unwrap()[0];
    // cores 96 × 0.05 = 4.80; storage 240: 100 × 0.10 + 140 × 0.08 = 21.20; tax 10 %.
    let total = invoice["total"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| invoice["document"]["total"].to_string());
    assert!(total.contains("28.6"), "total 26.00 + 2.60 tax: {invoice}");
    let id = invoice["id"].to_string().trim_matches('"').to_owned();
    let issued = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({})),
    );
    assert!(
        issued["number"].as_str().unwrap().starts_with("INV-"),
        "{issued}"
    );
    assert_eq!(
        owner
            .ok("GET", "/api/v1/billing/invoices", None)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let summary = owner.ok("GET", "/api/v1/billing/summary?period=2026-10", None);
    assert!(summary.to_string().contains("T-Contoso"), "{summary}");

    // The audit log saw the sensitive steps.
    let audit = admin
        .ok("GET", "/api/v1/audit?pageSize=1000", None)
        .to_string();
    for action in ["pricing.", "usage.ingest", "role.grant", "invoice.issue"] {
        assert!(audit.contains(action), "audit lacks {action}: {audit}");
    }
}

#[test]
fn quick_start_on_sqlite() {
    quick_start(Db::Sqlite);
}

#[test]
fn quick_start_on_mariadb() {
    quick_start(Db::Mariadb);
}

/// What the manual's PowerShell example does: `auth/token` with `EmailAddress` and
/// `Password`, reading `.Token` of the bare response; `auth/token-refresh` with
/// `RefreshToken`; then `GET subscriptions/` with the whole URL lower-cased, reading
/// `.Code` and `.Data`.
fn powershell_flow(db: Db) {
    let server = Server::start(db);
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(json!({"id": "Stamp-A", "name": "A", "timeZone": "UTC", "adminEndpoint": "https://adminmanagement.a.example", "collectionWindowHours": 24})));
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "Dist-One", "name": "One"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "Part-One", "distributorId": "Dist-One", "name": "One"})),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "Ten-One", "partnerId": "Part-One", "name": "One"})),
    );
    admin.ok("POST", "/api/v1/subscriptions", Some(json!({"id": "AB12CD34-0000-4000-8000-000000000001", "tenantId": "Ten-One", "regionId": "Stamp-A", "name": "Sub"})));

    let anon = server.anonymous();
    let (status, token) = anon.post(
        "/api/v1/auth/token",
        json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}),
    );
    assert_eq!(status, 200);
    assert!(
        token.get("code").is_none(),
        "the token object is not enveloped: {token}"
    );
    assert!(
        token["token"].is_string()
            && token["refreshToken"].is_string()
            && token["expiresAt"].is_string()
    );
    let (status, refreshed) = anon.post(
        "/api/v1/auth/token-refresh",
        json!({"RefreshToken": token["refreshToken"]}),
    );
    assert_eq!(status, 200, "{refreshed}");
    let client = anon.with_token(refreshed["token"].as_str().unwrap());
    let base = format!("{}/api/v1/", client.base);
    let url = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        "/subscriptions/".trim_start_matches('/')
    )
    .to_lowercase();
    let response = client
        .http
        .get(&url)
        .bearer_auth(client.token.as_deref().unwrap())
        .header("Content-Type", "application/json")
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{url}");
    let body: Value = response.json().unwrap();
    assert_eq!(body["code"], 200);
    assert_eq!(ids(&body["data"]), ["ab12cd34-0000-4000-8000-000000000001"]);
    // Ids survive lower-casing everywhere.
    for path in [
        "/api/v1/tenants/ten-one/",
        "/API/V1/PARTNERS/PART-ONE",
        "/api/v1/distributors/dist-one",
    ] {
        assert_eq!(client.get(path).0, 200, "{path}");
    }
}

#[test]
fn powershell_flow_on_sqlite() {
    powershell_flow(Db::Sqlite);
}

#[test]
fn powershell_flow_on_mariadb() {
    powershell_flow(Db::Mariadb);
}

#[test]
fn bad_input_gets_a_4xx_naming_the_field() {
    let server = Server::start(Db::Sqlite);
    let admin = server.admin();
    let cases = [
        ("POST", "/api/v1/distributors", json!({"name": ""}), "name"),
        (
            "POST",
            "/api/v1/distributors",
            json!({"name": "X", "currency": "EURO"}),
            "currency",
        ),
        (
            "POST",
            "/api/v1/distributors",
            json!({"name": "X", "id": "has space"}),
            "id",
        ),
        ("POST", "/api/v1/distributors", json!({"name": 5}), "name"),
        (
            "POST",
            "/api/v1/distributors",
            json!({"name": "X", "bogus": 1}),
            "",
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, answer) = admin.send(method, path, Some(body.clone()));
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["code"], 400);
        assert_eq!(answer["data"], Value::Null);
        let problem = &answer["errors"][0];
        assert_eq!(problem["code"], "invalid_request");
        if !field.is_empty() {
            assert_eq!(problem["field"], field, "{answer}");
        } else {
            assert!(
                problem["message"].as_str().unwrap().contains("bogus"),
                "{answer}"
            );
        }
    }
    let (status, answer) = admin.post(
        "/api/v1/partners",
        json!({"name": "X", "distributorId": "missing"}),
    );
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("distributorId"),
        "{answer}"
    );
    let (status, answer) = admin
        .http
        .post(format!("{}/api/v1/distributors", admin.base))
        .bearer_auth(admin.token.as_deref().unwrap())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .map(|r| (r.status().as_u16(), r.json::<Value>().unwrap()))
        .unwrap();
    assert_eq!(status, 400, "{answer}");
    // A partner with tenants cannot be deleted: 409 naming what blocks it.
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "d1", "name": "D"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "p1", "distributorId": "d1", "name": "P"})),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "t1", "partnerId": "p1", "name": "T"})),
    );
    let (status, answer) = admin.delete("/api/v1/partners/p1");
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("t1"),
        "{answer}"
    );
    // Probes.
    let anon = server.anonymous();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/swagger/v1/swagger.json",
    ] {
        let r = anon
            .http
            .get(format!("{}{path}", anon.base))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    let ui = anon
        .http
        .get(format!("{}/swagger/", anon.base))
        .send()
        .unwrap();
    assert!(
        ui.text().unwrap().contains("swagger-ui"),
        "the bundled Swagger UI is served"
    );
}

//! A subscription's Update Usage and Summary (the manual's Subscription Management):
//! a partner administrator collects one of its subscriptions from a local stamp over
//! real HTTP, only that subscription's rows arrive and under the ids a region run gives
//! them; the summary adds up exactly what was stored and what the invoices billed, in
//! the caller's scope only; on both stores.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use stackbill_testkit::fake_stamp::{
    PAGE_BLOB, SECRET, SUB_A, SUB_B, VM_HOURS, WIN_CORES, fixture_rates,
};

use super::collection::{region, stamp};
use super::{Api, Db, Server};

const PASSWORD: &str = "Sub-usage-password-7";

fn user(admin: &Api, email: &str, role: &str, scope: (&str, &str)) {
    let mut body = json!({"emailAddress": email, "firstName": "U", "lastName": "Ser",
                          "password": PASSWORD, "role": role});
    body[scope.0] = json!(scope.1);
    admin.ok("POST", "/api/v1/users", Some(body));
}

/// Euro billing settings, two partners of one distributor, a tenant under each, the fixture's subscriptions
/// split between them, a subscription whose id is not a stamp's, and prices for every
/// meter of the fixture.
fn hierarchy(admin: &Api) {
    admin.ok(
        "PUT",
        "/api/v1/settings/billing",
        Some(
            json!({"defaultPlatformCurrency": "EUR", "useMonthlyVariablePricing": false,
                    "rounding": "half_even"}),
        ),
    );
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "d", "name": "D", "currency": "EUR"})),
    );
    for (partner, tenant) in [("p1", "ten-a"), ("p2", "ten-b")] {
        admin.ok(
            "POST",
            "/api/v1/partners",
            Some(json!({"id": partner, "distributorId": "d", "name": partner})),
        );
        admin.ok(
            "POST",
            "/api/v1/tenants",
            Some(json!({"id": tenant, "partnerId": partner, "name": tenant})),
        );
    }
    for (id, tenant, name) in [
        (SUB_A, "ten-a", "ERP"),
        (SUB_B, "ten-b", "Web"),
        ("plain-01", "ten-a", "Imported"),
    ] {
        admin.ok(
            "POST",
            "/api/v1/subscriptions",
            Some(json!({"id": id, "tenantId": tenant, "regionId": "fra01", "name": name})),
        );
    }
    let items = fixture_rates(true);
    admin.ok(
        "POST",
        "/api/v1/pricing",
        Some(
            json!({"id": "fra01-2025", "scope": {"region": "fra01"}, "currency": "EUR",
                    "effectiveFrom": "2025-01-01", "items": items}),
        ),
    );
}

/// The sum of subscription `sub`'s lines on tenant `tenant`'s invoices of 2025-03.
fn billed(admin: &Api, tenant: &str, sub: &str) -> Decimal {
    let lines = admin.ok(
        "GET",
        &format!("/api/v1/billing/invoice-lines?period=2025-03&tenantId={tenant}&pageSize=1000"),
        None,
    );
    lines
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["subscription"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
        })
        .map(|l| l["amount"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum()
}

/// A billed entry's (issued, preview) amounts.
fn split(billed: &Value) -> (Decimal, Decimal) {
    let amount = |k: &str| billed[k].as_str().unwrap().parse::<Decimal>().unwrap();
    (amount("issued"), amount("preview"))
}

fn summary_of<'a>(summary: &'a Value, sub: &str) -> &'a Value {
    summary
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["subscriptionId"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(sub))
        })
        .unwrap_or_else(|| panic!("{sub} in {summary:#}"))
}

fn updated_and_summarised(db: Db) {
    let (_rt, fake) = stamp();
    let server = Server::start_env(
        db,
        true,
        &["--collect-every-seconds", "0"],
        &[("FRA01_SECRET", SECRET)],
    );
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(region(&fake.base)));
    hierarchy(&admin);
    user(
        &admin,
        "pa@p1.test",
        "PartnerAdministrator",
        ("partnerId", "p1"),
    );
    user(
        &admin,
        "ta@ten-a.test",
        "TenantAdministrator",
        ("tenantId", "ten-a"),
    );
    let partner = server.login("pa@p1.test", PASSWORD);
    let tenant = server.login("ta@ten-a.test", PASSWORD);

    // Update Usage: the partner's own subscription, only its rows.
    let hours = json!({"from": "2025-03-04T10:00:00Z", "to": "2025-03-04T12:00:00Z"});
    let run = partner.ok(
        "POST",
        &format!("/api/v1/subscriptions/{SUB_A}/collect"),
        Some(hours.clone()),
    );
    assert_eq!(
        (
            run["report"]["windows"].as_u64(),
            run["report"]["new"].as_u64()
        ),
        (Some(2), Some(4)),
        "{run}"
    );
    let asked = fake.with(|f| f.usage_requests);
    assert!(asked >= 2, "one query per hour at least: {asked}");
    let refusals = [
        (
            &partner,
            SUB_B,
            hours.clone(),
            404,
            "another partner's subscription",
        ),
        (&tenant, SUB_A, hours.clone(), 403, "a tenant administrator"),
        (
            &partner,
            "plain-01",
            hours.clone(),
            409,
            "not a stamp subscription",
        ),
        (
            &partner,
            SUB_A,
            json!({"from": "2025-03-04T12:00:00Z", "to": "2025-03-04T10:00:00Z"}),
            400,
            "a backwards range",
        ),
    ];
    for (who, sub, body, status, why) in refusals {
        let (got, answer) = who.post(&format!("/api/v1/subscriptions/{sub}/collect"), body);
        assert_eq!(got, status, "{why}: {answer}");
    }
    // The region's run finds those rows stored under the same ids.
    let region_run = admin.ok("POST", "/api/v1/regions/fra01/collect", Some(hours));
    assert_eq!(
        (
            region_run["report"]["new"].as_u64(),
            region_run["report"]["duplicate"].as_u64()
        ),
        (Some(2), Some(4)),
        "{region_run}"
    );
    let audit = admin
        .ok("GET", "/api/v1/audit?pageSize=1000", None)
        .to_string();
    assert!(
        audit.contains(&SUB_A.to_ascii_lowercase()),
        "the subscription run is audited"
    );

    // Summary: the stored usage of the day, exactly, in the caller's scope.
    let day = "/api/v1/usage/summary?from=2025-03-04&to=2025-03-04";
    let summary = partner.ok("GET", day, None);
    assert_eq!(
        summary.as_array().map(Vec::len),
        Some(2),
        "p1's two: {summary:#}"
    );
    let erp = summary_of(&summary, SUB_A);
    assert_eq!(
        (erp["records"].as_i64(), erp["invalidRecords"].as_i64()),
        (Some(4), Some(0))
    );
    let usage: Vec<(String, Option<String>, String)> = erp["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["meterId"].as_str().unwrap().to_owned(),
                m["sku"].as_str().map(str::to_owned),
                m["quantity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = vec![
        (
            WIN_CORES.to_owned(),
            Some("Standard_DS2_v2".to_owned()),
            "2".to_owned(),
        ),
        (
            VM_HOURS.to_owned(),
            Some("Standard_DS2_v2".to_owned()),
            "1".to_owned(),
        ),
        (
            PAGE_BLOB.to_ascii_lowercase(),
            None,
            "37.91846084594727".to_owned(),
        ),
        (
            "d5f7731b-f639-404a-89d0-e46186e22c8d".to_owned(),
            None,
            "0.0013440860215053765".to_owned(),
        ),
    ];
    expected.sort();
    let mut got = usage;
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(summary_of(&summary, "plain-01")["records"], 0);
    let next_day = partner.ok(
        "GET",
        "/api/v1/usage/summary?from=2025-03-05&to=2025-03-31",
        None,
    );
    assert_eq!(summary_of(&next_day, SUB_A)["records"], 0);
    let own = tenant.ok("GET", day, None);
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|s| s["tenantId"] == "ten-a"),
        "{own:#}"
    );
    for (path, field) in [
        (format!("{day}&tenantId=ten-b"), "tenantId"),
        (
            "/api/v1/usage/summary?from=2025-03-04&to=2025-03-03".into(),
            "to",
        ),
        (
            "/api/v1/usage/summary?from=2025-03-04&to=2026-03-05".into(),
            "to",
        ),
        (
            "/api/v1/usage/summary?from=4 March&to=2025-03-04".into(),
            "from",
        ),
    ] {
        let (status, body) = partner.get(&path);
        assert_eq!(
            (status, body["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{path}: {body}"
        );
    }

    // Billing results: previews first, then the issued invoice, to the cent of its lines.
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2025-03"})),
    );
    let month = "/api/v1/usage/summary?from=2025-03-01&to=2025-03-31&tenantId=ten-a";
    let previewed = partner.ok("GET", month, None);
    let amount = billed(&admin, "ten-a", SUB_A);
    assert!(amount > Decimal::ZERO);
    let b = &summary_of(&previewed, SUB_A)["billed"];
    assert_eq!(b.as_array().map(Vec::len), Some(1), "{b}");
    assert_eq!(b[0]["currency"], "EUR");
    assert_eq!(split(&b[0]), (Decimal::ZERO, amount), "(issued, preview)");
    assert_eq!(b[0]["periods"], json!(["2025-03"]));
    let invoices = admin.ok(
        "GET",
        "/api/v1/billing/invoices?period=2025-03&tenantId=ten-a",
        None,
    );
    let id = invoices[0]["id"].as_str().unwrap();
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({})),
    );
    let issued = partner.ok("GET", month, None);
    let b = &summary_of(&issued, SUB_A)["billed"];
    assert_eq!(split(&b[0]), (amount, Decimal::ZERO), "(issued, preview)");
}

#[test]
fn a_subscription_is_updated_and_summarised_on_sqlite() {
    updated_and_summarised(Db::Sqlite);
}

#[test]
fn a_subscription_is_updated_and_summarised_on_mariadb() {
    updated_and_summarised(Db::Mariadb);
}

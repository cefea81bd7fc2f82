//! The manual's pricing, billing, commission and settings workflows through the API on
//! both stores, with the amounts worked out by hand: the estimator, a bad price list
//! named field by field, clone, the price-increase model and its application, usage that
//! is refused whole, the invoice lifecycle, commissions and their export, System
//! Settings validation, and region usage processing as a job.

use serde_json::{Value, json};

use super::{Api, Db, Server};

fn setup(server: &Server) -> Api {
    let admin = server.admin();
    admin.ok(
        "PUT",
        "/api/v1/settings/billing",
        Some(json!({"defaultPlatformCurrency": "AUD", "timeZone": "Australia/Melbourne"})),
    );
    admin.ok(
        "POST",
        "/api/v1/regions",
        Some(json!({"id": "mel1", "name": "Melbourne 1",
        "timeZone": "Australia/Melbourne", "adminEndpoint": "https://adminmanagement.mel1.example",
        "collectionWindowHours": 24})),
    );
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "D1", "name": "D", "currency": "AUD"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "P1", "distributorId": "D1", "name": "P"})),
    );
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "T1", "partnerId": "P1", "name": "T", "currency": "AUD", "taxPercent": "10"})),
    );
    admin.ok(
        "POST",
        "/api/v1/subscriptions",
        Some(json!({"id": "s1", "tenantId": "T1", "regionId": "mel1", "name": "S"})),
    );
    admin.ok(
        "POST",
        "/api/v1/pricing",
        Some(json!({"id": "mel1-2026", "name": "Melbourne 2026", "description": "Standard rates",
        "scope": {"region": "mel1"}, "currency": "AUD",
        "effectiveFrom": "2026-01-01", "items": [
            {"meter": "cores", "rate": "0.05"},
            {"meter": "storage", "tiers": {"mode": "graduated", "bands": [
                {"from": "0", "to": "100", "rate": "0.10"}, {"from": "100", "to": null, "rate": "0.08"}]}}]})),
    );
    admin
}

fn october_usage(prefix: &str) -> Vec<Value> {
    (0..24)
        .flat_map(|h| {
            let start = format!("2026-10-10T{h:02}:00:00Z");
            let end = format!("2026-10-10T{h:02}:59:59Z");
            [
                json!({"id": format!("{prefix}c{h}"), "subscriptionId": "s1", "meterId": "cores", "start": start, "end": end, "quantity": "4"}),
                json!({"id": format!("{prefix}s{h}"), "subscriptionId": "s1", "meterId": "storage", "start": start, "end": end, "quantity": 10}),
            ]
        })
        .collect()
}

fn fields(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_owned))
        .collect()
}

fn workflows(db: Db) {
    let server = Server::start(db);
    let admin = setup(&server);

    // The estimator rates like billing: 96 core-hours × 0.05 = 4.80; 240 GB-hours
    // graduated = 10.00 + 11.20; subtotal 26.00, tax 2.60.
    let estimate = admin.ok(
        "POST",
        "/api/v1/pricing/estimate",
        Some(json!({"tenantId": "t1", "period": "2026-10",
        "items": [{"meterId": "cores", "quantity": "96"}, {"meterId": "storage", "quantity": "240"},
                  {"meterId": "gpu", "quantity": "1"}]})),
    );
    assert_eq!(estimate["invoice"]["subtotal"], "26.00", "{estimate}");
    assert_eq!(estimate["invoice"]["total"], "28.60", "{estimate}");
    assert_eq!(estimate["unbilled"][0]["reason"], "no_price", "{estimate}");

    // A bad price list: every problem, each named by its field; nothing stored.
    let (status, answer) = admin.post("/api/v1/pricing", json!({"id": "bad", "scope": {"region": "mel1"},
        "currency": "AUD", "effectiveFrom": "2026-02-01", "items": [
            {"meter": "cores", "rate": "-1"},
            {"meter": "storage", "tiers": {"mode": "graduated", "bands": [
                {"from": "0", "to": "10", "rate": "1"}, {"from": "5", "to": null, "rate": "1"}]}}]}));
    assert_eq!(status, 400, "{answer}");
    let named = fields(&answer);
    assert!(named.iter().any(|f| f.starts_with("items[0]")), "{answer}");
    assert!(
        named.iter().any(|f| f.starts_with("items[1].tiers")),
        "{answer}"
    );
    assert_eq!(admin.get("/api/v1/pricing/bad").0, 404);
    // A second list of the same scope from the same day would be ambiguous.
    let (status, answer) = admin.post("/api/v1/pricing", json!({"id": "tie", "scope": {"region": "mel1"},
        "currency": "AUD", "effectiveFrom": "2026-01-01", "items": [{"meter": "cores", "rate": "1"}]}));
    assert_eq!(status, 409, "{answer}");

    // Clone to the tenant's scope, then delete the copy.
    let copy = admin.ok(
        "POST",
        "/api/v1/pricing/MEL1-2026/clone",
        Some(json!({"id": "t1-2026", "scope": {"tenant": "t1"}})),
    );
    assert_eq!(copy["scope"]["tenant"], "T1");
    assert_eq!(
        copy["name"], "Melbourne 2026",
        "the copy keeps the display name"
    );
    assert_eq!(copy["items"][0]["rate"], "0.05");
    admin.ok("DELETE", "/api/v1/pricing/t1-2026", None);
    assert_eq!(admin.get("/api/v1/pricing/t1-2026").0, 404);

    // A batch with one bad record is refused whole, naming the record.
    let mut records = october_usage("u");
    records[7]["quantity"] = json!("lots");
    let (status, answer) = admin.post("/api/v1/usage", json!({"records": records}));
    assert_eq!(status, 400, "{answer}");
    assert_eq!(fields(&answer), ["records[7].quantity"]);
    let stored = admin.ok("GET", "/api/v1/usage?period=2026-10", None);
    assert_eq!(stored["records"], json!([]), "nothing was written");
    let report = admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"records": october_usage("u")})),
    );
    assert_eq!(report["new"], 48, "{report}");
    let stored = admin.ok(
        "GET",
        "/api/v1/usage?period=2026-10&subscriptionId=S1&pageSize=10",
        None,
    );
    assert_eq!(stored["records"].as_array().unwrap().len(), 10);
    assert!(stored["next"].is_string(), "{stored}");

    // The price-increase model: +10 % on every rate; Contoso's October goes from 28.60
    // to 5.28 + 11.00 + 12.32 = 28.60 subtotal, 2.86 tax, 31.46.
    let model = admin.ok(
        "POST",
        "/api/v1/pricing/mel1-2026/increase",
        Some(json!({"kind": "percentage", "amount": "10", "period": "2026-10"})),
    );
    let rates: Vec<(&str, &str)> = model["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["before"].as_str().unwrap(), r["after"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rates,
        [("0.05", "0.055"), ("0.10", "0.11"), ("0.08", "0.088")]
    );
    assert_eq!(
        model["tenants"],
        json!([{"tenantId": "T1", "currency": "AUD", "before": "28.60", "after": "31.46", "change": "2.86"}])
    );
    assert_eq!(model["applied"], Value::Null, "a model changes nothing");
    let (status, answer) = admin.post(
        "/api/v1/pricing/mel1-2026/increase",
        json!({"kind": "percentage", "amount": "10", "apply": true}),
    );
    assert_eq!(
        (status, fields(&answer)),
        (400, vec!["effectiveFrom".to_owned()])
    );
    let applied = admin.ok(
        "POST",
        "/api/v1/pricing/mel1-2026/increase",
        Some(json!({"kind": "percentage", "amount": "10",
        "apply": true, "newId": "mel1-2026-11", "effectiveFrom": "2026-11-01"})),
    );
    assert_eq!(applied["applied"]["id"], "mel1-2026-11");
    // November is priced by the new list: 96 × 0.055 = 5.28, tax 0.528 → 0.53.
    let november = admin.ok(
        "POST",
        "/api/v1/pricing/estimate",
        Some(json!({"subscriptionId": "s1",
        "period": "2026-11", "items": [{"meterId": "cores", "quantity": "96"}]})),
    );
    assert_eq!(november["invoice"]["total"], "5.81", "{november}");

    // Payment terms from System Settings → Invoices; bad settings are named.
    let invoices = admin.ok("GET", "/api/v1/settings/invoices", None);
    assert_eq!(invoices["headerBackgroundColour"], "#FFFFFF");
    for (body, field) in [
        (
            json!({"headerBackgroundColour": "red"}),
            "headerBackgroundColour",
        ),
        (json!({"bogus": true}), "bogus"),
        (
            json!({"defaultInvoicePaymentTermsDays": -1}),
            "defaultInvoicePaymentTermsDays",
        ),
    ] {
        let (status, answer) = admin.send("PUT", "/api/v1/settings/invoices", Some(body));
        assert_eq!((status, fields(&answer)), (400, vec![field.to_owned()]));
    }
    admin.ok(
        "PUT",
        "/api/v1/settings/invoices",
        Some(json!({"defaultInvoicePaymentTermsDays": 21})),
    );

    // The invoice lifecycle.
    let generated = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    assert_eq!(generated["previews"], 1, "{generated}");
    let list = admin.ok("GET", "/api/v1/billing/invoices?period=2026-10", None);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["total"], "28.60");
    let (status, _) = admin.post(&format!("/api/v1/billing/invoices/{id}/pay"), json!({}));
    assert_eq!(status, 409, "a preview cannot be paid");
    for stray in ["2026-09-30", "2099-01-01", "2026-11-1x"] {
        let (status, answer) = admin.post(
            &format!("/api/v1/billing/invoices/{id}/issue"),
            json!({"issueDate": stray}),
        );
        assert_eq!(
            (status, fields(&answer)),
            (400, vec!["issueDate".to_owned()]),
            "{stray}"
        );
    }
    let issued = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/issue"),
        Some(json!({"issueDate": "2026-11-01"})),
    );
    assert_eq!(
        (issued["issueDate"].clone(), issued["dueDate"].clone()),
        (json!("2026-11-01"), json!("2026-11-22"))
    );
    assert!(issued["number"].as_str().unwrap().starts_with("INV-"));
    let (status, _) = admin.post(&format!("/api/v1/billing/invoices/{id}/issue"), json!({}));
    assert_eq!(status, 409, "issued once");
    assert_eq!(
        admin.delete(&format!("/api/v1/billing/invoices/{id}")).0,
        409,
        "only previews are deleted"
    );
    let paid = admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{id}/pay"),
        Some(json!({})),
    );
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["total"], "28.60", "the issued invoice never changes");

    // Commissions: rates checked by the engine, 2 % of the 26.00 base.
    let (status, answer) = admin.send("PUT", "/api/v1/commissions/rates/distributors/d1",
        Some(json!({"commission": {"mode": "graduated", "bands": [{"from": "0", "to": null, "percent": "-2"}]}})));
    assert_eq!(status, 400, "{answer}");
    assert!(fields(&answer)[0].starts_with("commission"), "{answer}");
    admin.ok("PUT", "/api/v1/commissions/rates/distributors/d1",
        Some(json!({"commission": {"mode": "graduated", "bands": [{"from": "0", "to": null, "percent": "2"}]}})));
    let summaries = admin.ok(
        "POST",
        "/api/v1/commissions/generate",
        Some(json!({"period": "2026-10"})),
    );
    let d1 = summaries
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["partyId"] == "D1")
        .cloned()
        .unwrap_or_else(|| panic!("{summaries}"));
    assert_eq!(
        (d1["base"].clone(), d1["amount"].clone()),
        (json!("26.00"), json!("0.52"))
    );
    let year = admin.ok("GET", "/api/v1/commissions?year=2026", None);
    assert!(year.to_string().contains("\"months\":1"), "{year}");
    let export = admin.ok("GET", "/api/v1/commissions/export?period=2026-10", None);
    assert!(
        export["content"]
            .as_str()
            .unwrap()
            .contains("2026-10,distributor,D1,AUD,26.00,0.52,"),
        "{export}"
    );

    // "Update Usage" for a region is a job with progress; the region reports it.
    let processed = admin.ok(
        "POST",
        "/api/v1/regions/MEL1/process",
        Some(json!({"from": "2026-10-01", "to": "2026-11-03"})),
    );
    assert_eq!(processed["periods"], json!(["2026-10", "2026-11"]));
    assert_eq!(
        processed["keptIssued"],
        json!(["T1"]),
        "the issued October invoice is kept"
    );
    let jobs = admin.ok("GET", "/api/v1/jobs", None);
    assert_eq!(jobs[0]["status"], "succeeded", "{jobs}");
    assert_eq!(jobs[0]["progress"], 100);
    let health = admin.ok("GET", "/api/v1/regions/mel1/health", None);
    assert_eq!(health["subscriptions"], 1);
    assert_eq!(health["lastProcessing"]["status"], "succeeded");

    // Region secrets are references, never values.
    let (status, answer) = admin.post(
        "/api/v1/regions",
        json!({"id": "syd1", "name": "S", "timeZone": "UTC",
        "adminEndpoint": "https://adminmanagement.syd1.example", "collectionWindowHours": 24,
        "credentialRef": "hunter2"}),
    );
    assert_eq!(
        (status, fields(&answer)),
        (400, vec!["credentialRef".to_owned()])
    );

    // New tenants take System Settings → Tenants → Default Tenant Currency.
    admin.ok(
        "PUT",
        "/api/v1/settings/tenants",
        Some(json!({"defaultTenantCurrency": "nzd"})),
    );
    let tenant = admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "T2", "partnerId": "P1", "name": "Kiwi"})),
    );
    assert_eq!(tenant["currency"], "NZD");

    // No one locks themselves out: their own account cannot be disabled, made
    // federated-only or stripped of its roles by themselves.
    let me = admin.ok("GET", "/api/v1/auth/me", None);
    let id = me["id"].as_str().unwrap();
    for change in [json!({"disabled": true}), json!({"federatedOnly": true})] {
        let (status, answer) = admin.send("PUT", &format!("/api/v1/users/{id}"), Some(change));
        assert_eq!(status, 409, "{answer}");
    }
    let (status, answer) = admin.post(
        "/api/v1/roles/revoke",
        json!({"userId": id, "role": "PlatformAdministrator"}),
    );
    assert_eq!(status, 409, "{answer}");
    assert_eq!(admin.get("/api/v1/auth/me").0, 200, "still signed in");
}

#[test]
fn workflows_on_sqlite() {
    workflows(Db::Sqlite);
}

#[test]
fn workflows_on_mariadb() {
    workflows(Db::Mariadb);
}

/// The Billing and Invoices groups show the engine's platform terms even when a scenario
/// import (here the demo dataset) wrote them, and changing one group keeps the other.
#[test]
fn settings_show_the_platform_terms_an_import_wrote() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let billing = admin.ok("GET", "/api/v1/settings/billing", None);
    assert_eq!(
        billing,
        json!({"defaultPlatformCurrency": "AUD", "useMonthlyVariablePricing": true,
               "rounding": "half_even", "timeZone": "Australia/Melbourne"})
    );
    admin.ok(
        "PUT",
        "/api/v1/settings/invoices",
        Some(json!({"defaultInvoicePaymentTermsDays": 10})),
    );
    assert_eq!(admin.ok("GET", "/api/v1/settings/billing", None), billing);
    assert_eq!(
        admin.ok("GET", "/api/v1/settings", None)["invoices"]["defaultInvoicePaymentTermsDays"],
        10
    );
}

/// A price list posted with a 20-significant-digit JSON number keeps it exactly: the
/// stored list shows the literal, and the invoice's unit rate is that number, not the
/// nearest double.
#[test]
fn number_literal_rates_survive_the_api() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    let body: Value = serde_json::from_str(
        r#"{"id": "t1-exact", "scope": {"tenant": "T1"}, "currency": "AUD",
            "effectiveFrom": "2026-02-01",
            "items": [{"meter": "cores", "rate": 0.12345678901234567891}]}"#,
    )
    .unwrap();
    admin.ok("POST", "/api/v1/pricing", Some(body));
    let (_, list) = admin.get("/api/v1/pricing/t1-exact");
    assert!(
        list.to_string().contains("0.12345678901234567891"),
        "{list}"
    );
    admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"records": october_usage("exact-")})),
    );
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let invoices = admin.ok("GET", "/api/v1/billing/invoices?period=2026-10", None);
    let text = invoices.to_string();
    assert!(text.contains("\"0.12345678901234567891\""), "{text}");
    // 96 core-hours at that rate: 11.85185174518518517536 → 11.85.
    assert!(text.contains("\"11.85\""), "{text}");
}

/// The demo month bills whole: every tenant is invoiced, and the only unbilled usage is
/// one labelled example of each reason.
#[test]
fn the_demo_bills_cleanly() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let generated = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    assert_eq!(generated["previews"], 41, "{generated}");
    let mut reasons: Vec<(String, u64)> = generated["unbilled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["reason"].as_str().unwrap().to_owned(),
                u["records"].as_u64().unwrap(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("invalid_usage".to_owned(), 1),
            ("no_price".to_owned(), 1),
            ("outside_period".to_owned(), 1),
            ("unknown_subscription".to_owned(), 1),
        ],
        "{generated}"
    );
}

/// A month that cannot be billed for want of an FX rate is fixed through the API: the
/// administrator publishes the rate (checked field by field, one per pair and day) and
/// bills again; a wrong rate is withdrawn.
#[test]
fn fx_rates_are_administered() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(json!({"id": "T2", "partnerId": "P1", "name": "Kiwi", "currency": "NZD"})),
    );
    let (status, answer) = admin.post("/api/v1/billing/generate", json!({"period": "2026-10"}));
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.to_string().contains("no FX rate from NZD to AUD"),
        "{answer}"
    );

    let (status, answer) = admin.post(
        "/api/v1/fx-rates",
        json!({"from": "nzd", "to": "NZD", "rate": "-1", "asOf": "2026-10-3"}),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(fields(&answer), ["from", "rate", "asOf"], "{answer}");
    let rate: Value = serde_json::from_str(
        r#"{"from": "NZD", "to": "AUD", "rate": 0.90120000000000000001, "asOf": "2026-10-01"}"#,
    )
    .unwrap();
    let added = admin.ok("POST", "/api/v1/fx-rates", Some(rate.clone()));
    assert_eq!(added["rate"], "0.90120000000000000001");
    assert_eq!(
        admin.post("/api/v1/fx-rates", rate).0,
        409,
        "one rate per pair and day"
    );
    let list = admin.ok("GET", "/api/v1/fx-rates", None);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );

    admin.ok("DELETE", "/api/v1/fx-rates/NZD/AUD/2026-10-01", None);
    assert_eq!(admin.delete("/api/v1/fx-rates/NZD/AUD/2026-10-01").0, 404);
    assert_eq!(admin.ok("GET", "/api/v1/fx-rates", None), json!([]));
    let audit = admin.ok("GET", "/api/v1/audit", None).to_string();
    assert!(
        audit.contains("fx.create") && audit.contains("fx.delete"),
        "{audit}"
    );
}

/// Suspended subscriptions are billed; a cancelled one is billed up to its end date and
/// its later usage is reported, not dropped, as `inactive_subscription`.
#[test]
fn a_cancelled_subscription_is_billed_up_to_its_end() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"records": october_usage("end-")})),
    );
    let subscription = |status: &str, ends_on: Option<&str>| {
        let mut body = json!({"tenantId": "T1", "regionId": "mel1", "name": "S", "status": status});
        if let Some(day) = ends_on {
            body["endsOn"] = json!(day);
        }
        admin.ok("PUT", "/api/v1/subscriptions/s1", Some(body))
    };
    assert_eq!(subscription("suspended", None)["endsOn"], Value::Null);
    let generated = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    assert_eq!(
        generated["unbilled"],
        json!([]),
        "suspended is still billed"
    );

    // Melbourne is UTC+11 on 10 October: local midnight of the 11th is 13:00Z on the
    // 10th, so the last 11 of the 24 usage hours are after the end.
    let cancelled = subscription("cancelled", Some("2026-10-11"));
    assert_eq!(cancelled["endsOn"], "2026-10-11");
    let generated = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let records: u64 = generated["unbilled"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == "inactive_subscription")
        .map(|u| u["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, 22, "{generated}");
    let (status, answer) = admin.send(
        "PUT",
        "/api/v1/subscriptions/s1",
        Some(json!({"tenantId": "T1", "regionId": "mel1", "name": "S", "status": "cancelled", "endsOn": "11/10/2026"})),
    );
    assert_eq!((status, fields(&answer)), (400, vec!["endsOn".to_owned()]));
    assert_eq!(
        subscription("active", None)["endsOn"],
        Value::Null,
        "reactivated"
    );
}

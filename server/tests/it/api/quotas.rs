//! Threshold alerts on plan quotas: a plan names the percentage at which to warn and the
//! meter measuring each quota; a check over a day's usage raises one alert per
//! subscription and quota at or over it, keeps it (not a second one) while it holds, and
//! clears it when it no longer does.

use serde_json::{Value, json};

use super::{Db, Server};

const CORES: &str = "fab6eb84-500b-4a09-a8ca-7358f8bbaea5";

/// 24 hourly rows of `cores` in use on `day` for `sub`.
fn day_of(sub: &str, day: &str, cores: &str) -> Vec<Value> {
    (0..24)
        .map(|h| {
            let start = format!("{day}T{h:02}:00:00Z");
            let end = if h == 23 {
                let next = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
                    + chrono::Days::new(1);
                format!("{next}T00:00:00Z")
            } else {
                format!("{day}T{:02}:00:00Z", h + 1)
            };
            json!({"id": format!("{sub}-{day}-{h}"), "subscriptionId": sub, "meterId": CORES,
                   "start": start, "end": end, "quantity": cores})
        })
        .collect()
}

fn quota_alerts(admin: &super::Api) -> Vec<Value> {
    admin
        .ok("GET", "/api/v1/alerts?status=open", None)
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "quota.threshold")
        .cloned()
        .collect()
}

fn quotas_raise_once_and_clear(db: Db) {
    let server = Server::start(db);
    let admin = server.admin();
    admin.ok(
        "POST",
        "/api/v1/meters",
        Some(json!({"id": CORES, "name": "Base VM Size Hours", "unit": "virtual core hours"})),
    );
    let plan = |percent: Value, meters: Value| {
        json!({"id": "gold", "name": "Gold", "quotas": {"cores": 10, "storageGb": 100},
               "quotaAlerts": {"percent": percent, "meters": meters}})
    };
    // Bad quota alerts name their field.
    for (body, field) in [
        (
            plan(json!(0), json!({"cores": CORES})),
            "quotaAlerts.percent",
        ),
        (
            plan(json!(101), json!({"cores": CORES})),
            "quotaAlerts.percent",
        ),
        (plan(json!(80), json!({})), "quotaAlerts.meters"),
        (
            plan(json!(80), json!({"vms": CORES})),
            "quotaAlerts.meters.vms",
        ),
        (
            plan(json!(80), json!({"cores": "no-such-meter"})),
            "quotaAlerts.meters.cores",
        ),
    ] {
        let (status, answer) = admin.post("/api/v1/plans", body);
        assert_eq!(
            (status, answer["errors"][0]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }
    let created = admin.ok(
        "POST",
        "/api/v1/plans",
        Some(plan(json!(80), json!({"cores": CORES.to_uppercase()}))),
    );
    assert_eq!(
        created["quotaAlerts"],
        json!({"percent": 80, "meters": {"cores": CORES}})
    );

    admin.ok(
        "POST",
        "/api/v1/regions",
        Some(
            json!({"id": "mel1", "name": "Melbourne 1", "timeZone": "Australia/Melbourne",
                    "adminEndpoint": "https://adminmanagement.mel1.example",
                    "collectionWindowHours": 24}),
        ),
    );
    super::branch(&admin);
    admin.ok(
        "POST",
        "/api/v1/tenants",
        Some(
            json!({"id": "T1", "partnerId": "P1", "name": "Tenant", "currency": "AUD",
                    "timeZone": "UTC"}),
        ),
    );
    let busy = "6e1f6a2c-0d5b-4c3e-9e61-1b2a3c4d5e6f";
    let quiet = "7a2b3c4d-0d5b-4c3e-9e61-1b2a3c4d5e6f";
    for (id, plan) in [(busy, Some("gold")), (quiet, Some("gold"))] {
        admin.ok(
            "POST",
            "/api/v1/subscriptions",
            Some(
                json!({"id": id, "tenantId": "T1", "regionId": "mel1", "name": id,
                        "planId": plan}),
            ),
        );
    }
    // Reported in upper case, as stamps do: still the subscription.
    let mut records = day_of(&busy.to_uppercase(), "2026-11-30", "8.5");
    records.extend(day_of(quiet, "2026-11-30", "5"));
    admin.ok(
        "POST",
        "/api/v1/usage",
        Some(json!({"source": "quota-test", "records": records})),
    );

    let (status, answer) = admin.post("/api/v1/alerts/quota-check", json!({"day": "2099-01-01"}));
    assert_eq!(
        (status, answer["errors"][0]["field"].as_str()),
        (400, Some("day"))
    );
    let checked = admin.ok(
        "POST",
        "/api/v1/alerts/quota-check",
        Some(json!({"day": "2026-11-30"})),
    );
    assert_eq!(
        checked,
        json!({"day": "2026-11-30", "assessed": 2, "over": 1, "cleared": 0})
    );
    let open = quota_alerts(&admin);
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["subject"], format!("{busy}:cores"));
    let message = open[0]["message"].as_str().unwrap();
    assert!(
        message.contains("8.5 of 10 cores") && message.contains("(85 %;"),
        "{message}"
    );

    // Checked again: the same alert, seen twice; not a second one.
    admin.ok(
        "POST",
        "/api/v1/alerts/quota-check",
        Some(json!({"day": "2026-11-30"})),
    );
    let again = quota_alerts(&admin);
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0]["id"].clone(), again[0]["occurrences"].clone()),
        (open[0]["id"].clone(), json!(2))
    );

    // The plan now warns at 90 %: 85 % no longer does, and the alert clears.
    admin.ok(
        "PUT",
        "/api/v1/plans/gold",
        Some(plan(json!(90), json!({"cores": CORES}))),
    );
    let cleared = admin.ok(
        "POST",
        "/api/v1/alerts/quota-check",
        Some(json!({"day": "2026-11-30"})),
    );
    assert_eq!(
        (cleared["over"].clone(), cleared["cleared"].clone()),
        (json!(0), json!(1))
    );
    assert!(quota_alerts(&admin).is_empty());
    let all = admin.ok("GET", "/api/v1/alerts", None);
    let history: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "quota.threshold")
        .collect();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "cleared");
}

#[test]
fn quotas_raise_once_and_clear_on_sqlite() {
    quotas_raise_once_and_clear(Db::Sqlite);
}

#[test]
fn quotas_raise_once_and_clear_on_mariadb() {
    quotas_raise_once_and_clear(Db::Mariadb);
}

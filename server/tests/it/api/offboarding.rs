//! Offboarding over HTTP on the demo dataset: a tenant with usage cannot be deleted and
//! the refusal says to close it; closed, it keeps its history, is billed up to its
//! closing day (the rest reported as `inactive_subscription`), drops out of default
//! lists, and can be reopened. Only those who may edit the tenant may close it.

use serde_json::{Value, json};
use stackbill_core::Decimal;

use super::{Api, Db, Server, ids};

const PASSWORD: &str = "Offboarding-password-1";

fn invoice_total(admin: &Api, tenant: &str) -> String {
    let list = admin.ok("GET", "/api/v1/billing/invoices?period=2026-10", None);
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["tenantId"] == tenant)
        .map(|i| i["total"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no invoice of {tenant}: {list}"))
}

fn inactive_records(generated: &Value, subscription: &str) -> u64 {
    generated["unbilled"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["reason"] == "inactive_subscription" && u["subscription"] == subscription)
        .map(|u| u["records"].as_u64().unwrap())
        .sum()
}

#[test]
fn a_tenant_with_history_is_closed_not_deleted() {
    let server = Server::start_with(Db::Sqlite, true, &["--demo"]);
    let admin = server.admin();
    let tenants = ids(&admin.ok("GET", "/api/v1/tenants?pageSize=1000", None));
    let tenant = tenants[0].clone();
    let partner = admin.ok("GET", &format!("/api/v1/tenants/{tenant}"), None)["partnerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscription = admin
        .ok("GET", "/api/v1/subscriptions?pageSize=1000", None)
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tenantId"] == tenant.as_str())
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap();
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let whole_month = invoice_total(&admin, &tenant);

    let (status, answer) = admin.delete(&format!("/api/v1/tenants/{tenant}"));
    assert_eq!(status, 409, "{answer}");
    assert!(answer.to_string().contains("close it instead"), "{answer}");

    // Who may close: the tenant's partner administrator, not a reader, not another branch.
    let reader_body = json!({"emailAddress": "reader@off.test", "firstName": "R", "lastName": "R",
        "password": PASSWORD, "role": "PartnerReader", "partnerId": partner});
    admin.ok("POST", "/api/v1/users", Some(reader_body));
    let reader = server.login("reader@off.test", PASSWORD);
    let close = format!("/api/v1/tenants/{tenant}/close");
    assert_eq!(
        reader.post(&close, json!({"closedOn": "2026-10-15"})).0,
        403
    );
    let other = ["part-000", "part-001"]
        .into_iter()
        .find(|p| *p != partner)
        .unwrap();
    admin.ok(
        "POST",
        "/api/v1/users",
        Some(json!({"emailAddress": "other@off.test",
        "firstName": "O", "lastName": "O", "password": PASSWORD,
        "role": "PartnerAdministrator", "partnerId": other})),
    );
    let stranger = server.login("other@off.test", PASSWORD);
    assert_eq!(
        stranger.post(&close, json!({"closedOn": "2026-10-15"})).0,
        404
    );
    for bad in ["2026-10-32", "2026-10- 5", "+2026-10-05", "2026-1-05"] {
        let (status, answer) = admin.post(&close, json!({"closedOn": bad}));
        assert_eq!(status, 400, "{bad}: {answer}");
        assert_eq!(answer["errors"][0]["field"], "closedOn", "{answer}");
    }

    // An issued period stays as billed: its tenant closes after it, not inside it.
    let issued_tenant = tenants[1].clone();
    let invoices = admin.ok("GET", "/api/v1/billing/invoices?period=2026-10", None);
    let invoice = invoices
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tenantId"] == issued_tenant.as_str())
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .unwrap();
    admin.ok(
        "POST",
        &format!("/api/v1/billing/invoices/{invoice}/issue"),
        Some(json!({})),
    );
    let close_issued = format!("/api/v1/tenants/{issued_tenant}/close");
    let (status, answer) = admin.post(&close_issued, json!({"closedOn": "2026-10-20"}));
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("2026-11-01"), "{answer}");
    admin.ok(
        "POST",
        &close_issued,
        Some(json!({"closedOn": "2026-11-01"})),
    );

    admin.ok(
        "POST",
        "/api/v1/users",
        Some(json!({"emailAddress": "padmin@off.test",
        "firstName": "P", "lastName": "P", "password": PASSWORD,
        "role": "PartnerAdministrator", "partnerId": partner})),
    );
    let owner = server.login("padmin@off.test", PASSWORD);
    let closed = owner.ok("POST", &close, Some(json!({"closedOn": "2026-10-15"})));
    assert_eq!(
        (closed["status"].clone(), closed["closedOn"].clone()),
        (json!("closed"), json!("2026-10-15"))
    );

    // While closed, nothing of it can be billed again.
    let (status, answer) = admin.post(
        "/api/v1/subscriptions",
        json!({"tenantId": tenant, "regionId": "mel1", "name": "After closing"}),
    );
    assert_eq!(status, 409, "{answer}");
    let (status, answer) = admin.send(
        "PUT",
        &format!("/api/v1/subscriptions/{subscription}"),
        Some(json!({"tenantId": tenant, "regionId": "mel1", "name": "Back", "status": "active"})),
    );
    assert_eq!(status, 409, "{answer}");

    // Out of default lists, still there on request, its subscription cancelled with it.
    let listed = ids(&admin.ok("GET", "/api/v1/tenants?pageSize=1000", None));
    assert!(!listed.contains(&tenant), "{listed:?}");
    let all = ids(&admin.ok(
        "GET",
        "/api/v1/tenants?pageSize=1000&includeClosed=true",
        None,
    ));
    assert_eq!(all, tenants);
    let subs = ids(&admin.ok("GET", "/api/v1/subscriptions?pageSize=1000", None));
    assert!(!subs.contains(&subscription));
    let sub = admin.ok(
        "GET",
        &format!("/api/v1/subscriptions/{subscription}"),
        None,
    );
    assert_eq!(
        (sub["status"].clone(), sub["endsOn"].clone()),
        (json!("cancelled"), json!("2026-10-15"))
    );

    // Billed up to the 15th; the rest is reported, nothing dropped.
    let generated = admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    assert!(
        inactive_records(&generated, &subscription) > 0,
        "{generated}"
    );
    let half_month = invoice_total(&admin, &tenant);
    let (whole, half): (Decimal, Decimal) =
        (whole_month.parse().unwrap(), half_month.parse().unwrap());
    assert!(
        half < whole && half > Decimal::ZERO,
        "{half_month} of {whole_month}"
    );

    // Reopened: listed again; its subscription stays cancelled until reactivated.
    let reopened = owner.ok("POST", &format!("/api/v1/tenants/{tenant}/reopen"), None);
    assert_eq!(reopened["status"], "active");
    assert_eq!(reopened["closedOn"], Value::Null);
    let listed = ids(&admin.ok("GET", "/api/v1/tenants?pageSize=1000", None));
    assert!(listed.contains(&tenant));
    let sub = admin.ok(
        "GET",
        &format!("/api/v1/subscriptions/{subscription}"),
        None,
    );
    assert_eq!(sub["status"], "cancelled");
    let audit = admin.ok("GET", "/api/v1/audit", None).to_string();
    assert!(audit.contains("tenant.close") && audit.contains("tenant.reopen"));
}

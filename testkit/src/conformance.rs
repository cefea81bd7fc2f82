//! The conformance suite every store passes, against a real database: each case gets a
//! fresh, migrated store. Store crates instantiate it with [`conformance_tests!`].

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};
use stackbill_core::scenario::json as sj;

use stackbill_store::billing::{bill, export_scenario, import_scenario};
use stackbill_store::{
    InvoiceFilter, InvoiceRow, InvoiceStatus, NodeKind, RefreshTokenRow, RefreshUse, Result, Store,
    StoreError, UsageBatch, UsageRow, UserRow,
};

mod billing_runs;
mod collection;
mod directory_keys;
mod documents;
mod jobs;
mod offboarding;
mod usage_import;

pub use billing_runs::{
    branch_runs_write_their_commissions, concurrent_bill_and_issue,
    narrowed_runs_equal_the_full_run, second_month_after_issue,
};
pub use collection::{alerts, collection_records, leases};
pub use directory_keys::ids_unique_in_any_case;
pub use documents::invoice_documents_are_kept_once;
pub use jobs::{job_claims_race, job_endings, job_leases, schedule_marks};
pub use offboarding::{closing_a_tenant_ends_its_billing, imports_are_all_or_nothing};
pub use usage_import::{
    batch_rollups_equal_rows, rollups_of_subscriptions_are_theirs,
    streamed_import_rollups_equal_rows,
};

/// A boxed future borrowing the store.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

macro_rules! vector {
    ($name:literal) => {
        (
            include_str!(concat!(
                "../../core/tests/vectors/",
                $name,
                ".scenario.json"
            )),
            include_str!(concat!(
                "../../core/tests/vectors/",
                $name,
                ".expected.json"
            )),
        )
    };
}

macro_rules! scenario {
    ($name:literal) => {
        (
            include_str!(concat!(
                "../../core/tests/scenarios/",
                $name,
                ".scenario.json"
            )),
            include_str!(concat!(
                "../../core/tests/scenarios/",
                $name,
                ".expected.json"
            )),
        )
    };
}

/// Case files billed through the store: (scenario, expected output).
pub fn case_files() -> Vec<(&'static str, &'static str, &'static str)> {
    let v = [
        ("flat-basic", vector!("flat-basic")),
        ("tiers-graduated-volume", vector!("tiers-graduated-volume")),
        ("precedence", vector!("precedence")),
        ("monthly-variable-dst", vector!("monthly-variable-dst")),
        ("fx-credits-tax", vector!("fx-credits-tax")),
        ("commissions", vector!("commissions")),
        ("dedup-invalid", vector!("dedup-invalid")),
        ("kwd-three-decimals", scenario!("kwd-three-decimals")),
        ("leap-february", scenario!("leap-february")),
        (
            "tenant-credit-exceeds-charges",
            scenario!("tenant-credit-exceeds-charges"),
        ),
        (
            "partner-without-tenants",
            scenario!("partner-without-tenants"),
        ),
        ("subscription-ends", scenario!("subscription-ends")),
    ];
    v.into_iter().map(|(n, (s, e))| (n, s, e)).collect()
}

fn fail(message: String) -> StoreError {
    StoreError::InvalidState(format!("conformance: {message}"))
}

fn check(ok: bool, message: impl FnOnce() -> String) -> Result<()> {
    if ok { Ok(()) } else { Err(fail(message())) }
}

/// Imports a case file, bills its period, and checks the output equals the expectation;
/// then exports the period and checks that rating the export gives the same.
pub async fn case_file(store: &dyn Store, scenario: &str, expected: &str) -> Result<()> {
    let want: Value = serde_json::from_str(expected).map_err(|e| fail(e.to_string()))?;
    let period = want["period"].as_str().unwrap_or_default().to_owned();
    import_scenario(store, scenario).await?;
    let report = bill(store, &period, None).await?;
    let got = sj::outcome_to_value(&report.outcome);
    check(got == want, || {
        format!("bill differs:\n{got:#}\nwant:\n{want:#}")
    })?;
    let stored = store
        .invoices(&InvoiceFilter {
            period: Some(period.clone()),
            ..InvoiceFilter::default()
        })
        .await?;
    let docs: Vec<&Value> = stored.iter().map(|i| &i.document).collect();
    let want_docs: Vec<&Value> = want["invoices"].as_array().into_iter().flatten().collect();
    check(docs == want_docs, || {
        "stored previews differ from the output".into()
    })?;
    let summaries = store
        .invoice_summaries(&InvoiceFilter {
            period: Some(period.clone()),
            ..InvoiceFilter::default()
        })
        .await?;
    let without_documents: Vec<InvoiceRow> = stored
        .iter()
        .map(|i| InvoiceRow {
            document: Value::Null,
            ..i.clone()
        })
        .collect();
    check(summaries == without_documents, || {
        "invoice summaries are the invoices without their documents".into()
    })?;
    let commissions: Vec<Value> = store
        .commissions(&period)
        .await?
        .into_iter()
        .map(|mut c| {
            // The stored document is the §10 commission plus the bands applied.
            if let Some(doc) = c.document.as_object_mut() {
                doc.remove("bands");
            }
            c.document
        })
        .collect();
    check(Value::Array(commissions) == want["commissions"], || {
        "stored commissions differ".into()
    })?;
    let exported = export_scenario(store, &period).await?;
    let rated = sj::rate_document(&exported.to_string()).map_err(|e| fail(e.to_string()))?;
    check(sj::outcome_to_value(&rated) == want, || {
        "rating the exported scenario differs from billing".into()
    })?;
    // A second import of the same file changes nothing.
    import_scenario(store, scenario).await?;
    let again = sj::outcome_to_value(&bill(store, &period, None).await?.outcome);
    check(again == want, || "re-importing changed the bill".into())
}

/// An invalid scenario is refused whole: nothing is written.
pub async fn invalid_import_writes_nothing(store: &dyn Store) -> Result<()> {
    let (bad, _) = vector!("error-unknown-references");
    match import_scenario(store, bad).await {
        Err(StoreError::Invalid(invalid)) => {
            check(invalid.problems.len() >= 3, || format!("{invalid:?}"))?
        }
        other => return Err(fail(format!("expected Invalid, got {other:?}"))),
    }
    check(store.tenants().await?.is_empty(), || {
        "tenants were written".into()
    })?;
    check(store.usage_count().await? == 0, || {
        "usage was written".into()
    })
}

pub(crate) fn base_scenario() -> Value {
    json!({
        "period": "2026-10",
        "platform": {"currency": "AUD", "time_zone": "UTC", "rounding": "half_even"},
        "distributors": [{"id": "d1"}],
        "partners": [{"id": "p1", "distributor": "d1"}, {"id": "p2", "distributor": "d1"}],
        "tenants": [{"id": "t1", "partner": "p1", "tax_percent": "10"},
                    {"id": "t2", "partner": "p1"}, {"id": "t3", "partner": "p2"}],
        "subscriptions": [{"id": "s1", "tenant": "t1", "region": "r"},
                          {"id": "s2", "tenant": "t2", "region": "r"},
                          {"id": "s3", "tenant": "t3", "region": "r"}],
        "price_lists": [{"id": "l", "scope": {"region": "r"}, "currency": "AUD",
                         "effective_from": "2026-01-01",
                         "items": [{"meter": "m", "rate": "0.5"}, {"meter": "n", "rate": "0.01"}]}],
        "usage": []
    })
}

/// Generated usage rows with ids: `count` rows over three subscriptions in October 2026.
pub fn generated_rows(count: usize, offset: usize) -> Vec<UsageRow> {
    (offset..offset + count)
        .map(|i| {
            let hour = i % 700;
            let start = format!("2026-10-{:02}T{:02}:00:00Z", 1 + hour / 24, hour % 24);
            let end = format!("2026-10-{:02}T{:02}:59:59Z", 1 + hour / 24, hour % 24);
            UsageRow {
                id: format!("rec-{i:08}"),
                synthetic: false,
                subscription: Some(format!("s{}", 1 + i % 3)),
                meter: Some(if i % 2 == 0 { "m" } else { "n" }.to_owned()),
                sku: None,
                resource: Some(format!("vm-{}", i % 7)),
                start_ns: stackbill_core::usage::parse_instant(&start),
                end_ns: stackbill_core::usage::parse_instant(&end),
                start: Some(start),
                end: Some(end),
                quantity: Some(format!("{}.{:03}", 1 + i % 5, i % 1000)),
                malformed: false,
            }
        })
        .collect()
}

fn october() -> UsageBatch {
    UsageBatch {
        source: "conformance".into(),
        window: (1_790_812_800_000_000_000, 1_793_491_200_000_000_000),
    }
}

/// Ingesting the same rows three times: the first stores them, the next two report them
/// as duplicates, and the bill never changes.
pub async fn idempotent_reingest(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    let rows = generated_rows(3000, 0);
    let mut bills = Vec::new();
    for round in 0..3 {
        let r = store.ingest_usage(&october(), &rows).await?;
        let want = if round == 0 { (3000, 0) } else { (0, 3000) };
        check((r.new, r.duplicate) == want, || {
            format!("round {round}: {r:?}")
        })?;
        bills.push(sj::outcome_to_value(
            &bill(store, "2026-10", None).await?.outcome,
        ));
    }
    check(store.usage_count().await? == 3000, || "row count".into())?;
    check(bills[0] == bills[1] && bills[1] == bills[2], || {
        "bills differ".into()
    })?;
    // A corrected record (same id, new quantity) replaces the stored one.
    let mut fixed = rows[0].clone();
    fixed.quantity = Some("100".into());
    let r = store.ingest_usage(&october(), &[fixed]).await?;
    check(r.replaced == 1 && r.new == 0, || format!("{r:?}"))?;
    let after = sj::outcome_to_value(&bill(store, "2026-10", None).await?.outcome);
    check(after != bills[0], || "the correction was not billed".into())
}

/// Two connections ingest overlapping batches at the same time: every id is stored once,
/// none is lost.
pub async fn concurrent_ingest(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    let a = generated_rows(4000, 0);
    let b = generated_rows(4000, 2000);
    let (ra, rb) = futures::future::join(
        store.ingest_usage(&october(), &a),
        store.ingest_usage(&october(), &b),
    )
    .await;
    let (ra, rb) = (ra?, rb?);
    check(ra.new + rb.new == 6000, || format!("{ra:?} {rb:?}"))?;
    check(ra.duplicate + rb.duplicate == 2000, || {
        format!("{ra:?} {rb:?}")
    })?;
    check(store.usage_count().await? == 6000, || "row count".into())?;
    let total: u64 = bill(store, "2026-10", None)
        .await?
        .outcome
        .invoices
        .iter()
        .flat_map(|i| i.lines.iter())
        .map(|l| l.quantity.map_or(0, |q| u64::from(!q.is_zero())))
        .sum();
    check(total > 0, || "nothing billed".into())
}

/// Preview → issued (gap-free numbers, due dates from payment terms) → paid or void;
/// issued invoices survive re-billing untouched and cannot be deleted.
pub async fn invoice_lifecycle(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    store
        .ingest_usage(&october(), &generated_rows(300, 0))
        .await?;
    bill(store, "2026-10", None).await?;
    let previews = store.invoices(&InvoiceFilter::default()).await?;
    check(previews.len() == 3, || {
        format!("{} previews", previews.len())
    })?;
    let first = store.issue_invoice(previews[0].id, "2026-11-03").await?;
    let second = store.issue_invoice(previews[1].id, "2026-11-03").await?;
    check(first.number.as_deref() == Some("INV-2026-000001"), || {
        format!("{first:?}")
    })?;
    check(second.number.as_deref() == Some("INV-2026-000002"), || {
        format!("{second:?}")
    })?;
    check(first.due_date.as_deref() == Some("2026-12-03"), || {
        format!("{first:?}")
    })?;
    check(first.status == InvoiceStatus::Issued, || "status".into())?;
    check(store.invoice(first.id).await? == first, || {
        "invoice by id".into()
    })?;
    match store.invoice(i64::MAX).await {
        Err(StoreError::NotFound { .. }) => {}
        other => return Err(fail(format!("a missing invoice: {other:?}"))),
    }
    match store.issue_invoice(first.id, "2026-11-04").await {
        Err(StoreError::InvalidState(_)) => {}
        other => return Err(fail(format!("issuing twice: {other:?}"))),
    }
    match store.delete_preview(first.id).await {
        Err(StoreError::InvalidState(_)) => {}
        other => return Err(fail(format!("deleting an issued invoice: {other:?}"))),
    }
    // More usage, re-bill: the issued invoices stay exactly as they were.
    store
        .ingest_usage(&october(), &generated_rows(30, 5000))
        .await?;
    let report = bill(store, "2026-10", None).await?;
    check(report.kept_issued.len() == 2, || {
        format!("{:?}", report.kept_issued)
    })?;
    let again = store.invoices(&InvoiceFilter::default()).await?;
    let first_again = again.iter().find(|i| i.id == first.id);
    check(first_again == Some(&first), || {
        "an issued invoice changed".into()
    })?;
    check(again.len() == 3, || {
        format!("{} invoices after re-billing", again.len())
    })?;
    let paid = store.settle_invoice(first.id, InvoiceStatus::Paid).await?;
    check(
        paid.status == InvoiceStatus::Paid && paid.number == first.number,
        || format!("{paid:?}"),
    )?;
    match store.settle_invoice(first.id, InvoiceStatus::Void).await {
        Err(StoreError::InvalidState(_)) => {}
        other => return Err(fail(format!("voiding a paid invoice: {other:?}"))),
    }
    let void = store.settle_invoice(second.id, InvoiceStatus::Void).await?;
    check(void.status == InvoiceStatus::Void, || "void".into())?;
    // The third is still a preview and can be deleted; numbering has no gap.
    let third = again
        .iter()
        .find(|i| i.status == InvoiceStatus::Preview)
        .ok_or_else(|| fail("no preview left".into()))?;
    let issued = store.issue_invoice(third.id, "2026-11-05").await?;
    check(issued.number.as_deref() == Some("INV-2026-000003"), || {
        format!("{issued:?}")
    })
}

/// Usage arriving after October's invoice was issued: October stays as issued; November's
/// preview carries an adjustment line for October equal to re-rated minus issued, taxed,
/// and re-billing November does not count it twice.
pub async fn late_usage_adjustment(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    store
        .ingest_usage(&october(), &generated_rows(300, 0))
        .await?;
    bill(store, "2026-10", None).await?;
    let october_invoices = store
        .invoices(&InvoiceFilter {
            tenant: Some("t1".into()),
            ..InvoiceFilter::default()
        })
        .await?;
    let issued = store
        .issue_invoice(october_invoices[0].id, "2026-11-02")
        .await?;
    // 4 more units of meter m (0.5 each) on s1, reported late, inside October.
    let late = UsageRow {
        id: "late-1".into(),
        quantity: Some("4".into()),
        ..generated_rows(1, 0)[0].clone()
    };
    store.ingest_usage(&october(), &[late]).await?;
    for _ in 0..2 {
        let report = bill(store, "2026-11", None).await?;
        let t1 = report.document["invoices"]
            .as_array()
            .and_then(|i| i.iter().find(|x| x["tenant"] == "t1"))
            .cloned()
            .ok_or_else(|| fail("no November invoice for t1".into()))?;
        let adjustments: Vec<&Value> = t1["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["kind"] == "adjustment")
            .collect();
        check(adjustments.len() == 1, || format!("{t1:#}"))?;
        let a = adjustments[0];
        check(
            a["adjusts"] == "2026-10" && a["amount"] == "2.00" && a["quantity"] == "4",
            || format!("{a:#}"),
        )?;
        check(a["subscription"] == "s1" && a["meter"] == "m", || {
            format!("{a:#}")
        })?;
        // t1 pays 10 % tax: November has no usage of its own, so 2.00 + 0.20.
        check(
            t1["subtotal"] == "2.00" && t1["tax"] == "0.20" && t1["total"] == "2.20",
            || format!("{t1:#}"),
        )?;
        let october = store
            .invoices(&InvoiceFilter {
                tenant: Some("t1".into()),
                period: Some("2026-10".into()),
                ..InvoiceFilter::default()
            })
            .await?;
        check(october == vec![issued.clone()], || {
            "the issued invoice changed".into()
        })?;
    }
    Ok(())
}

/// Regions, meters, plans, users and roles, settings and jobs round-trip; secrets are
/// refused where a reference is required; e-mails are unique; regions in use cannot go.
pub async fn administration(store: &dyn Store) -> Result<()> {
    use stackbill_store::{MeterRow, PlanRow, RegionRow, RoleAssignmentRow};
    import_scenario(store, &base_scenario().to_string()).await?;
    let mut region = RegionRow {
        id: "r".into(),
        name: "Melbourne 1".into(),
        time_zone: "Australia/Melbourne".into(),
        admin_endpoint: "https://adminmanagement.mel1.example".into(),
        collection_window_hours: 24,
        credential_ref: Some("hunter2-client-secret".into()),
        details: json!({"audience": "https://adminmanagement.example/x"}),
    };
    match store.put_region(&region).await {
        Err(StoreError::Rejected { .. }) => {}
        other => {
            return Err(fail(format!(
                "a secret was accepted as a reference: {other:?}"
            )));
        }
    }
    region.credential_ref = Some("env:STACKBILL_MEL1_SECRET".into());
    store.put_region(&region).await?;
    check(store.regions().await? == vec![region.clone()], || {
        "region".into()
    })?;
    match store.delete_region("r").await {
        Err(StoreError::Blocked { blockers, .. }) => {
            check(blockers.contains("3 subscriptions"), || blockers.clone())?
        }
        other => return Err(fail(format!("deleting a region in use: {other:?}"))),
    }
    let meter = MeterRow {
        id: "fab6eb84-500b-4a09-a8ca-7358f8bbaea5".into(),
        name: "Base VM Size Hours".into(),
        unit: "virtual core hours".into(),
    };
    store.put_meter(&meter).await?;
    check(store.meters().await? == vec![meter.clone()], || {
        "meter".into()
    })?;
    let plan = PlanRow {
        id: "gold".into(),
        name: "Gold".into(),
        quotas: json!({"cores": 64, "storage_gb": 2048}),
        offer: Some("/delegatedProviders/default/offers/gold".into()),
        quota_alerts: Some(stackbill_store::QuotaAlerts {
            percent: 80,
            meters: [("cores".to_owned(), meter.id.clone())].into(),
        }),
    };
    store.put_plan(&plan).await?;
    check(store.plans().await? == vec![plan], || "plan".into())?;

    let mut user = UserRow {
        id: "u1".into(),
        email: "JDoe@Northwind.example".into(),
        first_name: "John".into(),
        last_name: "Doe".into(),
        phone: Some("+61359763070".into()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        mfa_secret_sealed: Some("sealed:v1:abcdef".into()),
        mfa_required: true,
        federated_only: false,
        disabled: false,
        locked_out: false,
        activated: true,
        failed_logins: 0,
        must_change_password: true,
        activation_code_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Y29kZQ".into()),
        session_epoch: 0,
    };
    store.put_user(&user).await?;
    user.locked_out = true;
    user.failed_logins = 5;
    store.put_user(&user).await?;
    check(store.users().await? == vec![user.clone()], || "user".into())?;
    check(
        store.user_by_email("jdoe@northwind.example").await? == Some(user.clone()),
        || "e-mail look-up is case-insensitive".into(),
    )?;
    check(
        store.user("u1").await? == Some(user.clone()) && store.user("U1").await?.is_none(),
        || "look-up by id".into(),
    )?;
    let twin = UserRow {
        id: "u2".into(),
        email: "jdoe@NORTHWIND.example".into(),
        ..user.clone()
    };
    match store.put_user(&twin).await {
        Err(StoreError::Conflict { field: "email", .. }) => {}
        other => {
            return Err(fail(format!(
                "a second user with the same e-mail: {other:?}"
            )));
        }
    }
    let grant = RoleAssignmentRow {
        user: "u1".into(),
        role: "TenantAdministrator".into(),
        distributor: Some("d1".into()),
        partner: Some("p1".into()),
        tenant: Some("t1".into()),
    };
    store.grant_role(&grant).await?;
    store.grant_role(&grant).await?;
    check(
        store.role_assignments("u1").await? == vec![grant.clone()],
        || "grant".into(),
    )?;
    check(
        store.all_role_assignments().await? == vec![grant.clone()],
        || "all grants".into(),
    )?;
    match store
        .grant_role(&RoleAssignmentRow {
            user: "nobody".into(),
            ..grant.clone()
        })
        .await
    {
        Err(StoreError::MissingReference { .. }) => {}
        other => return Err(fail(format!("granting to an unknown user: {other:?}"))),
    }
    store.revoke_role(&grant).await?;
    check(store.role_assignments("u1").await?.is_empty(), || {
        "revoke".into()
    })?;
    store.grant_role(&grant).await?;
    store.delete_user("u1").await?;
    check(store.users().await?.is_empty(), || "delete user".into())?;
    check(store.role_assignments("u1").await?.is_empty(), || {
        "grants left behind".into()
    })?;

    store
        .put_settings("tenants", &json!({"partner_self_provisioning": false}))
        .await?;
    store
        .put_settings("tenants", &json!({"partner_self_provisioning": true}))
        .await?;
    store
        .put_settings("branding", &json!({"name": "Harbour Cloud"}))
        .await?;
    let settings = store.settings().await?;
    check(
        settings.get("tenants") == Some(&json!({"partner_self_provisioning": true}))
            && settings.len() == 2,
        || format!("{settings:?}"),
    )?;

    let job = store.start_job("usage.process").await?;
    store.update_job(job, "succeeded", 100, "730 rows").await?;
    let jobs = store.jobs().await?;
    check(
        jobs.len() == 1
            && jobs[0].id == job
            && jobs[0].kind == "usage.process"
            && jobs[0].status == "succeeded"
            && jobs[0].progress == 100
            && jobs[0].message == "730 rows",
        || format!("job: {jobs:?}"),
    )
}

/// Deletes that would orphan data are refused, naming what blocks them.
pub async fn deletes_are_guarded(store: &dyn Store) -> Result<()> {
    import_scenario(store, &base_scenario().to_string()).await?;
    match store.delete(NodeKind::Partner, "p1").await {
        Err(StoreError::Blocked { blockers, .. }) => {
            check(blockers.contains("t1") && blockers.contains("t2"), || {
                blockers.clone()
            })?
        }
        other => return Err(fail(format!("deleting a partner with tenants: {other:?}"))),
    }
    store
        .ingest_usage(&october(), &generated_rows(30, 0))
        .await?;
    bill(store, "2026-10", None).await?;
    match store.delete(NodeKind::Subscription, "s3").await {
        Err(StoreError::Blocked { blockers, .. }) => {
            check(blockers.contains("usage"), || blockers.clone())?
        }
        other => {
            return Err(fail(format!(
                "deleting a subscription with usage: {other:?}"
            )));
        }
    }
    match store.delete(NodeKind::Tenant, "t3").await {
        Err(StoreError::Blocked { blockers, .. }) => {
            check(blockers.contains("s3"), || blockers.clone())?
        }
        other => {
            return Err(fail(format!(
                "deleting a tenant with subscriptions: {other:?}"
            )));
        }
    }
    match store.delete(NodeKind::Distributor, "nope").await {
        Err(StoreError::NotFound { .. }) => {}
        other => return Err(fail(format!("deleting nothing: {other:?}"))),
    }
    // A partner with no tenants goes.
    let mut extra = base_scenario();
    if let Some(partners) = extra["partners"].as_array_mut() {
        partners.push(json!({"id": "p9", "distributor": "d1"}));
    }
    import_scenario(store, &extra.to_string()).await?;
    store.delete(NodeKind::Partner, "p9").await?;
    check(
        !store.partners().await?.iter().any(|p| p.id == "p9"),
        || "p9 still there".into(),
    )?;
    // A price list keeps its display name and description…
    let mut named = store.price_lists().await?.remove(0);
    named.name = Some("Standard – AUD".into());
    named.description = Some("Rates for region r".into());
    store.put_price_list(&named).await?;
    check(store.price_lists().await? == vec![named.clone()], || {
        format!("{named:?}")
    })?;
    // …and goes; issued invoices keep their lines (they are documents).
    store.delete_price_list("l").await?;
    check(store.price_lists().await?.is_empty(), || {
        "price list l still there".into()
    })?;
    match store.delete_price_list("l").await {
        Err(StoreError::NotFound { .. }) => Ok(()),
        other => Err(fail(format!("deleting a missing price list: {other:?}"))),
    }
}

/// Sign-in state: failures back off per key without locking, each TOTP step is accepted
/// once, a refresh token rotates once (successor stored in the same transaction, never
/// past the family's absolute end) while a replay revokes its whole family, and ending
/// sessions bumps the epoch.
pub async fn sessions(store: &dyn Store) -> Result<()> {
    let user = UserRow::active("u1", "ops@example.test", "Ops", "Person");
    store.put_user(&user).await?;
    for _ in 0..3 {
        store.record_login_failure("u1").await?;
    }
    let counted = store.user_by_email("ops@example.test").await?;
    check(
        counted
            .as_ref()
            .is_some_and(|u| !u.locked_out && u.failed_logins == 3),
        || format!("failures count and never lock: {counted:?}"),
    )?;
    store.record_login_success("u1").await?;
    let after = store.user_by_email("ops@example.test").await?;
    check(after.as_ref().is_some_and(|u| u.failed_logins == 0), || {
        format!("success clears the count: {after:?}")
    })?;

    fn doubling(failures: i64) -> i64 {
        if failures < 3 {
            0
        } else {
            1 << (failures - 3).min(10)
        }
    }
    let mut until = Vec::new();
    for _ in 0..5 {
        until.push(store.record_sign_in_failure("k1", 1_000, &doubling).await?);
    }
    check(until == [1_000, 1_000, 1_001, 1_002, 1_004], || {
        format!("back-off doubles from the threshold: {until:?}")
    })?;
    let blocked = [
        store.sign_in_blocked_until("k1", 1_003).await?,
        store.sign_in_blocked_until("k1", 1_004).await?,
        store.sign_in_blocked_until("k2", 0).await?,
    ];
    check(blocked == [Some(1_004), None, None], || {
        format!("{blocked:?}")
    })?;
    let forgotten = store
        .record_sign_in_failure("k1", 1_000 + 2 * 86_400, &doubling)
        .await?;
    check(forgotten == 1_000 + 2 * 86_400, || {
        format!("a day later the count starts again: {forgotten}")
    })?;
    store.clear_sign_in_failures("k1").await?;
    let cleared = store.record_sign_in_failure("k1", 5_000, &doubling).await?;
    check(cleared == 5_000, || {
        format!("cleared keys start again: {cleared}")
    })?;

    let claims = [
        store.claim_totp_step("u1", 100).await?,
        store.claim_totp_step("u1", 100).await?,
        store.claim_totp_step("u1", 99).await?,
        store.claim_totp_step("u1", 101).await?,
    ];
    check(claims == [true, false, false, true], || {
        format!("{claims:?}")
    })?;

    let token = |hash: &str, family: &str| RefreshTokenRow {
        hash: hash.into(),
        family: family.into(),
        user: "u1".into(),
        expires_at: 2_000,
        family_expires_at: 2_500,
    };
    store.put_refresh_token(&token("a", "f1")).await?;
    let first = store.rotate_refresh_token("a", 1_000, "b", 1_000).await?;
    check(
        first
            == RefreshUse::Rotated(RefreshTokenRow {
                expires_at: 2_000,
                ..token("b", "f1")
            }),
        || format!("first use rotates: {first:?}"),
    )?;
    let capped = store.rotate_refresh_token("b", 1_900, "c", 1_000).await?;
    check(
        capped
            == RefreshUse::Rotated(RefreshTokenRow {
                expires_at: 2_500,
                ..token("c", "f1")
            }),
        || format!("a successor never outlives the family: {capped:?}"),
    )?;
    check(
        store.rotate_refresh_token("a", 1_950, "x", 1_000).await?
            == RefreshUse::Replayed { user: "u1".into() },
        || "a replay is detected".into(),
    )?;
    check(
        store.rotate_refresh_token("c", 1_960, "y", 1_000).await?
            == RefreshUse::Replayed { user: "u1".into() },
        || "the replay revoked the latest successor too".into(),
    )?;
    store.put_refresh_token(&token("e", "f2")).await?;
    check(
        store.rotate_refresh_token("e", 3_000, "z", 1_000).await? == RefreshUse::Expired,
        || "expired".into(),
    )?;
    check(
        store.rotate_refresh_token("zzz", 1_000, "w", 1_000).await? == RefreshUse::Unknown,
        || "unknown".into(),
    )?;
    store.put_refresh_token(&token("d", "f3")).await?;
    store.end_sessions("u1").await?;
    check(
        matches!(
            store.rotate_refresh_token("d", 1_000, "v", 1_000).await?,
            RefreshUse::Replayed { .. }
        ),
        || "revoked tokens are refused".into(),
    )?;
    let epoch = store
        .user_by_email("ops@example.test")
        .await?
        .map(|u| u.session_epoch);
    check(epoch == Some(1), || {
        format!("ending sessions bumps the epoch: {epoch:?}")
    })?;
    store.put_user(&user).await?;
    let kept = store
        .user_by_email("ops@example.test")
        .await?
        .map(|u| u.session_epoch);
    check(kept == Some(1), || {
        format!("writing the user keeps its epoch: {kept:?}")
    })?;

    let linked = store
        .link_federated_identity("https://idp", "sub-1", "u1", "2026-12-04T00:00:00Z")
        .await?;
    let twin = UserRow {
        id: "u2".into(),
        email: "other@example.test".into(),
        ..user.clone()
    };
    store.put_user(&twin).await?;
    let again = store
        .link_federated_identity("https://idp", "sub-1", "u2", "2026-12-04T00:00:01Z")
        .await?;
    let found = store.federated_identity("https://idp", "sub-1").await?;
    let other = store.federated_identity("https://idp", "SUB-1").await?;
    check(
        linked == "u1" && again == "u1" && found.as_deref() == Some("u1") && other.is_none(),
        || {
            format!(
                "the first binding wins, subjects match exactly: {linked} {again} {found:?} {other:?}"
            )
        },
    )
}

/// Expands to one `#[tokio::test]` per conformance case; `$make` is an async expression
/// yielding a fresh, migrated store (and whatever guard keeps its database alive).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance as c;

            async fn run(case: impl for<'a> FnOnce(&'a dyn $crate::Store) -> c::CaseFuture<'a>) {
                let (store, _guard) = $make.await;
                if let Err(e) = case(&store).await {
                    panic!("{e}");
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn case_files() {
                for (name, scenario, expected) in c::case_files() {
                    let (store, _guard) = $make.await;
                    if let Err(e) = c::case_file(&store, scenario, expected).await {
                        panic!("{name}: {e}");
                    }
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn invalid_import_writes_nothing() {
                run(|s| Box::pin(c::invalid_import_writes_nothing(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn idempotent_reingest() {
                run(|s| Box::pin(c::idempotent_reingest(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn batch_rollups_equal_rows() {
                run(|s| Box::pin(c::batch_rollups_equal_rows(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rollups_of_subscriptions_are_theirs() {
                run(|s| Box::pin(c::rollups_of_subscriptions_are_theirs(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn streamed_import_rollups_equal_rows() {
                let (store, _guard) = $make.await;
                if let Err(e) = c::streamed_import_rollups_equal_rows(&store).await {
                    panic!("{e}");
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn collection_records() {
                run(|s| Box::pin(c::collection_records(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn alerts() {
                run(|s| Box::pin(c::alerts(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn leases() {
                run(|s| Box::pin(c::leases(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_leases() {
                run(|s| Box::pin(c::job_leases(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_endings() {
                run(|s| Box::pin(c::job_endings(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_claims_race() {
                run(|s| Box::pin(c::job_claims_race(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn schedule_marks() {
                run(|s| Box::pin(c::schedule_marks(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_ingest() {
                run(|s| Box::pin(c::concurrent_ingest(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn invoice_lifecycle() {
                run(|s| Box::pin(c::invoice_lifecycle(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn late_usage_adjustment() {
                run(|s| Box::pin(c::late_usage_adjustment(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn narrowed_runs_equal_the_full_run() {
                run(|s| Box::pin(c::narrowed_runs_equal_the_full_run(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn branch_runs_write_their_commissions() {
                run(|s| Box::pin(c::branch_runs_write_their_commissions(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn second_month_after_issue() {
                run(|s| Box::pin(c::second_month_after_issue(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_bill_and_issue() {
                run(|s| Box::pin(c::concurrent_bill_and_issue(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn invoice_documents_are_kept_once() {
                run(|s| Box::pin(c::invoice_documents_are_kept_once(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ids_unique_in_any_case() {
                run(|s| Box::pin(c::ids_unique_in_any_case(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn closing_a_tenant_ends_its_billing() {
                run(|s| Box::pin(c::closing_a_tenant_ends_its_billing(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn imports_are_all_or_nothing() {
                run(|s| Box::pin(c::imports_are_all_or_nothing(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn administration() {
                run(|s| Box::pin(c::administration(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sessions() {
                run(|s| Box::pin(c::sessions(s))).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn deletes_are_guarded() {
                run(|s| Box::pin(c::deletes_are_guarded(s))).await
            }
        }
    };
}

//! The collector against a local stamp (`fake/`) and a real SQLite store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use stackbill_collector::{
    Arm, CollectError, Collector, Options, RegionConfig, RetryPolicy, RunReport, Secret,
};
use stackbill_core::scenario::json as sj;
use stackbill_store::billing::{bill, import_scenario};
use stackbill_store::{RegionRow, Store};
use stackbill_testkit::fake_stamp::{
    BLOB_OUT, CLIENT, Fake, Fault, PROVIDER, SECRET, StampRow, TENANT, fixture, fixture_scenario,
    fixture_usage,
};

const HOUR: i64 = 3_600_000_000_000;
fn ns(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .timestamp_nanos_opt()
        .expect("in range")
}

struct Setup {
    fake: Fake,
    store: Arc<dyn Store>,
    dir: std::path::PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

async fn setup(name: &str, adfs: bool) -> Setup {
    let fake = Fake::start(adfs).await.expect("fake stamp");
    let dir = std::env::temp_dir().join(format!("sb-collect-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    let store = stackbill_store_sqlite::connect(&format!("sqlite://{}", dir.join("db").display()))
        .await
        .expect("sqlite");
    stackbill_store_sqlite::migrate(&store)
        .await
        .expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    store
        .put_region(&RegionRow {
            id: "fra01".into(),
            name: "Frankfurt 1".into(),
            time_zone: "UTC".into(),
            admin_endpoint: fake.base.clone(),
            collection_window_hours: 1,
            credential_ref: Some("env:FRA01_SECRET".into()),
            details: json!({
                "identity": if adfs { "adfs" } else { "entra" },
                "directoryTenant": TENANT,
                "providerSubscriptionId": PROVIDER,
                "clientId": CLIENT,
            }),
        })
        .await
        .expect("region");
    Setup { fake, store, dir }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        attempts: 6,
        base: Duration::from_millis(5),
        max: Duration::from_millis(50),
    }
}

async fn collector(s: &Setup, options: Options) -> Collector {
    let region = s
        .store
        .regions()
        .await
        .expect("regions")
        .into_iter()
        .find(|r| r.id == "fra01")
        .expect("fra01");
    let config = RegionConfig::from_row(&region).expect("config");
    let arm = Arm::new(config, Secret::new(SECRET), fast()).expect("arm");
    Collector::new(arm, s.store.clone(), options)
}

async fn run(s: &Setup, from: &str, to: &str) -> Result<RunReport, CollectError> {
    collector(s, Options::default())
        .await
        .collect(ns(from), ns(to), &|_| {})
        .await
}

#[tokio::test]
async fn the_fixture_is_collected_across_pages_with_encoded_tokens() {
    let s = setup("fixture", false).await;
    fixture(&s.fake);
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!(
        (r.windows, r.pages, r.new, r.rejected),
        (1, 2, 6, 0),
        "{r:?}"
    );
    // Every meter is unknown to an empty catalogue, and both subscriptions to StackBill.
    assert_eq!(r.unknown_meters.len(), 6);
    assert_eq!(r.unknown_subscription_rows, 6);
    assert_eq!(s.store.usage_count().await.expect("count"), 6);
    s.fake.with(|f| {
        assert_eq!(f.continuations_received.len(), 1);
        assert_eq!(
            f.continuations_received, f.continuations_sent,
            "token re-encoded"
        );
        assert!(
            f.continuations_sent[0].ends_with("%3d"),
            "{}",
            f.continuations_sent[0]
        );
    });
    // Quantities keep their exact text; meters are canonical; resources normalised.
    let rows = s
        .store
        .usage_page((0, i64::MAX), None, None, 100)
        .await
        .expect("rows");
    let tiny = rows
        .iter()
        .find(|r| r.meter.as_deref() == Some(&BLOB_OUT.to_ascii_lowercase()))
        .expect("blob egress");
    assert_eq!(tiny.quantity.as_deref(), Some("4.57763671875e-05"));
    assert!(rows.iter().all(|r| {
        r.resource
            .as_deref()
            .is_some_and(|x| x == x.to_ascii_lowercase())
    }));
    assert_eq!(
        rows.iter()
            .filter(|r| r.sku.as_deref() == Some("Standard_DS2_v2"))
            .count(),
        2
    );
}

#[tokio::test]
async fn recollecting_changes_nothing_and_late_rows_are_added() {
    let s = setup("recollect", false).await;
    fixture(&s.fake);
    let first = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T12:00:00Z")
        .await
        .expect("run");
    assert_eq!(first.new, 6);
    let again = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T12:00:00Z")
        .await
        .expect("again");
    assert_eq!(
        (again.new, again.duplicate, again.replaced),
        (0, 6, 0),
        "{again:?}"
    );
    // The same usage hour reported again, late, in the next reported window.
    s.fake.with(|f| {
        let mut late = f.rows[1].clone();
        late.reported = ns("2025-03-04T11:00:00Z");
        f.rows.push(late);
    });
    let later = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T12:00:00Z")
        .await
        .expect("later");
    assert_eq!(
        (later.new, later.duplicate, later.replaced),
        (1, 6, 0),
        "{later:?}"
    );
    assert_eq!(s.store.usage_count().await.expect("count"), 7);
}

#[tokio::test]
async fn throttling_and_unavailability_are_retried() {
    let s = setup("retries", false).await;
    fixture(&s.fake);
    s.fake.with(|f| {
        f.faults.extend([
            Fault::Throttle { retry_after: 0 },
            Fault::Unavailable,
            Fault::GatewayTimeout,
            Fault::Throttle { retry_after: 0 },
        ]);
    });
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!(
        (r.new, r.retries, r.per_subscriber_windows),
        (6, 4, 0),
        "{r:?}"
    );
    // A stamp that keeps refusing makes the run fail, saying why, with nothing lost.
    s.fake.with(|f| f.faults.extend([Fault::Unavailable; 6]));
    let e = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect_err("unavailable");
    assert!(matches!(e, CollectError::Api { status: 503, .. }), "{e}");
    assert_eq!(s.store.usage_count().await.expect("count"), 6);
}

#[tokio::test]
async fn a_token_revoked_mid_run_is_replaced_once() {
    let s = setup("token", false).await;
    fixture(&s.fake);
    s.fake.with(|f| f.faults.push_back(Fault::RevokeTokens));
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!((r.new, r.tokens), (6, 2), "{r:?}");
    // A token that expires by its lifetime is refreshed before it is sent again.
    s.fake.with(|f| f.token_lifetime_secs = 1);
    let c = collector(&s, Options::default()).await;
    let from = ns("2025-03-04T10:00:00Z");
    c.collect(from, from + HOUR, &|_| {}).await.expect("first");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = c.collect(from, from + HOUR, &|_| {}).await.expect("second");
    assert_eq!(r.duplicate, 6);
    assert_eq!(
        s.fake.with(|f| f.tokens_issued),
        4,
        "one refresh per expiry, no 401"
    );
}

#[tokio::test]
async fn wrong_credentials_are_refused_by_name() {
    let s = setup("refused", false).await;
    fixture(&s.fake);
    let region = s.store.regions().await.expect("regions").remove(0);
    let arm = Arm::new(
        RegionConfig::from_row(&region).expect("config"),
        Secret::new("wrong"),
        fast(),
    )
    .expect("arm");
    let e = Collector::new(arm, s.store.clone(), Options::default())
        .collect(
            ns("2025-03-04T10:00:00Z"),
            ns("2025-03-04T11:00:00Z"),
            &|_| {},
        )
        .await
        .expect_err("refused");
    let text = e.to_string();
    assert!(matches!(e, CollectError::TokenRefused(_)), "{text}");
    assert!(
        text.contains("invalid_client") && !text.contains("wrong"),
        "{text}"
    );
}

#[tokio::test]
async fn an_adfs_region_authenticates_at_its_adfs_endpoint() {
    let s = setup("adfs", true).await;
    fixture(&s.fake);
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!((r.new, r.tokens), (6, 1));
}

#[tokio::test]
async fn gateway_timeouts_fall_back_to_per_subscriber_queries() {
    let s = setup("fallback", false).await;
    fixture(&s.fake);
    s.fake.with(|f| {
        f.all_subscriber_timeout = true;
        // A subscription the stamp no longer lists is still asked about when StackBill
        // knows it; one that is not a direct tenant is skipped, and said so.
        f.subscriptions
            .push("9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913".into());
    });
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!((r.new, r.per_subscriber_windows), (6, 1), "{r:?}");
    assert!(
        r.retries >= 3,
        "the all-subscriber query was retried first: {r:?}"
    );
    // Same ids either way: collecting again without timeouts stores nothing new.
    s.fake.with(|f| f.all_subscriber_timeout = false);
    let again = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("again");
    assert_eq!((again.new, again.duplicate), (0, 6));
}

#[tokio::test]
async fn malformed_rows_are_kept_with_their_reason() {
    let s = setup("malformed", false).await;
    fixture(&s.fake);
    s.fake.with(|f| {
        let mut bad = f.rows[0].clone();
        bad.json["properties"]["quantity"] = json!("lots");
        let mut no_time = f.rows[2].clone();
        no_time.json["properties"]["usageStartTime"] = json!("2025-03-04 09:00");
        f.rows.push(bad);
        f.rows.push(no_time);
    });
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!((r.new, r.rejected), (6, 2), "{r:?}");
    let kept = s
        .store
        .rejected_usage(Some("fra01"), 10)
        .await
        .expect("rejected");
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .any(|k| k.reason.contains("properties.quantity") && k.raw.contains("lots"))
    );
    assert!(kept.iter().any(|k| k.reason.contains("usageStartTime")));
    // Collected again: still kept once.
    run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("again");
    assert_eq!(
        s.store
            .rejected_usage(None, 10)
            .await
            .expect("rejected")
            .len(),
        2
    );
}

#[tokio::test]
async fn an_interrupted_run_resumes_at_the_next_page() {
    let s = setup("resume", false).await;
    fixture(&s.fake);
    // Three reported hours of rows, two pages each.
    s.fake.with(|f| {
        let base: Vec<StampRow> = f.rows.clone();
        for h in 1..3 {
            for r in &base {
                let mut r = r.clone();
                r.reported += h * HOUR;
                f.rows.push(r);
            }
        }
        f.fail_after = Some(3);
    });
    let from = "2025-03-04T10:00:00Z";
    let to = "2025-03-04T13:00:00Z";
    let e = run(&s, from, to).await.expect_err("interrupted");
    assert!(matches!(e, CollectError::Api { status: 500, .. }), "{e}");
    let stored = s.store.usage_count().await.expect("count");
    assert_eq!(stored, 10, "three pages of 4 + 2 + 4 rows");
    let before = s.fake.with(|f| {
        f.fail_after = None;
        f.usage_requests
    });
    let r = run(&s, from, to).await.expect("resumed");
    assert!(r.resumed);
    // The fourth page onward: page 2 of hour 2 and both pages of hour 3.
    assert_eq!((r.pages, r.new, r.duplicate), (3, 8, 0), "{r:?}");
    assert_eq!(s.fake.with(|f| f.usage_requests) - before, 3);
    assert_eq!(s.store.usage_count().await.expect("count"), 18);
}

#[tokio::test]
async fn bad_ranges_and_foreign_next_links_are_refused() {
    let s = setup("refusals", false).await;
    fixture(&s.fake);
    let e = run(&s, "2025-03-04T10:30:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect_err("misaligned");
    assert!(matches!(e, CollectError::Range(_)));
    // A nextLink to another host: the token is not sent there.
    s.fake.with(|f| {
        f.next_link_override = Some("https://evil.example/steal?continuationToken=x".into());
    });
    let e = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect_err("foreign");
    assert!(e.to_string().contains("another host"), "{e}");
    // A nextLink that comes back again: the stamp is looping.
    let own = format!(
        "{}/subscriptions/{PROVIDER}/providers/Microsoft.Commerce.Admin/subscriberUsageAggregates?api-version=2015-06-01-preview&reportedStartTime=2025-03-04T10%3A00%3A00Z&reportedEndTime=2025-03-04T11%3A00%3A00Z&aggregationGranularity=Hourly&continuationToken=eyJza2lwIjo0fQ%3d%3d",
        s.fake.base
    );
    s.fake.with(|f| {
        f.continuations_sent.push("eyJza2lwIjo0fQ%3d%3d".into());
        f.next_link_override = Some(own);
    });
    let e = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect_err("loop");
    assert!(e.to_string().contains("repeats"), "{e}");
}

/// Collected → stored → billed equals rating the same rows directly.
#[tokio::test]
async fn collected_usage_bills_like_rating_the_rows_directly() {
    let s = setup("billing", false).await;
    fixture(&s.fake);
    let mut scenario = fixture_scenario();
    import_scenario(s.store.as_ref(), &scenario.to_string())
        .await
        .expect("import");
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!((r.new, r.unknown_subscription_rows), (6, 0), "{r:?}");
    let billed = bill(s.store.as_ref(), "2025-03", None).await.expect("bill");
    let billed = sj::outcome_to_value(&billed.outcome);
    // The same six rows as a scenario's usage, written from the fixture by hand.
    let usage = fixture_usage(&s.fake);
    scenario["usage"] = usage;
    let direct = sj::rate_document(&scenario.to_string()).expect("rate");
    let direct = sj::outcome_to_value(&direct);
    assert_eq!(billed["invoices"], direct["invoices"]);
    assert!(billed["invoices"].as_array().is_some_and(|a| a.len() == 2));
    assert_eq!(billed["unbilled"], direct["unbilled"]);
}

/// The reference's fixture pages (`collector/tests/pages/`, copied from the fact sheet)
/// read as it documents: six rows of two subscriptions and six meters, usage hours 08:00
/// to 10:00 from one reported hour; error bodies are not pages.
#[test]
fn the_reference_pages_read_as_documented() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
    let read = |name: &str| std::fs::read(dir.join(name)).expect(name);
    let first =
        stackbill_collector::page::parse_page(&read("fixture-page-1.json")).expect("page 1");
    let link = first.next_link.clone().expect("page 1 links on");
    assert!(
        link.ends_with("continuationToken=eyJydCI6IjIwMjUtMDMtMDRUMTA6MDA6MDBaIiwic2tpcCI6NH0%3D")
    );
    let second =
        stackbill_collector::page::parse_page(&read("fixture-page-2.json")).expect("page 2");
    assert!(second.next_link.is_none());
    let rows: Vec<_> = first.rows.iter().chain(&second.rows).collect();
    assert_eq!(rows.len(), 6);
    assert!(first.rejected.is_empty() && second.rejected.is_empty());
    let subs: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.subscription).collect();
    let meters: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.meter).collect();
    let hours: std::collections::BTreeSet<_> = rows.iter().map(|r| r.start_ns).collect();
    assert_eq!((subs.len(), meters.len(), hours.len()), (2, 6, 3));
    let empty = stackbill_collector::page::parse_page(&read("empty-page.json")).expect("empty");
    assert!(empty.rows.is_empty() && empty.next_link.is_none());
    for error in [
        "error-end-in-future.json",
        "error-not-direct-tenant.json",
        "error-gateway-timeout.json",
    ] {
        assert!(
            stackbill_collector::page::parse_page(&read(error)).is_err(),
            "{error}"
        );
    }
}

/// User subscriptions created, read, disabled, deleted and reconciled on the stamp; a
/// refusal (an offer the stamp does not have) is an error that names it.
#[tokio::test]
async fn subscriptions_are_provisioned_on_the_stamp() {
    use stackbill_collector::provision::{
        StampSubscription, delete_subscription, get_subscription, put_subscription, reconcile,
    };
    let s = setup("provision", false).await;
    fixture(&s.fake);
    let region = s.store.regions().await.expect("regions").remove(0);
    let arm = Arm::new(
        RegionConfig::from_row(&region).expect("config"),
        Secret::new(SECRET),
        fast(),
    )
    .expect("arm");
    let stats = stackbill_collector::Stats::default();
    let new_id = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
    let mut sub = StampSubscription {
        subscription_id: new_id.into(),
        display_name: Some("Production".into()),
        owner: Some("owner@contoso.example".into()),
        tenant_id: Some("0f6b2f32-1a1e-4b1a-9b1a-3c2d1e0f9a8b".into()),
        offer_id: Some("/delegatedProviders/default/offers/platinum".into()),
        state: Some("Enabled".into()),
        external_reference_id: None,
        other: serde_json::Map::new(),
    };
    let e = put_subscription(&arm, &sub, &stats)
        .await
        .expect_err("unknown offer");
    assert!(e.to_string().contains("OfferNotFound"), "{e}");
    assert_eq!(
        get_subscription(&arm, new_id, &stats).await.expect("get"),
        None
    );

    sub.offer_id = Some("/delegatedProviders/default/offers/gold".into());
    put_subscription(&arm, &sub, &stats).await.expect("created");
    let got = get_subscription(&arm, new_id, &stats)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.owner.as_deref(), Some("owner@contoso.example"));
    let known = vec![
        SUB_A_UPPER.to_owned(),
        new_id.to_owned(),
        "9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913".into(),
        "sub-local".into(),
    ];
    let r = reconcile(&arm, &known, &stats).await.expect("reconcile");
    assert_eq!(
        r.only_on_stamp,
        vec!["3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67".to_owned()]
    );
    assert_eq!(
        r.only_in_stackbill,
        vec!["9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913".to_owned()]
    );

    sub.state = Some("Disabled".into());
    put_subscription(&arm, &sub, &stats)
        .await
        .expect("disabled");
    let got = get_subscription(&arm, new_id, &stats)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(got.state.as_deref(), Some("Disabled"));
    delete_subscription(&arm, new_id, &stats)
        .await
        .expect("deleted");
    delete_subscription(&arm, new_id, &stats)
        .await
        .expect("deleting again is no error");
    assert_eq!(
        get_subscription(&arm, new_id, &stats).await.expect("get"),
        None
    );
}

const SUB_A_UPPER: &str = "B7E41C02-9D3A-4F6B-8E15-2C9A07D6F4E1";

/// Each run compares the stamp's subscriptions with StackBill's of the region.
#[tokio::test]
async fn each_run_reconciles_the_subscription_lists() {
    let s = setup("reconcile", false).await;
    fixture(&s.fake);
    let mut scenario = fixture_scenario();
    // StackBill knows the first fixture subscription and one the stamp does not have.
    scenario["subscriptions"] = json!([
        {"id": SUB_A_UPPER, "tenant": "ten-a", "region": "fra01"},
        {"id": "9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913", "tenant": "ten-b", "region": "fra01"}
    ]);
    import_scenario(s.store.as_ref(), &scenario.to_string())
        .await
        .expect("import");
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    let rec = r.reconciliation.expect("reconciled");
    assert_eq!(
        rec.only_on_stamp,
        vec!["3ac9d8f1-6e24-4b70-a5c3-91f2e8b04d67".to_owned()]
    );
    assert_eq!(
        rec.only_in_stackbill,
        vec!["9d1e0c44-2b7a-4e3f-8c55-a0f6b2d7e913".to_owned()]
    );
}

/// Pages saved at a disconnected site import with the ids a collection of the same
/// hour gives: importing the reference pages after collecting that hour changes nothing,
/// and importing them twice into a fresh store stores each row once.
#[tokio::test]
async fn saved_pages_import_like_a_collection() {
    let s = setup("saved", false).await;
    fixture(&s.fake);
    run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
    let page = |n: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(n)).expect(n)).expect("json")
    };
    let saved = json!([page("fixture-page-1.json"), page("fixture-page-2.json")]).to_string();
    let region = s.store.regions().await.expect("regions").remove(0);
    let r = stackbill_collector::import_saved(s.store.as_ref(), &region, saved.as_bytes(), None)
        .await
        .expect("import");
    assert_eq!((r.new, r.duplicate, r.pages), (0, 6, 2), "{r:?}");

    let fresh = setup("saved-fresh", false).await;
    let region = fresh.store.regions().await.expect("regions").remove(0);
    for round in 0..2 {
        let r = stackbill_collector::import_saved(
            fresh.store.as_ref(),
            &region,
            saved.as_bytes(),
            None,
        )
        .await
        .expect("import");
        assert_eq!(
            (r.new, r.duplicate),
            if round == 0 { (6, 0) } else { (0, 6) },
            "{r:?}"
        );
    }
    // As PowerShell writes rows: flattened, PascalCase, .NET dates; named by the window
    // given.
    let flat = json!([{
        "Id": "/subscriptions/x/providers/Microsoft.Commerce/UsageAggregate/a-b",
        "SubscriptionId": "b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1",
        "MeterId": "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
        "UsageStartTime": "/Date(1741078800000)/",
        "UsageEndTime": "/Date(1741082400000)/",
        "Quantity": 4.0,
        "InstanceData": "{\"Microsoft.Resources\":{\"resourceUri\":\"/subscriptions/b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm9\"}}"
    }, {"SubscriptionId": "b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1", "Quantity": "n/a"}]);
    let window = (ns("2025-03-04T10:00:00Z"), ns("2025-03-04T11:00:00Z"));
    let r = stackbill_collector::import_saved(
        fresh.store.as_ref(),
        &region,
        flat.to_string().as_bytes(),
        Some(window),
    )
    .await
    .expect("flat");
    assert_eq!((r.new, r.rejected), (1, 1), "{r:?}");
    // A one-page hour names no window: the file is refused rather than guessed at.
    let e = stackbill_collector::import_saved(
        fresh.store.as_ref(),
        &region,
        page("fixture-page-2.json").to_string().as_bytes(),
        None,
    )
    .await
    .expect_err("no window");
    assert!(e.to_string().contains("--reported-from"), "{e}");
    let e = stackbill_collector::import_saved(fresh.store.as_ref(), &region, b"[1, 2", None)
        .await
        .expect_err("not JSON");
    assert!(e.to_string().contains("not JSON"), "{e}");
}

/// With Auto Create Missing Subscriptions on, unknown subscriptions are created under the
/// configured tenant; the provider's own subscription is counted apart, never created.
#[tokio::test]
async fn missing_subscriptions_are_created_and_the_provider_kept_apart() {
    let s = setup("autocreate", false).await;
    fixture(&s.fake);
    let mut scenario = fixture_scenario();
    scenario["subscriptions"] = json!([]);
    import_scenario(s.store.as_ref(), &scenario.to_string())
        .await
        .expect("import");
    s.store
        .put_settings(
            "subscriptions",
            &json!({"autoCreateMissingSubscriptions": true, "autoCreatedSubscriptionTenantId": "ten-a"}),
        )
        .await
        .expect("settings");
    // The stamp's metering subscription, named in the region's settings.
    let metering = "7e57a1b0-0000-4000-8000-00000000beef";
    let mut region = s.store.regions().await.expect("regions").remove(0);
    region.details["systemSubscriptionIds"] = json!([metering.to_ascii_uppercase()]);
    s.store.put_region(&region).await.expect("region");
    s.fake.with(|f| {
        for id in [PROVIDER, metering] {
            let mut own = f.rows[0].clone();
            own.subscription = id.into();
            own.json["properties"]["subscriptionId"] = json!(id);
            f.rows.push(own);
        }
    });
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!(
        (r.new, r.provider_rows, r.unknown_subscription_rows),
        (8, 2, 0),
        "{r:?}"
    );
    assert_eq!(r.created_subscriptions.len(), 2, "{r:?}");
    let subs = s.store.subscriptions().await.expect("subscriptions");
    assert_eq!(subs.len(), 2);
    assert!(
        subs.iter()
            .all(|x| x.tenant == "ten-a" && x.region == "fra01")
    );
    assert!(
        !subs
            .iter()
            .any(|x| x.id.eq_ignore_ascii_case(PROVIDER) || x.id.eq_ignore_ascii_case(metering))
    );
}

/// Per subscriber, a few subscribers are asked at once (never more than the bound), and
/// the result is the same as asking one at a time.
#[tokio::test]
async fn per_subscriber_queries_run_a_bounded_few_at_once() {
    let s = setup("concurrency", false).await;
    s.fake.with(|f| {
        f.delay_ms = 30;
        f.rows =
            stackbill_testkit::fake_stamp::generated_rows(ns("2025-03-04T10:00:00Z"), 1, 40, 10);
        f.subscriptions = (0..10)
            .map(|n| format!("{n:08x}-0000-4000-8000-{n:012x}"))
            .collect();
    });
    for (bound, want_max) in [(1usize, 1u64), (3, 3)] {
        s.fake.with(|f| f.max_in_flight = 0);
        let c = collector(
            &s,
            Options {
                per_subscriber: true,
                concurrency: bound,
            },
        )
        .await;
        let r = c
            .collect(
                ns("2025-03-04T10:00:00Z"),
                ns("2025-03-04T11:00:00Z"),
                &|_| {},
            )
            .await
            .expect("run");
        assert_eq!(r.new + r.duplicate, 40, "{r:?}");
        assert_eq!(s.fake.with(|f| f.max_in_flight), want_max, "bound {bound}");
    }
    assert_eq!(s.store.usage_count().await.expect("count"), 40);
}

/// A stamp whose certificate comes from its own CA is reached with the region's CA
/// bundle and refused without it; a stamp that does not answer is retried, then named.
#[tokio::test]
async fn tls_uses_the_regions_ca_bundle_and_unreachable_stamps_are_retried() {
    let (fake, ca) = Fake::start_tls(false).await.expect("tls stamp");
    fixture(&fake);
    let dir = std::env::temp_dir().join(format!("sb-collect-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bundle = dir.join("stamp-ca.pem");
    std::fs::write(&bundle, ca).expect("ca");
    let store = stackbill_store_sqlite::connect(&format!("sqlite://{}", dir.join("db").display()))
        .await
        .expect("sqlite");
    stackbill_store_sqlite::migrate(&store)
        .await
        .expect("migrate");
    let store: Arc<dyn Store> = Arc::new(store);
    let region = |endpoint: &str, ca: Option<&std::path::Path>| {
        let mut details = json!({"identity": "entra", "directoryTenant": TENANT,
                                 "providerSubscriptionId": PROVIDER, "clientId": CLIENT});
        if let Some(ca) = ca {
            details["caBundle"] = json!(ca.display().to_string());
        }
        RegionRow {
            id: "fra01".into(),
            name: "Frankfurt 1".into(),
            time_zone: "UTC".into(),
            admin_endpoint: endpoint.into(),
            collection_window_hours: 1,
            credential_ref: Some("env:FRA01_SECRET".into()),
            details,
        }
    };
    let collect = |row: RegionRow| {
        let store = store.clone();
        async move {
            let arm = Arm::new(
                RegionConfig::from_row(&row).expect("config"),
                Secret::new(SECRET),
                fast(),
            )
            .expect("arm");
            Collector::new(arm, store, Options::default())
                .collect(
                    ns("2025-03-04T10:00:00Z"),
                    ns("2025-03-04T11:00:00Z"),
                    &|_| {},
                )
                .await
        }
    };
    assert!(fake.base.starts_with("https://localhost:"));
    let r = collect(region(&fake.base, Some(&bundle)))
        .await
        .expect("with the CA");
    assert_eq!(r.new, 6);
    let e = collect(region(&fake.base, None))
        .await
        .expect_err("without the CA");
    assert!(matches!(e, CollectError::Unreachable(_)), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");

    // Nothing listens on port 1 of loopback: every attempt is made, then the run fails.
    let row = region("http://127.0.0.1:1", None);
    let arm = Arm::new(
        RegionConfig::from_row(&row).expect("config"),
        Secret::new(SECRET),
        fast(),
    )
    .expect("arm");
    let stats = stackbill_collector::Stats::default();
    let e = arm.probe(&stats).await.expect_err("refused");
    assert!(matches!(e, CollectError::Unreachable(_)), "{e}");
    assert_eq!((stats.requests(), stats.retries()), (6, 5));
    std::fs::remove_dir_all(&dir).ok();
}

/// Timeouts from the second page on: the hour is asked per subscriber, and the rows of
/// the first page, stored already, come back as duplicates, not as new rows.
#[tokio::test]
async fn a_fallback_in_the_middle_of_an_hour_counts_nothing_twice() {
    let s = setup("midfallback", false).await;
    fixture(&s.fake);
    s.fake
        .with(|f| f.all_subscriber_timeout_after_first_page = true);
    let r = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect("run");
    assert_eq!(
        (r.new, r.duplicate, r.per_subscriber_windows),
        (6, 4, 1),
        "{r:?}"
    );
    assert_eq!(s.store.usage_count().await.expect("count"), 6);
}

/// A run that fails before its first page keeps its place: the next run, of any range,
/// collects the failed hours too.
#[tokio::test]
async fn a_run_that_fails_at_once_loses_no_hours() {
    let s = setup("keepcursor", false).await;
    fixture(&s.fake);
    s.fake.with(|f| f.fail_after = Some(0));
    run(&s, "2025-03-04T10:00:00Z", "2025-03-04T11:00:00Z")
        .await
        .expect_err("stamp fails");
    s.fake.with(|f| f.fail_after = None);
    let r = run(&s, "2025-03-04T11:00:00Z", "2025-03-04T12:00:00Z")
        .await
        .expect("later range");
    assert_eq!((r.windows, r.new), (2, 6), "{r:?}");
}

/// Update Usage on one subscription: only its rows, asked with `subscriberId`, under the
/// ids a region run gives them; the region's own cursor and state are left alone.
#[tokio::test]
async fn one_subscription_is_collected_alone_under_the_region_runs_ids() {
    use stackbill_testkit::fake_stamp::{SUB_A, SUB_B};
    let s = setup("subscriber", false).await;
    fixture(&s.fake);
    let c = collector(&s, Options::default()).await;
    let (from, to) = (ns("2025-03-04T10:00:00Z"), ns("2025-03-04T12:00:00Z"));
    let seen = std::sync::Mutex::new(Vec::new());
    let only_b = c
        .collect_subscriber(SUB_B, from, to, &|p| {
            seen.lock().unwrap().push(p.windows_done)
        })
        .await
        .expect("subscriber run");
    assert_eq!(
        (only_b.windows, only_b.new, only_b.duplicate),
        (2, 2, 0),
        "{only_b:?}"
    );
    assert_eq!(*seen.lock().unwrap(), vec![1, 2], "progress per hour");
    assert_eq!(s.store.usage_count().await.expect("count"), 2);
    assert!(
        s.store
            .collection_state("fra01")
            .await
            .expect("state")
            .is_none(),
        "the region's cursor and last run are not touched"
    );
    // The region run finds the subscriber's rows under the same ids.
    let region = run(&s, "2025-03-04T10:00:00Z", "2025-03-04T12:00:00Z")
        .await
        .expect("region run");
    assert_eq!((region.new, region.duplicate), (4, 2), "{region:?}");
    let only_a = c
        .collect_subscriber(&SUB_A.to_ascii_uppercase(), from, to, &|_| {})
        .await
        .expect("again");
    assert_eq!((only_a.new, only_a.duplicate), (0, 4), "{only_a:?}");
    assert_eq!(s.store.usage_count().await.expect("count"), 6);
    let refused = c.collect_subscriber("web-01", from, to, &|_| {}).await;
    assert!(
        matches!(
            &refused,
            Err(CollectError::Config {
                field: "subscription",
                ..
            })
        ),
        "{refused:?}"
    );
    let backwards = c.collect_subscriber(SUB_A, to, from, &|_| {}).await;
    assert!(
        matches!(backwards, Err(CollectError::Range(_))),
        "{backwards:?}"
    );
}

//! SQLite-specific guarantees: the database itself refuses to change issued invoices.

use stackbill_store_sql::checks;

#[tokio::test]
async fn updating_an_issued_invoice_in_sql_fails() {
    let (store, _db) = crate::fresh().await;
    let scenario = include_str!("../../../core/tests/vectors/commissions.scenario.json");
    checks::database_refuses_changes_to_issued_invoices(&store, scenario, "2026-10")
        .await
        .unwrap();
}

#[tokio::test]
async fn legacy_usage_converts_exactly() {
    for scenario in [
        include_str!("../../../core/tests/vectors/dedup-invalid.scenario.json"),
        include_str!("../../../core/tests/vectors/monthly-variable-dst.scenario.json"),
        include_str!("../../../core/tests/vectors/fx-credits-tax.scenario.json"),
    ] {
        let (a, _da) = crate::fresh().await;
        let (b, _db) = crate::fresh().await;
        checks::legacy_usage_converts_exactly(&a, &b, scenario, "2026-10")
            .await
            .unwrap();
    }
}

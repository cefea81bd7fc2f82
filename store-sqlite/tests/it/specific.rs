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

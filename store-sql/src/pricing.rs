//! Price lists and FX rates: the `Store` methods of the pricing repository.

use serde_json::Value;
use stackbill_store::{FxRateRow, PriceListRow, Result, StoreError};

use crate::attempts::Attempt;
use crate::{SqlStore, Tx, db, decimal_column, get_os, get_s, json_text, parse_json};

pub(crate) async fn put_price_list(store: &SqlStore, l: &PriceListRow) -> Result<()> {
    store
        .retrying(|| async {
            let mut tx = store.begin().await.map_err(|e| (e, false))?;
            write_price_list(store, &mut tx, l).await?;
            tx.commit().await.map_err(|e| store.attempt_err(e))
        })
        .await
}

/// Replaces a price list inside the caller's transaction; a unique-key collision is a
/// `Conflict` (not retried), lock conflicts are retried by the caller.
pub(crate) async fn write_price_list(
    store: &SqlStore,
    tx: &mut Tx,
    l: &PriceListRow,
) -> Attempt<()> {
    sqlx::query("DELETE FROM price_lists WHERE id = ?")
        .bind(l.id.clone())
        .execute(&mut **tx)
        .await
        .map_err(|e| store.attempt_err(e))?;
    sqlx::query("INSERT INTO price_lists (id, scope_kind, scope_id, currency, effective_from, effective_to, items, name, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(l.id.clone())
        .bind(l.scope_kind.clone())
        .bind(l.scope_id.clone())
        .bind(l.currency.clone())
        .bind(l.effective_from.clone())
        .bind(l.effective_to.clone())
        .bind(json_text(&l.items))
        .bind(l.name.clone())
        .bind(l.description.clone())
        .execute(&mut **tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation => (
                StoreError::Conflict {
                    kind: "price list",
                    id: l.id.clone(),
                    // The other unique key is the id in another case.
                    field: if d.message().contains("ux_price_list_start") {
                        "effective_from (for its scope)"
                    } else {
                        "id"
                    },
                },
                false,
            ),
            _ => store.attempt_err(e),
        })?;
    Ok(())
}

pub(crate) async fn price_lists(store: &SqlStore) -> Result<Vec<PriceListRow>> {
    store.list("SELECT id, scope_kind, scope_id, currency, effective_from, effective_to, items, name, description FROM price_lists ORDER BY id", |r| {
            Ok(PriceListRow {
                id: get_s(r, "id")?,
                scope_kind: get_s(r, "scope_kind")?,
                scope_id: get_s(r, "scope_id")?,
                currency: get_s(r, "currency")?,
                effective_from: get_s(r, "effective_from")?,
                effective_to: get_os(r, "effective_to")?,
                items: parse_json(get_os(r, "items")?).unwrap_or(Value::Array(vec![])),
                name: get_os(r, "name")?,
                description: get_os(r, "description")?,
            })
    })
    .await
}

pub(crate) async fn delete_price_list(store: &SqlStore, id: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM price_lists WHERE id = ?")
        .bind(id.to_owned())
        .execute(&store.pool)
        .await
        .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            kind: "price list",
            id: id.to_owned(),
        });
    }
    Ok(())
}

pub(crate) async fn add_fx_rate(store: &SqlStore, r: &FxRateRow) -> Result<()> {
    store
        .retrying(|| async {
            let mut tx = store.begin().await.map_err(|e| (e, false))?;
            write_fx_rate(store, &mut tx, r).await?;
            tx.commit().await.map_err(|e| store.attempt_err(e))
        })
        .await
}

/// Adds an FX rate inside the caller's transaction.
pub(crate) async fn write_fx_rate(store: &SqlStore, tx: &mut Tx, r: &FxRateRow) -> Attempt<()> {
    sqlx::query(
        "INSERT INTO fx_rates (from_ccy, to_ccy, rate_text, rate, as_of) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(r.from.clone())
    .bind(r.to.clone())
    .bind(r.rate.clone())
    .bind(decimal_column(Some(&r.rate)))
    .bind(r.as_of.clone())
    .execute(&mut **tx)
    .await
    .map_err(|e| store.attempt_err(e))?;
    Ok(())
}

pub(crate) async fn delete_fx_rate(
    store: &SqlStore,
    from: &str,
    to: &str,
    as_of: &str,
) -> Result<()> {
    let done = sqlx::query("DELETE FROM fx_rates WHERE from_ccy = ? AND to_ccy = ? AND as_of = ?")
        .bind(from.to_owned())
        .bind(to.to_owned())
        .bind(as_of.to_owned())
        .execute(&store.pool)
        .await
        .map_err(|e| store.classify(e))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            kind: "fx rate",
            id: format!("{from}/{to}/{as_of}"),
        });
    }
    Ok(())
}

pub(crate) async fn fx_rates(store: &SqlStore) -> Result<Vec<FxRateRow>> {
    store
        .list(
            "SELECT from_ccy, to_ccy, rate_text, as_of FROM fx_rates ORDER BY seq",
            |r| {
                Ok(FxRateRow {
                    from: get_s(r, "from_ccy")?,
                    to: get_s(r, "to_ccy")?,
                    rate: get_s(r, "rate_text")?,
                    as_of: get_s(r, "as_of")?,
                })
            },
        )
        .await
}

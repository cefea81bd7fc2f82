//! A scenario import's settings, hierarchy, price lists and FX rates, written in one
//! transaction with the same statements the single writes use.

use stackbill_store::{Import, Result};

use crate::SqlStore;
use crate::attempts::Attempt;
use crate::directory::{
    distributor_upsert, partner_upsert, subscription_upsert, tenant_upsert, write_platform,
};
use crate::pricing::{write_fx_rate, write_price_list};

pub(crate) async fn import(store: &SqlStore, import: &Import) -> Result<()> {
    store.retrying(|| once(store, import)).await
}

async fn once(store: &SqlStore, i: &Import) -> Attempt<()> {
    let mut tx = store.begin().await.map_err(|e| (e, false))?;
    write_platform(store, &mut tx, &i.platform).await?;
    for d in &i.distributors {
        store.upsert_in(&mut tx, &distributor_upsert(d)).await?;
    }
    for p in &i.partners {
        store.upsert_in(&mut tx, &partner_upsert(p)).await?;
    }
    for t in &i.tenants {
        store.upsert_in(&mut tx, &tenant_upsert(t)).await?;
    }
    for s in &i.subscriptions {
        store.upsert_in(&mut tx, &subscription_upsert(s)).await?;
    }
    for l in &i.price_lists {
        write_price_list(store, &mut tx, l).await?;
    }
    for r in &i.fx_rates {
        write_fx_rate(store, &mut tx, r).await?;
    }
    tx.commit().await.map_err(|e| store.attempt_err(e))
}

//! Billing from stored data: the period's typed scenario from the store, its usage
//! streamed through the engine, late usage of issued periods turned into adjustment lines,
//! and previews and commission summaries written.
//!
//! A run for some tenants rates exactly what the full run gives them (the core's
//! narrowing rule). Issued periods are re-rated only when usage for them arrived after
//! they were rated — known from the usage sequence each invoice records — and each such
//! period once for every tenant that needs it, never once per tenant.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use stackbill_core::adjustment::{AdjustedInvoice, Adjustment, BilledLine, adjustments};
use stackbill_core::commission::Commission;
use stackbill_core::invoice::Invoice;
use stackbill_core::period::Period;
use stackbill_core::quantity::Quantity;
use stackbill_core::rating::Outcome;
use stackbill_core::scenario::json::{self as sj, Document};
use stackbill_core::usage::parse_instant;
use stackbill_core::{Rater, Rollup, Scenario, UsageRecord};

use crate::assemble::Rows;
pub use crate::assemble::Selection;
pub use crate::contract::{
    ImportReport, SyntheticIds, assign_synthetic_ids, export_scenario, import_scenario,
    scenario_document, usage_row, usage_row_from_text,
};
use crate::{
    CommissionRow, DAY_NS, InvoiceFilter, InvoiceRow, InvoiceStatus, Result, Store, StoreError,
    UsageKey, UsageRow,
};

/// Rows fetched per usage page.
const PAGE: u32 = 10_000;

/// Parses a stored or requested `YYYY-MM` period.
fn period_of(text: &str) -> Result<Period> {
    text.parse::<Period>()
        .map_err(|e| StoreError::InvalidState(format!("period {text:?}: {e}")))
}

/// The usage window of a period: from the earliest local start to the latest local end
/// over the platform's and every tenant's zone, in Unix nanoseconds.
fn usage_window(scenario: &Scenario) -> (i64, i64) {
    let mut window = scenario
        .period()
        .bounds(scenario.platform().time_zone)
        .nanos();
    for i in 0..scenario.hierarchy().tenants().len() {
        let (from, to) = scenario.tenant_terms(i).nanos;
        window = (window.0.min(from), window.1.max(to));
    }
    window
}

/// Feeds every stored usage row relevant to the scenario's period to `f`, page by page.
pub(crate) async fn each_usage(
    store: &dyn Store,
    scenario: &Scenario,
    only: Option<&[String]>,
    mut f: impl FnMut(&UsageRow) -> Result<()>,
) -> Result<()> {
    let window = usage_window(scenario);
    let mut after: Option<String> = None;
    loop {
        let page = store
            .usage_page(window, only, after.as_deref(), PAGE)
            .await?;
        for row in &page {
            f(row)?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.id.clone()),
            _ => return Ok(()),
        }
    }
}

/// A stored row as the engine's record. Parsed columns are re-derived from the text so
/// that the store and a scenario file can never disagree; stores classify rows with it
/// (valid or not) when they roll them up.
pub fn usage_record(row: &UsageRow) -> UsageRecord<'_> {
    usage_record_parsed(
        row,
        row.start.as_deref().and_then(parse_instant),
        row.end.as_deref().and_then(parse_instant),
        row.quantity.as_deref().and_then(Quantity::parse),
    )
}

/// [`usage_record`] for a caller that has already parsed the row's start, end and
/// quantity from its text (with `parse_instant` and `Quantity::parse`), so they are not
/// parsed twice.
pub fn usage_record_parsed(
    row: &UsageRow,
    start: Option<i64>,
    end: Option<i64>,
    quantity: Option<Quantity>,
) -> UsageRecord<'_> {
    UsageRecord {
        id: (!row.synthetic).then_some(row.id.as_str()),
        subscription: row.subscription.as_deref(),
        meter: row.meter.as_deref(),
        sku: row.sku.as_deref(),
        start,
        end,
        quantity,
        malformed: row.malformed,
    }
}

/// Rates a validated scenario with its stored usage (only its own subscriptions' rows
/// when it is narrowed).
///
/// Usage starting in the run's window is read as per-day roll-ups; a roll-up is taken
/// whole unless a boundary falls inside its day (the window's ends, a tenant's period
/// bounds in its zone, a subscription's end), and then that key's rows of that day are
/// read one by one. Rows of batches reported for the window but starting outside it (or
/// with no readable start) are read one by one too, so the run sees exactly the rows
/// [`Store::usage_page`] lists, each once.
async fn rate_scenario(store: &dyn Store, scenario: &Scenario, narrowed: bool) -> Result<Outcome> {
    let window = usage_window(scenario);
    let mut keys = Keys::read(store).await?;
    let ours = |k: &UsageKey| {
        !narrowed
            || k.subscription
                .as_deref()
                .is_some_and(|s| scenario.hierarchy().subscription_index(s).is_some())
    };
    let mut rater = Rater::new(scenario);
    // Saturating: a period far in the future (year 3000) lies past i64 nanoseconds.
    for day in window.0.div_euclid(DAY_NS)..=window.1.saturating_sub(1).div_euclid(DAY_NS) {
        let (from, to) = (
            day.saturating_mul(DAY_NS),
            day.saturating_add(1).saturating_mul(DAY_NS),
        );
        let whole = from >= window.0 && to <= window.1;
        let mut refused: HashSet<(i64, bool)> = HashSet::new();
        for r in store.usage_rollups(day).await? {
            let k = keys.get(store, r.key).await?;
            if !ours(k) {
                continue;
            }
            let quantity = Quantity::parse_exact(&r.quantity).ok_or_else(|| {
                StoreError::InvalidState(format!("usage roll-up quantity {:?}", r.quantity))
            })?;
            let records = u64::try_from(r.records).map_err(|_| {
                StoreError::InvalidState(format!("usage roll-up row count {}", r.records))
            })?;
            let rollup = Rollup {
                subscription: k.subscription.as_deref(),
                meter: k.meter.as_deref(),
                sku: k.sku.as_deref(),
                starts: (from, to),
                invalid: r.invalid,
                quantity,
                records,
            };
            if !(whole && rater.push_rollup(&rollup)?) {
                refused.insert((r.key, r.invalid));
            }
        }
        if refused.is_empty() {
            continue;
        }
        let span = (from.max(window.0), to.min(window.1));
        let mut after = None;
        loop {
            let page = store.usage_rows_starting(span, after, PAGE).await?;
            for r in &page {
                if refused.contains(&(r.key, r.invalid)) {
                    rater.push(&usage_record(&r.row))?;
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some((last.row.start_ns.unwrap_or(i64::MIN), last.seq));
                }
                _ => break,
            }
        }
    }
    let mut after = 0;
    loop {
        let page = store.usage_rows_beside(window, after, PAGE).await?;
        for r in &page {
            if ours(keys.get(store, r.key).await?) {
                rater.push(&usage_record(&r.row))?;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.seq,
            _ => break,
        }
    }
    Ok(rater.finish()?)
}

/// The usage keys a run has seen, read again once when a newer one turns up.
struct Keys(HashMap<i64, UsageKey>);

impl Keys {
    async fn read(store: &dyn Store) -> Result<Self> {
        Ok(Self(
            store
                .usage_keys()
                .await?
                .into_iter()
                .map(|k| (k.id, k))
                .collect(),
        ))
    }

    async fn get(&mut self, store: &dyn Store, id: i64) -> Result<&UsageKey> {
        if !self.0.contains_key(&id) {
            *self = Self::read(store).await?;
        }
        self.0
            .get(&id)
            .ok_or_else(|| StoreError::InvalidState(format!("usage key {id} is missing")))
    }
}

/// What a billing run did.
#[derive(Debug)]
pub struct BillReport {
    /// The rating output of the period itself.
    pub outcome: Outcome,
    /// The §10 document written: the outcome plus adjustment lines for late usage of
    /// already-issued periods (identical to the outcome when there are none).
    pub document: Value,
    /// Preview invoices written (tenants with an issued invoice for the period keep it).
    pub previews: usize,
    /// Tenants skipped because their invoice for the period is already issued.
    pub kept_issued: Vec<String>,
}

/// Rates `period` from stored data with the scenario document first changed by `edit`
/// (a modelled price list, say), writing nothing: what the period would cost. This is
/// the one path that still goes through a contract document, because what-if edits are
/// expressed in the contract.
pub async fn rate_what_if(
    store: &dyn Store,
    period: &str,
    tenant: Option<&str>,
    edit: impl FnOnce(&mut Value),
) -> Result<Value> {
    let mut doc_value = scenario_document(store, period, tenant).await?;
    edit(&mut doc_value);
    let text = doc_value.to_string();
    let doc = Document::parse(&text).map_err(crate::contract::read_error)?;
    let outcome = rate_scenario(store, doc.scenario(), tenant.is_some()).await?;
    Ok(sj::outcome_to_value(&outcome))
}

/// Rates the period's stored usage and writes previews, for one tenant or all (see
/// [`bill_selection`]).
pub async fn bill(store: &dyn Store, period: &str, tenant: Option<&str>) -> Result<BillReport> {
    match tenant {
        None => bill_selection(store, period, Selection::All).await,
        Some(t) => bill_selection(store, period, Selection::Tenants(&[t.to_owned()])).await,
    }
}

/// Rates `period` for `selection` from stored data and writes previews (replacing earlier
/// previews of those tenants) and, for a full run, the period's commission summaries.
/// Tenants whose earlier issued periods received usage after they were rated get
/// adjustment lines on their preview.
pub async fn bill_selection(
    store: &dyn Store,
    period: &str,
    selection: Selection<'_>,
) -> Result<BillReport> {
    // The sequence first: every batch at or below it is in what is read next.
    let usage_seq = store.usage_seq().await?;
    let rows = Rows::read(store).await?;
    let current = period_of(period)?;
    let scenario = rows.scenario(current, selection)?;
    let selected = rows.tenant_ids(selection)?;
    let narrowed = selected.is_some();
    let outcome = rate_scenario(store, &scenario, narrowed).await?;

    let history = billed_history(store, &outcome).await?;
    let issued_now: HashSet<&str> = history
        .iter()
        .filter(|i| i.period == period)
        .map(|i| i.tenant.as_str())
        .collect();
    let mut late =
        late_adjustments(store, &rows, &scenario, &outcome, &history, &issued_now).await?;

    // Each invoice becomes a contract object once: a preview's is written and then moved
    // into the run's document; an issued tenant's goes to the document only.
    let mut previews = Vec::new();
    let mut kept: Vec<Option<Value>> = Vec::with_capacity(outcome.invoices.len());
    for invoice in &outcome.invoices {
        let id = invoice.tenant.as_str();
        let adjusted = AdjustedInvoice::new(
            invoice.clone(),
            late.remove(id).unwrap_or_default(),
            tax_of(&scenario, invoice),
            scenario.platform().rounding,
        )?;
        let value = sj::adjusted_invoice_to_value(&adjusted);
        if issued_now.contains(id) {
            kept.push(Some(value));
            continue;
        }
        kept.push(None);
        previews.push(InvoiceRow {
            id: 0,
            period: period.to_owned(),
            tenant: id.to_owned(),
            status: InvoiceStatus::Preview,
            number: None,
            issue_date: None,
            due_date: None,
            currency: invoice.currency.code().to_owned(),
            total: invoice.currency.format(adjusted.total),
            usage_seq,
            document: value,
        });
    }

    let covered = covered_parties(&rows, selection);
    let commissions: Vec<CommissionRow> = outcome
        .commissions
        .iter()
        .filter(|c| {
            covered
                .as_ref()
                .is_none_or(|set| set.contains(&party_key(c)))
        })
        .map(|c| CommissionRow {
            period: period.to_owned(),
            party_kind: c.party.kind().to_owned(),
            party: c.party.id().to_owned(),
            document: sj::commission_to_value(c),
        })
        .collect();
    let skipped = store
        .replace_previews(
            period,
            selected.as_deref(),
            &previews,
            (!commissions.is_empty() || !narrowed).then_some(commissions.as_slice()),
        )
        .await?;
    let mut kept_issued: Vec<String> = issued_now.iter().map(|t| (*t).to_owned()).collect();
    kept_issued.extend(skipped.iter().cloned());
    kept_issued.sort();
    kept_issued.dedup();
    let written = previews.len().saturating_sub(skipped.len());
    let mut preview_documents = previews.into_iter().map(|p| p.document);
    let values = kept
        .into_iter()
        .map(|v| {
            v.or_else(|| preview_documents.next())
                .unwrap_or(Value::Null)
        })
        .collect();
    Ok(BillReport {
        previews: written,
        document: sj::outcome_to_value_with_invoices(&outcome, values),
        outcome,
        kept_issued,
    })
}

/// A commission's party as (kind, lower-case id).
fn party_key(c: &Commission) -> (&'static str, String) {
    (c.party.kind(), c.party.id().to_lowercase())
}

/// The parties whose commission a run for `selection` writes: every party for a full run
/// (`None`); for a tenant list, the partners and distributors all of whose tenants are
/// selected, since a commission depends on nothing but its tenants' invoices; for a
/// branch, only the parties inside it (a partner's run never writes its distributor's
/// summary, even when it has the distributor's only tenants).
fn covered_parties(
    rows: &Rows,
    selection: Selection<'_>,
) -> Option<HashSet<(&'static str, String)>> {
    let ids = match selection {
        Selection::All => return None,
        Selection::Partner(p) => return Some(HashSet::from([("partner", p.to_lowercase())])),
        Selection::Distributor(d) => {
            let d = d.to_lowercase();
            let mut parties: HashSet<(&'static str, String)> = rows
                .partners
                .iter()
                .filter(|p| p.distributor.to_lowercase() == d)
                .map(|p| ("partner", p.id.to_lowercase()))
                .collect();
            parties.insert(("distributor", d));
            return Some(parties);
        }
        Selection::Tenants(ids) => ids,
    };
    let chosen: HashSet<String> = ids.iter().map(|t| t.to_lowercase()).collect();
    let distributor_of: HashMap<String, String> = rows
        .partners
        .iter()
        .map(|p| (p.id.to_lowercase(), p.distributor.to_lowercase()))
        .collect();
    let mut partial: HashSet<(&'static str, String)> = HashSet::new();
    let mut touched: HashSet<(&'static str, String)> = HashSet::new();
    for t in &rows.tenants {
        let partner = t.partner.to_lowercase();
        let distributor = distributor_of.get(&partner).cloned().unwrap_or_default();
        let parties = [("partner", partner), ("distributor", distributor)];
        if chosen.contains(&t.id.to_lowercase()) {
            touched.extend(parties);
        } else {
            partial.extend(parties);
        }
    }
    Some(touched.difference(&partial).cloned().collect())
}

fn tax_of(scenario: &Scenario, invoice: &Invoice) -> stackbill_core::Decimal {
    let h = scenario.hierarchy();
    h.tenant_index(invoice.tenant.as_str())
        .map(|i| h.tenants()[i].tax_percent)
        .unwrap_or_default()
}

/// The issued and paid invoices of the tenants invoiced in `outcome`.
async fn billed_history(store: &dyn Store, outcome: &Outcome) -> Result<Vec<InvoiceRow>> {
    let tenants: HashSet<&str> = outcome.invoices.iter().map(|i| i.tenant.as_str()).collect();
    let mut out = Vec::new();
    for status in [InvoiceStatus::Issued, InvoiceStatus::Paid] {
        let rows = store
            .invoices(&InvoiceFilter {
                status: Some(status),
                ..InvoiceFilter::default()
            })
            .await?;
        out.extend(
            rows.into_iter()
                .filter(|i| tenants.contains(i.tenant.as_str())),
        );
    }
    Ok(out)
}

/// An issued period of one tenant: what was billed for it, and the newest usage sequence
/// any of that billing was rated with.
#[derive(Default)]
struct Billed {
    lines: Vec<BilledLine>,
    seen: i64,
}

/// Adjustment lines, by tenant, for every earlier issued period that received usage after
/// it was rated.
async fn late_adjustments(
    store: &dyn Store,
    rows: &Rows,
    scenario: &Scenario,
    outcome: &Outcome,
    history: &[InvoiceRow],
    issued_now: &HashSet<&str>,
) -> Result<HashMap<String, Vec<Adjustment>>> {
    let current = scenario.period();
    // (tenant, corrected period) → what was billed for it.
    let mut billed: BTreeMap<(String, Period), Billed> = BTreeMap::new();
    for inv in history {
        let own = period_of(&inv.period)?;
        let lines = sj::read_billed_lines(&inv.document.to_string())?;
        for line in lines {
            let corrected = line.adjusts.unwrap_or(own);
            if corrected >= current {
                continue;
            }
            let entry = billed.entry((inv.tenant.clone(), corrected)).or_default();
            entry.seen = entry.seen.max(inv.usage_seq);
            entry.lines.push(line);
        }
        // An issued invoice without lines still fixes what its period saw.
        if own < current {
            let entry = billed.entry((inv.tenant.clone(), own)).or_default();
            entry.seen = entry.seen.max(inv.usage_seq);
        }
    }
    let invoiced: HashSet<&str> = outcome.invoices.iter().map(|i| i.tenant.as_str()).collect();
    billed.retain(|(t, _), _| invoiced.contains(t.as_str()) && !issued_now.contains(t.as_str()));
    let Some(oldest) = billed.values().map(|b| b.seen).min() else {
        return Ok(HashMap::new());
    };
    let batches = store.batches_after(oldest).await?;
    if batches.is_empty() {
        return Ok(HashMap::new());
    }

    // Which (tenant, period) received usage after it was rated.
    let h = scenario.hierarchy();
    let mut stale: BTreeMap<Period, Vec<String>> = BTreeMap::new();
    for ((tenant, p), b) in &billed {
        let Some(ti) = h.tenant_index(tenant) else {
            continue;
        };
        let window = p.bounds(scenario.tenant_terms(ti).time_zone).nanos();
        let candidates: Vec<i64> = batches
            .iter()
            .filter(|s| s.seq > b.seen && s.touches(window))
            .map(|s| s.id)
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let subscriptions: Vec<String> = rows
            .subscriptions
            .iter()
            .filter(|s| &s.tenant == tenant)
            .map(|s| s.id.clone())
            .collect();
        if store
            .batches_have_usage_of(&candidates, &subscriptions)
            .await?
        {
            stale.entry(*p).or_default().push(tenant.clone());
        }
    }

    // One narrowed re-rating per stale period, for all the tenants it concerns.
    let mut out: HashMap<String, Vec<Adjustment>> = HashMap::new();
    for (p, tenants) in stale {
        let earlier = rows.scenario(p, Selection::Tenants(&tenants))?;
        let now = rate_scenario(store, &earlier, true).await?;
        for tenant in tenants {
            let lines = now
                .invoices
                .iter()
                .find(|i| i.tenant.as_str() == tenant)
                .map(|i| i.lines.as_slice())
                .unwrap_or_default();
            let was = billed
                .get(&(tenant.clone(), p))
                .map(|b| b.lines.as_slice())
                .unwrap_or_default();
            let found = adjustments(p, was, lines)?;
            out.entry(tenant).or_default().extend(found);
        }
    }
    Ok(out)
}

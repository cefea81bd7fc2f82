//! A commission as a stored document: the §10 commission object plus the bands that
//! produced it, written at billing and read back (exactly) for summaries and roll-ups.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::output::out_commission;
use super::{Raw, Reader};
use crate::commission::{Commission, CommissionBand, CommissionParty, PlanSource};
use crate::error::InvalidScenario;
use crate::hierarchy::{DistributorId, PartnerId};
use crate::number::format_plain;

use super::fragment::{finish, not_json};

#[derive(Serialize)]
struct OutBand {
    from: String,
    to: Option<String>,
    percent: String,
    base: String,
    amount: String,
}

/// The stored document of a commission: the §10 object with a `bands` array of
/// `{from, to, percent, base, amount}` (band amounts unrounded, as exact decimal strings).
pub fn commission_to_value(c: &Commission) -> Value {
    let mut value = serde_json::to_value(out_commission(c)).unwrap_or(Value::Null);
    let bands: Vec<OutBand> = c
        .bands
        .iter()
        .map(|b| OutBand {
            from: format_plain(b.from),
            to: b.to.map(format_plain),
            percent: format_plain(b.percent),
            base: format_plain(b.base),
            amount: format_plain(b.amount),
        })
        .collect();
    value["bands"] = serde_json::to_value(bands).unwrap_or(Value::Null);
    value
}

#[derive(Deserialize)]
struct RawBand<'a> {
    #[serde(borrow)]
    from: Raw<'a>,
    #[serde(borrow)]
    to: Raw<'a>,
    #[serde(borrow)]
    percent: Raw<'a>,
    #[serde(borrow)]
    base: Raw<'a>,
    #[serde(borrow)]
    amount: Raw<'a>,
}

#[derive(Deserialize)]
struct RawCommission<'a> {
    #[serde(borrow)]
    distributor: Raw<'a>,
    #[serde(borrow)]
    partner: Raw<'a>,
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    base: Raw<'a>,
    #[serde(borrow)]
    amount: Raw<'a>,
    #[serde(borrow)]
    plan: Raw<'a>,
    /// Documents stored before bands were recorded have none.
    #[serde(borrow, default)]
    bands: Vec<RawBand<'a>>,
}

/// Reads a stored commission document (see [`commission_to_value`]; a plain §10
/// commission object reads too, with no bands).
pub fn read_commission(text: &str) -> Result<Commission, InvalidScenario> {
    let raw: RawCommission<'_> = serde_json::from_str(text).map_err(|e| not_json("", &e))?;
    let mut r = Reader {
        problems: Vec::new(),
    };
    let party = match (raw.distributor, raw.partner) {
        (Some(d), None) => r
            .string(Some(d), "distributor", true)
            .map(|d| CommissionParty::Distributor(DistributorId::new(d))),
        (None, Some(p)) => r
            .string(Some(p), "partner", true)
            .map(|p| CommissionParty::Partner(PartnerId::new(p))),
        _ => {
            r.problem("", "names exactly one of distributor and partner");
            None
        }
    };
    let currency = r.currency(raw.currency, "currency", true);
    let base = r.decimal(raw.base, "base", true);
    let amount = r.decimal(raw.amount, "amount", true);
    let plan = match r.string(raw.plan, "plan", true).as_deref() {
        Some("own") => Some(PlanSource::Own),
        Some("inherited") => Some(PlanSource::Inherited),
        Some("none") => Some(PlanSource::None),
        Some(other) => {
            r.problem("plan", format!("{other:?} is not own, inherited or none"));
            None
        }
        None => None,
    };
    let mut bands = Vec::with_capacity(raw.bands.len());
    for (i, b) in raw.bands.iter().enumerate() {
        let p = |f: &str| format!("bands[{i}].{f}");
        let from = r.decimal(b.from, &p("from"), true);
        let to = r.decimal(b.to, &p("to"), false);
        let percent = r.decimal(b.percent, &p("percent"), true);
        let base = r.decimal(b.base, &p("base"), true);
        let amount = r.decimal(b.amount, &p("amount"), true);
        if let (Some(from), Some(percent), Some(base), Some(amount)) = (from, percent, base, amount)
        {
            bands.push(CommissionBand {
                from,
                to,
                percent,
                base,
                amount,
            });
        }
    }
    let commission = match (party, currency, base, amount, plan) {
        (Some(party), Some(currency), Some(base), Some(amount), Some(plan)) => Some(Commission {
            party,
            currency,
            base,
            amount,
            plan,
            bands,
        }),
        _ => None,
    };
    finish(r, commission, "")
}

//! The scenario JSON contract (billing-semantics.md §10): reading a scenario document,
//! and writing the output and error documents.
//!
//! Leaves are read as raw JSON text so that a number literal such as
//! `8.381903171539307e-08` is taken exactly as written, never through `f64`, and so that a
//! value of the wrong type becomes a problem with its path instead of aborting the read.
//! Every problem in the document is collected before the read fails.

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::commission::{Commission, CommissionParty, CommissionPlan};
use crate::error::{InvalidScenario, Problem};
use crate::fx::FxRate;
use crate::hierarchy::{
    Distributor, DistributorId, Partner, PartnerId, Platform, PriceListId, RegionId, Subscription,
    SubscriptionId, Tenant, TenantId,
};
use crate::invoice::Invoice;
use crate::meter::MeterId;
use crate::money::{Currency, RoundingMode};
use crate::number::{format_plain, parse_decimal};
use crate::period::{Period, format_local};
use crate::pricing::{Per, PriceItem, PriceList, PriceScope, Rate};
use crate::quantity::Quantity;
use crate::rating::{Outcome, Rater};
use crate::tiers::{Band, BandField, TierMode, Tiers};
use crate::usage::{UsageRecord, parse_instant};
use crate::{Error, Scenario, ScenarioInput};

mod commission;
mod fragment;
mod output;

pub use commission::{commission_to_value, read_commission};
pub use fragment::{
    DocumentLine, adjusted_invoice_to_value, adjustment_lines, read_billed_lines,
    read_commission_plan, read_document_lines, read_price_items,
};
pub use output::{
    error_to_value, invalid_to_value, outcome_to_string, outcome_to_value,
    outcome_to_value_with_invoices,
};

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario<'a> {
    #[serde(borrow)]
    period: Raw<'a>,
    #[serde(borrow)]
    platform: Option<RawPlatform<'a>>,
    #[serde(borrow, default)]
    distributors: Option<Vec<RawDistributor<'a>>>,
    #[serde(borrow, default)]
    partners: Option<Vec<RawPartner<'a>>>,
    #[serde(borrow, default)]
    tenants: Option<Vec<RawTenant<'a>>>,
    #[serde(borrow, default)]
    subscriptions: Option<Vec<RawSubscription<'a>>>,
    #[serde(borrow, default)]
    price_lists: Option<Vec<RawPriceList<'a>>>,
    #[serde(borrow, default)]
    fx_rates: Option<Vec<RawFx<'a>>>,
    #[serde(borrow, default)]
    usage: Option<Vec<RawUsage<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlatform<'a> {
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    time_zone: Raw<'a>,
    #[serde(borrow)]
    monthly_variable_pricing: Raw<'a>,
    #[serde(borrow)]
    rounding: Raw<'a>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "payment_terms_days")]
    _payment_terms_days: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan<'a> {
    #[serde(borrow)]
    mode: Raw<'a>,
    #[serde(borrow, default)]
    bands: Option<Vec<RawBand<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand<'a> {
    #[serde(borrow)]
    from: Raw<'a>,
    #[serde(borrow)]
    to: Raw<'a>,
    #[serde(borrow)]
    rate: Raw<'a>,
    #[serde(borrow)]
    percent: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistributor<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    commission: Option<RawPlan<'a>>,
    #[serde(borrow)]
    partner_commission: Option<RawPlan<'a>>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "name")]
    _name: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartner<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    distributor: Raw<'a>,
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    commission: Option<RawPlan<'a>>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "name")]
    _name: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    partner: Raw<'a>,
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    time_zone: Raw<'a>,
    #[serde(borrow)]
    tax_percent: Raw<'a>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "name")]
    _name: Raw<'a>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "payment_terms_days")]
    _payment_terms_days: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscription<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    tenant: Raw<'a>,
    #[serde(borrow)]
    region: Raw<'a>,
    #[serde(borrow)]
    ends_on: Raw<'a>,
    /// Descriptive: kept by the store's import, ignored by rating.
    #[serde(borrow, default, rename = "name")]
    _name: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope<'a> {
    #[serde(borrow)]
    region: Raw<'a>,
    #[serde(borrow)]
    tenant: Raw<'a>,
    #[serde(borrow)]
    subscription: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriceList<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    scope: Option<RawScope<'a>>,
    #[serde(borrow)]
    currency: Raw<'a>,
    #[serde(borrow)]
    effective_from: Raw<'a>,
    #[serde(borrow)]
    effective_to: Raw<'a>,
    #[serde(borrow, default)]
    items: Option<Vec<RawItem<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem<'a> {
    #[serde(borrow)]
    meter: Raw<'a>,
    #[serde(borrow)]
    sku: Raw<'a>,
    #[serde(borrow)]
    rate: Raw<'a>,
    #[serde(borrow)]
    tiers: Option<RawPlan<'a>>,
    #[serde(borrow)]
    per: Raw<'a>,
    #[serde(borrow)]
    credit: Raw<'a>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFx<'a> {
    #[serde(borrow)]
    from: Raw<'a>,
    #[serde(borrow)]
    to: Raw<'a>,
    #[serde(borrow)]
    rate: Raw<'a>,
    #[serde(borrow)]
    as_of: Raw<'a>,
}

/// One usage object as it appears in a scenario's `usage` or an NDJSON line.
#[derive(Debug, Deserialize)]
pub struct RawUsage<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow)]
    subscription: Raw<'a>,
    #[serde(borrow)]
    meter: Raw<'a>,
    #[serde(borrow)]
    sku: Raw<'a>,
    #[serde(borrow)]
    resource: Raw<'a>,
    #[serde(borrow)]
    start: Raw<'a>,
    #[serde(borrow)]
    end: Raw<'a>,
    #[serde(borrow)]
    quantity: Raw<'a>,
}

/// A JSON leaf, read without loss.
enum Leaf<'a> {
    Str(Cow<'a, str>),
    Number(&'a str),
    Other,
}

fn leaf(raw: &RawValue) -> Leaf<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            // Fast path: no escapes, borrow between the quotes.
            let inner = text
                .get(1..text.len().saturating_sub(1))
                .unwrap_or_default();
            if !inner.contains('\\') {
                Leaf::Str(Cow::Borrowed(inner))
            } else {
                match serde_json::from_str::<String>(text) {
                    Ok(s) => Leaf::Str(Cow::Owned(s)),
                    Err(_) => Leaf::Other,
                }
            }
        }
        Some(b'-' | b'0'..=b'9') => Leaf::Number(text),
        _ => Leaf::Other,
    }
}

/// Collects problems while converting leaves; each conversion reports at its path.
struct Reader {
    problems: Vec<Problem>,
}

impl Reader {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn string<'a>(&mut self, raw: Raw<'a>, path: &str, required: bool) -> Option<Cow<'a, str>> {
        match raw.map(leaf) {
            None if required => {
                self.problem(path, "is required");
                None
            }
            None => None,
            Some(Leaf::Str(s)) => Some(s),
            Some(_) => {
                self.problem(path, "must be a string");
                None
            }
        }
    }

    fn id(&mut self, raw: Raw<'_>, path: &str) -> String {
        match self.string(raw, path, true) {
            Some(s) if s.is_empty() => {
                self.problem(path, "must not be empty");
                String::new()
            }
            Some(s) => s.into_owned(),
            None => String::new(),
        }
    }

    fn decimal(&mut self, raw: Raw<'_>, path: &str, required: bool) -> Option<Decimal> {
        let text = match raw.map(leaf) {
            None => {
                if required {
                    self.problem(path, "is required");
                }
                return None;
            }
            Some(Leaf::Str(s)) => s,
            Some(Leaf::Number(n)) => Cow::Borrowed(n),
            Some(Leaf::Other) => {
                self.problem(path, "must be a decimal string");
                return None;
            }
        };
        match parse_decimal(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    /// A decimal that must be ≥ 0 (rates, percents, credits, tax).
    fn amount(&mut self, raw: Raw<'_>, path: &str, required: bool) -> Option<Decimal> {
        let value = self.decimal(raw, path, required)?;
        if value.is_sign_negative() && !value.is_zero() {
            self.problem(path, "must be ≥ 0");
        }
        Some(value)
    }

    fn currency(&mut self, raw: Raw<'_>, path: &str, required: bool) -> Option<Currency> {
        let code = self.string(raw, path, required)?;
        match Currency::from_code(&code) {
            Ok(c) => Some(c),
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    fn time_zone(&mut self, raw: Raw<'_>, path: &str) -> Option<Tz> {
        let name = self.string(raw, path, false)?;
        match Tz::from_str(&name) {
            Ok(tz) => Some(tz),
            Err(_) => {
                self.problem(path, format!("{name:?} is not an IANA time zone name"));
                None
            }
        }
    }

    fn date(&mut self, raw: Raw<'_>, path: &str, required: bool) -> Option<NaiveDate> {
        let text = self.string(raw, path, required)?;
        let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) if ok => Some(d),
            _ => {
                self.problem(
                    path,
                    format!("{text:?} is not a date of the form YYYY-MM-DD"),
                );
                None
            }
        }
    }

    fn boolean(&mut self, raw: Raw<'_>, path: &str) -> Option<bool> {
        match raw.map(RawValue::get) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                self.problem(path, "must be true or false");
                None
            }
        }
    }

    /// Reads bands; `value_key` is `rate` for prices and `percent` for commissions.
    fn tiers(&mut self, raw: &RawPlan<'_>, path: &str, value_key: &str) -> Option<Tiers> {
        let before = self.problems.len();
        let mode_path = format!("{path}.mode");
        let mode = match self.string(raw.mode, &mode_path, true) {
            Some(m) => match TierMode::from_name(&m) {
                Some(mode) => Some(mode),
                None => {
                    self.problem(&mode_path, "must be \"graduated\" or \"volume\"");
                    None
                }
            },
            None => None,
        };
        let Some(raw_bands) = &raw.bands else {
            self.problem(&format!("{path}.bands"), "is required");
            return None;
        };
        let mut bands = Vec::with_capacity(raw_bands.len());
        for (k, b) in raw_bands.iter().enumerate() {
            let bp = format!("{path}.bands[{k}]");
            let value_raw = if value_key == "rate" {
                b.rate
            } else {
                b.percent
            };
            let from = self.decimal(b.from, &format!("{bp}.from"), true);
            let to = self.decimal(b.to, &format!("{bp}.to"), false);
            let value = self.amount(value_raw, &format!("{bp}.{value_key}"), true);
            if let (Some(from), Some(value)) = (from, value) {
                bands.push(Band { from, to, value });
            }
        }
        if self.problems.len() > before {
            return None;
        }
        match Tiers::new(mode?, bands) {
            Ok(t) => Some(t),
            Err(problems) => {
                for p in problems {
                    let at = match (p.index, p.field) {
                        (None, _) | (_, BandField::Bands) => format!("{path}.bands"),
                        (Some(k), BandField::From) => format!("{path}.bands[{k}].from"),
                        (Some(k), BandField::To) => format!("{path}.bands[{k}].to"),
                        (Some(k), BandField::Value) => format!("{path}.bands[{k}].{value_key}"),
                    };
                    self.problem(&at, p.message);
                }
                None
            }
        }
    }

    fn plan(&mut self, raw: &Option<RawPlan<'_>>, path: &str) -> Option<CommissionPlan> {
        raw.as_ref()
            .and_then(|p| self.tiers(p, path, "percent"))
            .map(CommissionPlan)
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Not JSON at all: the position of the first syntax error.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// JSON, but not a valid scenario.
    #[error(transparent)]
    Invalid(#[from] InvalidScenario),
}

/// A scenario document, read and validated, whose usage can be streamed.
pub struct Document<'a> {
    scenario: Scenario,
    usage: Vec<RawUsage<'a>>,
}

impl std::fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("scenario", &self.scenario)
            .field("usage", &self.usage.len())
            .finish()
    }
}

impl<'a> Document<'a> {
    /// Reads and validates a scenario document, reporting every problem.
    pub fn parse(text: &'a str) -> Result<Self, ReadError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let raw: RawScenario<'a> = match serde_path_to_error::deserialize(&mut de) {
            Ok(raw) => raw,
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                return Err(if inner.is_data() {
                    ReadError::Invalid(InvalidScenario {
                        problems: vec![Problem::new(
                            if path == "." { String::new() } else { path },
                            strip_position(&inner.to_string()),
                        )],
                    })
                } else {
                    ReadError::Syntax {
                        line: inner.line(),
                        column: inner.column(),
                        message: strip_position(&inner.to_string()),
                    }
                });
            }
        };
        if let Err(e) = de.end() {
            return Err(ReadError::Syntax {
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            });
        }
        let (Input { input, period_ok }, mut reader) = read_input(&raw);
        let usage = raw.usage.unwrap_or_default();
        let parse_failed = !reader.problems.is_empty();
        match Scenario::new(input) {
            Ok(scenario) if !parse_failed => Ok(Document { scenario, usage }),
            Ok(_) => Err(ReadError::Invalid(InvalidScenario {
                problems: reader.problems,
            })),
            Err(invalid) => {
                let mut seen: HashSet<String> =
                    reader.problems.iter().map(|p| p.path.clone()).collect();
                for p in invalid.problems {
                    // Findings that may only stem from placeholders are dropped: FX for
                    // commissions when any value was unreadable, "in force" ambiguity when
                    // the period itself was.
                    let placeholder_noise = parse_failed && p.path.ends_with(".currency")
                        || !period_ok && p.path.ends_with(".effective_from");
                    if !placeholder_noise && seen.insert(p.path.clone()) {
                        reader.problems.push(p);
                    }
                }
                Err(ReadError::Invalid(InvalidScenario {
                    problems: reader.problems,
                }))
            }
        }
    }

    /// The validated scenario.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The document's usage objects, in input order.
    pub fn usage(&self) -> &[RawUsage<'a>] {
        &self.usage
    }

    /// Number of usage records in the document.
    pub fn usage_len(&self) -> usize {
        self.usage.len()
    }

    /// Feeds the document's usage, in order, into `rater`.
    pub fn push_usage(&self, rater: &mut Rater<'_>) -> crate::Result<()> {
        for raw in &self.usage {
            with_record(raw, |r| rater.push(r))?;
        }
        Ok(())
    }

    /// Rates the document's own usage.
    pub fn rate(&self) -> crate::Result<Outcome> {
        let mut rater = Rater::new(&self.scenario);
        self.push_usage(&mut rater)?;
        rater.finish()
    }
}

/// serde_json appends " at line L column C" to messages; positions are reported apart.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Converts a raw usage object into a [`UsageRecord`] and hands it to `f`. Unreadable
/// fields make the record invalid rather than failing the read.
pub fn with_record<'a, R>(raw: &RawUsage<'a>, f: impl FnOnce(&UsageRecord<'_>) -> R) -> R {
    let mut malformed = false;
    let mut text = |v: Raw<'a>| -> Option<Cow<'a, str>> {
        match v.map(leaf) {
            None => None,
            Some(Leaf::Str(s)) => Some(s),
            Some(_) => {
                malformed = true;
                None
            }
        }
    };
    let id = text(raw.id);
    let subscription = text(raw.subscription);
    let meter = text(raw.meter);
    let sku = text(raw.sku);
    let _resource = text(raw.resource);
    let start = text(raw.start);
    let end = text(raw.end);
    let quantity = raw.quantity.map(leaf);
    let start_at = start.as_deref().and_then(parse_instant);
    let end_at = end.as_deref().and_then(parse_instant);
    let quantity = match quantity {
        None => None,
        Some(Leaf::Str(s)) => Quantity::parse(&s),
        Some(Leaf::Number(n)) => Quantity::parse(n),
        Some(Leaf::Other) => None,
    };
    let record = UsageRecord {
        id: id.as_deref(),
        subscription: subscription.as_deref(),
        meter: meter.as_deref(),
        sku: sku.as_deref(),
        start: start_at,
        end: end_at,
        quantity,
        malformed,
    };
    f(&record)
}

/// A usage object's fields as text, exactly as given: strings unescaped, number
/// literals verbatim, anything else (an object, an array, a boolean) flagged as malformed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageText {
    /// `id`.
    pub id: Option<String>,
    /// `subscription`.
    pub subscription: Option<String>,
    /// `meter`.
    pub meter: Option<String>,
    /// `sku`.
    pub sku: Option<String>,
    /// `resource`.
    pub resource: Option<String>,
    /// `start`.
    pub start: Option<String>,
    /// `end`.
    pub end: Option<String>,
    /// `quantity` (a string's content or a number literal).
    pub quantity: Option<String>,
    /// Some field held neither text nor, for `quantity`, a number.
    pub malformed: bool,
}

impl RawUsage<'_> {
    /// The fields as text, for storing a record exactly as it was reported.
    pub fn text(&self) -> UsageText {
        let mut malformed = false;
        let mut text = |v: Raw<'_>, numbers: bool| match v.map(leaf) {
            None => None,
            Some(Leaf::Str(s)) => Some(s.into_owned()),
            Some(Leaf::Number(n)) if numbers => Some(n.to_owned()),
            Some(_) => {
                malformed = true;
                None
            }
        };
        UsageText {
            id: text(self.id, false),
            subscription: text(self.subscription, false),
            meter: text(self.meter, false),
            sku: text(self.sku, false),
            resource: text(self.resource, false),
            start: text(self.start, false),
            end: text(self.end, false),
            quantity: text(self.quantity, true),
            malformed,
        }
    }
}

/// Parses one NDJSON usage line.
pub fn parse_usage_line(line: &str) -> Result<RawUsage<'_>, serde_json::Error> {
    serde_json::from_str(line)
}

/// Placeholders stand in for values that failed to parse so that the structural checks of
/// [`Scenario::new`] still run on everything else; `period_ok` says whether the period
/// (on which "in force" depends) was real.
struct Input {
    input: ScenarioInput,
    period_ok: bool,
}

fn read_input(raw: &RawScenario<'_>) -> (Input, Reader) {
    let mut r = Reader {
        problems: Vec::new(),
    };
    let period = r
        .string(raw.period, "period", true)
        .and_then(|p| match Period::from_str(&p) {
            Ok(p) => Some(p),
            Err(e) => {
                r.problem("period", e.to_string());
                None
            }
        });
    let period_ok = period.is_some();
    // Any valid month will do as a placeholder: period-dependent findings are dropped.
    let period = period.unwrap_or(Period::PLACEHOLDER);

    let placeholder_currency = Currency::USD;
    let platform = match &raw.platform {
        None => {
            r.problem("platform", "is required");
            None
        }
        Some(p) => {
            let currency = r.currency(p.currency, "platform.currency", true);
            let time_zone = r.time_zone(p.time_zone, "platform.time_zone");
            let mvp = r.boolean(
                p.monthly_variable_pricing,
                "platform.monthly_variable_pricing",
            );
            let rounding = match r.string(p.rounding, "platform.rounding", false) {
                None => Some(RoundingMode::HalfEven),
                Some(name) => {
                    let mode = RoundingMode::from_name(&name);
                    if mode.is_none() {
                        r.problem("platform.rounding", "must be \"half_even\" or \"half_up\"");
                    }
                    mode
                }
            };
            Some(Platform {
                currency: currency.unwrap_or(placeholder_currency),
                time_zone: time_zone.unwrap_or(chrono_tz::UTC),
                monthly_variable_pricing: mvp.unwrap_or(false),
                rounding: rounding.unwrap_or_default(),
            })
        }
    };

    let distributors = raw
        .distributors
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| {
            let p = format!("distributors[{i}]");
            Distributor {
                id: DistributorId::new(r.id(d.id, &format!("{p}.id"))),
                currency: r.currency(d.currency, &format!("{p}.currency"), false),
                commission: r.plan(&d.commission, &format!("{p}.commission")),
                partner_commission: r
                    .plan(&d.partner_commission, &format!("{p}.partner_commission")),
            }
        })
        .collect();
    let partners = raw
        .partners
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, x)| {
            let p = format!("partners[{i}]");
            Partner {
                id: PartnerId::new(r.id(x.id, &format!("{p}.id"))),
                distributor: DistributorId::new(r.id(x.distributor, &format!("{p}.distributor"))),
                currency: r.currency(x.currency, &format!("{p}.currency"), false),
                commission: r.plan(&x.commission, &format!("{p}.commission")),
            }
        })
        .collect();
    let tenants = raw
        .tenants
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, t)| {
            let p = format!("tenants[{i}]");
            Tenant {
                id: TenantId::new(r.id(t.id, &format!("{p}.id"))),
                partner: PartnerId::new(r.id(t.partner, &format!("{p}.partner"))),
                currency: r.currency(t.currency, &format!("{p}.currency"), false),
                time_zone: r.time_zone(t.time_zone, &format!("{p}.time_zone")),
                tax_percent: r
                    .amount(t.tax_percent, &format!("{p}.tax_percent"), false)
                    .unwrap_or(Decimal::ZERO),
            }
        })
        .collect();
    let subscriptions = raw
        .subscriptions
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            let p = format!("subscriptions[{i}]");
            Subscription {
                id: SubscriptionId::new(r.id(s.id, &format!("{p}.id"))),
                tenant: TenantId::new(r.id(s.tenant, &format!("{p}.tenant"))),
                region: RegionId::new(r.id(s.region, &format!("{p}.region"))),
                ends_on: r.date(s.ends_on, &format!("{p}.ends_on"), false),
            }
        })
        .collect();

    let mut price_lists = Vec::new();
    for (li, l) in raw.price_lists.iter().flatten().enumerate() {
        let p = format!("price_lists[{li}]");
        let id = PriceListId::new(r.id(l.id, &format!("{p}.id")));
        let scope = read_scope(&mut r, l.scope.as_ref(), &format!("{p}.scope"));
        let currency = r.currency(l.currency, &format!("{p}.currency"), true);
        let from = r.date(l.effective_from, &format!("{p}.effective_from"), true);
        let to = r.date(l.effective_to, &format!("{p}.effective_to"), false);
        let mut items = Vec::new();
        for (ii, it) in l.items.iter().flatten().enumerate() {
            if let Some(item) = read_item(&mut r, it, &format!("{p}.items[{ii}]")) {
                items.push(item);
            }
        }
        // A list whose scope or start could not be read is kept (so its items are
        // still checked) but never in force, so it cannot cause a false ambiguity.
        let in_force_known = scope.is_some() && from.is_some();
        price_lists.push(PriceList {
            id,
            scope: scope.unwrap_or_else(|| PriceScope::Region(RegionId::new(""))),
            currency: currency.unwrap_or(placeholder_currency),
            effective_from: from.filter(|_| in_force_known).unwrap_or(NaiveDate::MAX),
            effective_to: to.filter(|_| in_force_known),
            items,
        });
    }

    let mut fx_rates = Vec::new();
    for (i, f) in raw.fx_rates.iter().flatten().enumerate() {
        let p = format!("fx_rates[{i}]");
        let from = r.currency(f.from, &format!("{p}.from"), true);
        let to = r.currency(f.to, &format!("{p}.to"), true);
        let rate = r.decimal(f.rate, &format!("{p}.rate"), true);
        if rate.is_some_and(|rate| rate <= Decimal::ZERO) {
            r.problem(&format!("{p}.rate"), "must be > 0");
        }
        let as_of = r.date(f.as_of, &format!("{p}.as_of"), true);
        if let (Some(from), Some(to), Some(rate), Some(as_of)) = (from, to, rate, as_of) {
            fx_rates.push(FxRate {
                from,
                to,
                rate,
                as_of,
            });
        }
    }

    let input = ScenarioInput {
        period,
        platform: platform.unwrap_or(Platform {
            currency: placeholder_currency,
            time_zone: chrono_tz::UTC,
            monthly_variable_pricing: false,
            rounding: RoundingMode::HalfEven,
        }),
        distributors,
        partners,
        tenants,
        subscriptions,
        price_lists,
        fx_rates,
    };
    (Input { input, period_ok }, r)
}

fn read_scope(r: &mut Reader, raw: Option<&RawScope<'_>>, path: &str) -> Option<PriceScope> {
    let Some(s) = raw else {
        r.problem(path, "is required");
        return None;
    };
    let set: Vec<&str> = [
        ("region", s.region.is_some()),
        ("tenant", s.tenant.is_some()),
        ("subscription", s.subscription.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if set.len() != 1 {
        r.problem(
            path,
            "must name exactly one of region, tenant or subscription",
        );
        return None;
    }
    Some(match set[0] {
        "region" => PriceScope::Region(RegionId::new(r.id(s.region, &format!("{path}.region")))),
        "tenant" => PriceScope::Tenant(TenantId::new(r.id(s.tenant, &format!("{path}.tenant")))),
        _ => PriceScope::Subscription(SubscriptionId::new(
            r.id(s.subscription, &format!("{path}.subscription")),
        )),
    })
}

fn read_item(r: &mut Reader, it: &RawItem<'_>, p: &str) -> Option<PriceItem> {
    let meter = r.string(it.meter, &format!("{p}.meter"), true);
    let sku = r.string(it.sku, &format!("{p}.sku"), false);
    let per = match r.string(it.per, &format!("{p}.per"), false) {
        None => Some(Per::Unit),
        Some(name) => {
            let per = Per::from_name(&name);
            if per.is_none() {
                r.problem(&format!("{p}.per"), "must be \"unit\" or \"month\"");
            }
            per
        }
    };
    let credit = r.amount(it.credit, &format!("{p}.credit"), false);
    let rate = match (it.rate, &it.tiers) {
        (Some(_), Some(_)) => {
            r.problem(p, "an item has either rate or tiers, not both");
            None
        }
        (None, None) => {
            r.problem(&format!("{p}.rate"), "rate or tiers is required");
            None
        }
        (Some(_), None) => r
            .amount(it.rate, &format!("{p}.rate"), true)
            .map(Rate::Flat),
        (None, Some(t)) => r.tiers(t, &format!("{p}.tiers"), "rate").map(Rate::Tiered),
    };
    Some(PriceItem {
        meter: MeterId::new(&meter?),
        sku: sku.map(Cow::into_owned),
        rate: rate?,
        per: per?,
        credit,
    })
}

/// Reads, validates and rates a scenario document: the whole of `stackbill rate`.
pub fn rate_document(text: &str) -> Result<Outcome, RateError> {
    let doc = Document::parse(text)?;
    Ok(doc.rate()?)
}

/// Failure of [`rate_document`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// The document could not be read or is invalid.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Rating failed.
    #[error(transparent)]
    Rate(#[from] Error),
}

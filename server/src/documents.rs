//! Invoice documents (PDF and HTML) from stored invoices: the stored invoice read with the
//! core's typed reader, resolved to what a reader needs (meter and subscription names,
//! units, the tenant's contact and address, the period in the tenant's time zone, the
//! Invoice Settings' colours, logo and payment details), then rendered by
//! `stackbill-document`.
//!
//! An issued invoice's document is rendered once, at issue, and kept by the store: every
//! later request is answered with the kept bytes, so what the tenant was sent never changes
//! when branding does. A preview is rendered on each request and says PREVIEW.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::Value;
use stackbill_core::adjustment::BilledLine;
use stackbill_core::invoice::LineKind;
use stackbill_core::period::Period;
use stackbill_core::scenario::json::read_document_lines;
use stackbill_document::{DocumentError, Group, Line, Party};
use stackbill_store::{InvoiceRow, InvoiceStatus, MeterRow, Store, StoreError, SubscriptionRow};

use crate::api::access::Directory;
use crate::api::system::effective_settings;
use crate::api::wire::ApiError;
use crate::branding::{Look, text};

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/pdf`.
    Pdf,
    /// `text/html`.
    Html,
}

impl Format {
    /// The name the store keeps it under and `?format=` and the CLI accept.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Html => "html",
        }
    }

    /// Its media type.
    pub(crate) fn media_type(self) -> &'static str {
        match self {
            Format::Pdf => "application/pdf",
            Format::Html => "text/html; charset=utf-8",
        }
    }

    /// Both, in the order they are kept at issue.
    pub(crate) const ALL: [Format; 2] = [Format::Pdf, Format::Html];
}

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DocumentFailure {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored invoice cannot be read (a bug or a damaged row).
    #[error("invoice {0} cannot be read: {1}")]
    Unreadable(i64, String),
    /// A setting cannot be used, or the renderer failed.
    #[error(transparent)]
    Render(#[from] DocumentError),
    /// The directory (tenants and their names) could not be read.
    #[error("{0}")]
    Directory(ApiError),
    /// The branding of the tenant's distributor or partner cannot be used.
    #[error("{0}")]
    Branding(String),
}

impl From<DocumentFailure> for ApiError {
    fn from(e: DocumentFailure) -> Self {
        match e {
            DocumentFailure::Store(e) => e.into(),
            DocumentFailure::Directory(e) => e,
            DocumentFailure::Branding(why) => ApiError::Conflict(why),
            DocumentFailure::Render(DocumentError::Setting { field, why }) => ApiError::Conflict(
                format!("invoice setting {field} {why}; correct it in System Settings → Invoices"),
            ),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// Everything shared by the documents of one platform: loaded once, so a run rendering
/// thousands of invoices reads the directory, settings and catalogue once.
#[derive(Debug)]
pub(crate) struct Context {
    /// The platform's look, for tenants whose branch sets none.
    platform: Look,
    /// Each partner's look (lower-cased id): its own branding over its distributor's over
    /// the platform's, or why it cannot be used.
    partners: HashMap<String, Result<Look, String>>,
    platform_zone: String,
    meters: HashMap<String, MeterRow>,
    subscriptions: HashMap<String, SubscriptionRow>,
    directory: Directory,
}

impl Context {
    /// Reads the settings, directory and catalogue.
    pub(crate) async fn load(store: &dyn Store) -> Result<Context, DocumentFailure> {
        let settings: BTreeMap<String, Value> = store.settings().await?;
        let invoices = effective_settings("invoices", settings.get("invoices"));
        let branding = effective_settings("branding", settings.get("branding"));
        let platform = Look::platform(&invoices, &branding)?;
        let zone = store.platform().await?;
        let directory = Directory::load(store)
            .await
            .map_err(DocumentFailure::Directory)?;
        let unusable = |whose: String, e: DocumentError| {
            format!("the branding of {whose} cannot be used: {e}; correct it in its details")
        };
        let distributors: HashMap<String, Result<Look, String>> = directory
            .distributors
            .iter()
            .map(|d| {
                let look = platform
                    .overlaid(&d.details)
                    .map_err(|e| unusable(format!("distributor {}", d.id), e));
                (d.id.to_lowercase(), look)
            })
            .collect();
        let partners = directory
            .partners
            .iter()
            .map(|p| {
                let above = match distributors.get(&p.distributor.to_lowercase()) {
                    Some(Err(why)) => Err(why.clone()),
                    Some(Ok(above)) => Ok(above),
                    None => Ok(&platform),
                };
                let look = above.and_then(|above| {
                    above
                        .overlaid(&p.details)
                        .map_err(|e| unusable(format!("partner {}", p.id), e))
                });
                (p.id.to_lowercase(), look)
            })
            .collect();
        Ok(Context {
            platform,
            partners,
            platform_zone: zone.map_or_else(|| "UTC".into(), |p| p.time_zone),
            meters: store
                .meters()
                .await?
                .into_iter()
                .map(|m| (m.id.to_lowercase(), m))
                .collect(),
            subscriptions: store
                .subscriptions()
                .await?
                .into_iter()
                .map(|s| (s.id.to_lowercase(), s))
                .collect(),
            directory,
        })
    }

    fn meter(&self, id: &str) -> (String, String) {
        match self.meters.get(&id.to_lowercase()) {
            Some(m) => (m.name.clone(), m.unit.clone()),
            None => (id.to_owned(), String::new()),
        }
    }

    fn subscription(&self, id: Option<&str>) -> String {
        match id {
            None => "Account".into(),
            Some(id) => match self.subscriptions.get(&id.to_lowercase()) {
                Some(s) if !s.name.is_empty() => format!("{} ({id})", s.name),
                _ => id.to_owned(),
            },
        }
    }

    fn line(&self, b: &BilledLine, unit_rate: Option<Decimal>, fx_rate: Option<Decimal>) -> Line {
        let (name, unit) = self.meter(&b.meter.to_string());
        let mut description = match b.kind {
            LineKind::Charge => name,
            LineKind::Credit => format!("Credit: {name}"),
        };
        if let Some(p) = b.adjusts {
            let sub = self.subscription(b.subscription.as_ref().map(|s| s.to_string()).as_deref());
            description = format!("{description} — {sub}, adjusting {}", month(p));
        }
        Line {
            description,
            unit: if b.kind == LineKind::Credit {
                String::new()
            } else {
                unit
            },
            sku: b.sku.clone(),
            quantity: b.quantity,
            unit_rate,
            price_list: b.price_list.to_string(),
            fx_rate,
            amount: b.amount,
        }
    }

    /// The document of one invoice, resolved for reading.
    pub(crate) fn invoice(
        &self,
        row: &InvoiceRow,
    ) -> Result<stackbill_document::Invoice, DocumentFailure> {
        let unreadable = |why: String| DocumentFailure::Unreadable(row.id, why);
        let lines = read_document_lines(&row.document.to_string())
            .map_err(|e| unreadable(e.to_string()))?;
        let money = |field: &str| -> Result<Decimal, DocumentFailure> {
            let t = row
                .document
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("0");
            t.parse()
                .map_err(|_| unreadable(format!("{field} {t:?} is not a decimal")))
        };
        let decimals = stackbill_core::money::Currency::from_code(&row.currency)
            .map_err(|e| unreadable(e.to_string()))?
            .minor_unit();
        let mut groups: Vec<Group> = Vec::new();
        for l in &lines {
            let b = &l.billed;
            let heading = match b.adjusts {
                Some(p) => format!("Adjustments to {}", month(p)),
                None => {
                    self.subscription(b.subscription.as_ref().map(|s| s.to_string()).as_deref())
                }
            };
            let line = self.line(b, l.unit_rate, l.fx_rate);
            match groups.iter_mut().find(|g| g.heading == heading) {
                Some(g) => g.lines.push(line),
                None => groups.push(Group {
                    heading,
                    lines: vec![line],
                }),
            }
        }
        let tenant = self.directory.tenant(&row.tenant);
        let look = match tenant.and_then(|t| self.partners.get(&t.partner.to_lowercase())) {
            Some(Ok(look)) => look,
            Some(Err(why)) => return Err(DocumentFailure::Branding(why.clone())),
            None => &self.platform,
        };
        let zone = tenant
            .and_then(|t| t.time_zone.clone())
            .unwrap_or_else(|| self.platform_zone.clone());
        let period: Period = row
            .period
            .parse()
            .map_err(|e: stackbill_core::period::BadPeriod| unreadable(e.to_string()))?;
        let (subtotal, tax, total) = (money("subtotal")?, money("tax")?, money("total")?);
        let date = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        let issued = row.status != InvoiceStatus::Preview;
        Ok(stackbill_document::Invoice {
            title: "Invoice".into(),
            preview: !issued,
            number: row.number.clone().filter(|_| issued),
            issue_date: date(&row.issue_date),
            due_date: date(&row.due_date),
            period: format!(
                "{} – {} ({zone})",
                period.first_day().format("%-d %b %Y"),
                period.last_day().format("%-d %b %Y")
            ),
            seller: look.seller.clone(),
            bill_to: tenant.map_or_else(
                || Party {
                    name: row.tenant.clone(),
                    lines: Vec::new(),
                },
                |t| Party {
                    name: t.name.clone(),
                    lines: contact_lines(&t.details),
                },
            ),
            currency: row.currency.clone(),
            decimals,
            groups,
            subtotal,
            tax_label: tax_label(
                tenant.and_then(|t| t.tax_percent.as_deref()),
                subtotal,
                tax,
                decimals,
            ),
            tax,
            total,
            payment_details: look.payment_details.clone(),
            branding: look.branding.clone(),
        })
    }
}

fn month(p: Period) -> String {
    p.first_day().format("%B %Y").to_string()
}

/// The billing contact, then the address (text, or an object's text values in order).
fn contact_lines(details: &Value) -> Vec<String> {
    let mut out: Vec<String> = text(details, "billingContact").into_iter().collect();
    match details.get("address") {
        Some(Value::String(s)) => out.extend(
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        ),
        Some(Value::Object(map)) => out.extend(
            map.values()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        ),
        _ => {}
    }
    out
}

/// `Tax (10%)` when the tenant's current rate is the one the invoice was taxed at (the
/// tax recomputes from the subtotal), else just `Tax`: a later change of the rate must
/// not put a wrong percentage on an earlier invoice.
fn tax_label(percent: Option<&str>, subtotal: Decimal, tax: Decimal, decimals: u32) -> String {
    let Some(p) = percent.and_then(|p| p.parse::<Decimal>().ok()) else {
        return "Tax".into();
    };
    // Either rounding the platform may bill with (half even, half up).
    let exact = subtotal
        .checked_mul(p)
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED));
    let applied = exact.is_some_and(|v| {
        [
            rust_decimal::RoundingStrategy::MidpointNearestEven,
            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
        ]
        .into_iter()
        .any(|r| v.round_dp_with_strategy(decimals, r) == tax)
    });
    if applied {
        format!("Tax ({}%)", p.normalize())
    } else {
        "Tax".into()
    }
}

/// Renders a resolved invoice in `format`.
pub(crate) fn render(
    invoice: &stackbill_document::Invoice,
    format: Format,
) -> Result<Vec<u8>, DocumentFailure> {
    Ok(match format {
        Format::Pdf => stackbill_document::render_pdf(invoice)?,
        Format::Html => stackbill_document::render_html(invoice).into_bytes(),
    })
}

/// The document of `row` in `format`: an issued invoice's kept document (rendered and
/// kept now if it was issued before documents were kept, or keeping at issue failed), a
/// preview's rendered fresh.
pub(crate) async fn document(
    store: &dyn Store,
    row: &InvoiceRow,
    format: Format,
) -> Result<Vec<u8>, DocumentFailure> {
    if row.status != InvoiceStatus::Preview
        && let Some(kept) = store.invoice_document(row.id, format.name()).await?
    {
        return Ok(kept);
    }
    let ctx = Context::load(store).await?;
    let bytes = render(&ctx.invoice(row)?, format)?;
    if row.status == InvoiceStatus::Preview {
        return Ok(bytes);
    }
    Ok(store
        .keep_invoice_document(row.id, format.name(), &bytes)
        .await?)
}

/// Renders and keeps both documents of a just-issued invoice with `ctx`, so they show the
/// branding and settings of the day it was issued.
pub(crate) async fn keep_at_issue(
    store: &dyn Store,
    ctx: &Context,
    row: &InvoiceRow,
) -> Result<(), DocumentFailure> {
    let invoice = ctx.invoice(row)?;
    for format in Format::ALL {
        store
            .keep_invoice_document(row.id, format.name(), &render(&invoice, format)?)
            .await?;
    }
    Ok(())
}

/// [`keep_at_issue`] for one invoice just issued. Issuing has already succeeded, so a
/// failure here is logged, not returned: the first request for the document renders and
/// keeps it then (see [`document`]).
pub(crate) async fn keep_or_log(store: &dyn Store, row: &InvoiceRow) {
    let kept = match Context::load(store).await {
        Ok(ctx) => keep_at_issue(store, &ctx, row).await,
        Err(e) => Err(e),
    };
    if let Err(e) = kept {
        tracing::error!(invoice = row.id, error = %e, "the issued invoice's documents were not kept at issue");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tax_rate_is_shown_only_when_it_is_the_one_applied() {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(
            tax_label(Some("10"), d("123.45"), d("12.35"), 2),
            "Tax (10%)"
        );
        assert_eq!(
            tax_label(Some("7.50"), d("100"), d("7.50"), 2),
            "Tax (7.5%)"
        );
        assert_eq!(tax_label(Some("20"), d("123.45"), d("12.35"), 2), "Tax");
        assert_eq!(tax_label(None, d("1"), d("0"), 2), "Tax");
    }

    #[test]
    fn the_address_follows_the_billing_contact() {
        let details = serde_json::json!({"billingContact": "ap@fabrikam.example",
            "address": "Main St 5\n10115 Berlin\n"});
        assert_eq!(
            contact_lines(&details),
            ["ap@fabrikam.example", "Main St 5", "10115 Berlin"]
        );
    }
}

//! What an invoice document shows, already resolved to display values: names instead of
//! ids, the period in the tenant's time zone, money as exact decimals with the currency's
//! minor-unit digits. The server builds it from the typed invoice; PDF and HTML render the
//! same value, so both documents say the same thing.

use base64::Engine;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::DocumentError;

/// One invoice as its document shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    /// What the document calls itself ("Invoice", or an operator's naming override).
    pub title: String,
    /// A preview (not issued): every page says PREVIEW and there is no number.
    pub preview: bool,
    /// `INV-YYYY-NNNNNN` once issued.
    pub number: Option<String>,
    /// Issue date, once issued.
    pub issue_date: Option<NaiveDate>,
    /// Due date, once issued.
    pub due_date: Option<NaiveDate>,
    /// The billing period as a reader sees it, e.g. `1 Oct 2026 – 31 Oct 2026 (Europe/Berlin)`.
    pub period: String,
    /// Who sells: the platform, or the partner whose branding the tenant sees.
    pub seller: Party,
    /// Who pays: the tenant, its billing contact and address.
    pub bill_to: Party,
    /// ISO 4217 code of every amount.
    pub currency: String,
    /// Minor-unit digits of `currency` (2 for EUR, 3 for KWD, 0 for JPY).
    pub decimals: u32,
    /// Lines, grouped (by subscription, then adjustments by corrected period).
    pub groups: Vec<Group>,
    /// Sum of the lines.
    pub subtotal: Decimal,
    /// Tax line's label, e.g. `Tax (10%)`.
    pub tax_label: String,
    /// Tax amount.
    pub tax: Decimal,
    /// Subtotal plus tax.
    pub total: Decimal,
    /// Free text: bank details, terms (Invoice Settings → Payment Details).
    pub payment_details: Option<String>,
    /// Colours and logo.
    pub branding: Branding,
}

impl Invoice {
    /// The labelled facts under the parties, in order (both renderers show these).
    pub fn facts(&self) -> [(&'static str, String); 5] {
        let date = |d: Option<NaiveDate>| {
            d.map_or_else(|| "—".to_owned(), |d| d.format("%-d %b %Y").to_string())
        };
        [
            (
                "Invoice number",
                self.number.clone().unwrap_or_else(|| "PREVIEW".into()),
            ),
            ("Issue date", date(self.issue_date)),
            ("Due date", date(self.due_date)),
            ("Billing period", self.period.clone()),
            ("Currency", self.currency.clone()),
        ]
    }
}

/// A named party with the lines of its address block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    /// Organisation name.
    pub name: String,
    /// Contact and address lines, in order.
    pub lines: Vec<String>,
}

/// A heading and the lines under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// E.g. the subscription's name and id, or `Adjustments to September 2026`.
    pub heading: String,
    /// Lines in document order.
    pub lines: Vec<Line>,
}

/// One invoice line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// What was charged: the meter's name (with what an adjustment corrects).
    pub description: String,
    /// Unit of the quantity (`GB-month`, `vCPU-hour`), empty for credits.
    pub unit: String,
    /// SKU, when the price list names one.
    pub sku: Option<String>,
    /// Quantity billed (none for credits).
    pub quantity: Option<Decimal>,
    /// Flat unit rate, when the line has one (tiered lines do not).
    pub unit_rate: Option<Decimal>,
    /// The price list that priced it.
    pub price_list: String,
    /// The FX rate applied, when the price list is in another currency.
    pub fx_rate: Option<Decimal>,
    /// Amount in the invoice currency.
    pub amount: Decimal,
}

/// The eight colours of Invoice Settings and the header logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// Header band background.
    pub header_background: Colour,
    /// Header band text.
    pub header_font: Colour,
    /// Page background.
    pub body_background: Colour,
    /// Body text.
    pub body_font: Colour,
    /// Footer band background.
    pub footer_background: Colour,
    /// Footer text.
    pub footer_font: Colour,
    /// Group heading and table header background.
    pub grouping_background: Colour,
    /// Group heading and table header text.
    pub grouping_font: Colour,
    /// Header logo, if any.
    pub logo: Option<Logo>,
}

impl Default for Branding {
    fn default() -> Self {
        let white = Colour(255, 255, 255);
        let black = Colour(0, 0, 0);
        Branding {
            header_background: white,
            header_font: black,
            body_background: white,
            body_font: black,
            footer_background: white,
            footer_font: black,
            grouping_background: Colour(0xEE, 0xEE, 0xEE),
            grouping_font: black,
            logo: None,
        }
    }
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Reads `#RRGGBB` (the form System Settings stores).
    pub fn parse(field: &str, text: &str) -> Result<Colour, DocumentError> {
        let bad = || DocumentError::Setting {
            field: field.to_owned(),
            why: format!("{text:?} is not a colour as #RRGGBB"),
        };
        let hex = text
            .strip_prefix('#')
            .filter(|h| h.len() == 6)
            .ok_or_else(bad)?;
        let byte = |i: usize| {
            hex.get(i..i.saturating_add(2))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        };
        Ok(Colour(byte(0)?, byte(2)?, byte(4)?))
    }

    /// `#rrggbb`, for CSS.
    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// A raster logo, PNG or JPEG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// `image/png` or `image/jpeg`.
    pub media_type: &'static str,
    /// The image file's bytes.
    pub bytes: Vec<u8>,
}

impl Logo {
    /// Reads a `data:image/png;base64,…` or `data:image/jpeg;base64,…` URL, the form the
    /// Invoice Header Logo setting holds.
    pub fn from_data_url(field: &str, url: &str) -> Result<Logo, DocumentError> {
        let bad = |why: &str| DocumentError::Setting {
            field: field.to_owned(),
            why: why.to_owned(),
        };
        let (head, data) = url
            .split_once(',')
            .ok_or_else(|| bad("must be a data: URL (data:image/png;base64,…)"))?;
        let media_type = match head.trim() {
            "data:image/png;base64" => "image/png",
            "data:image/jpeg;base64" | "data:image/jpg;base64" => "image/jpeg",
            _ => return Err(bad("must be a base64 PNG or JPEG data: URL")),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| bad(&format!("is not valid base64: {e}")))?;
        let logo = Logo { media_type, bytes };
        crate::pdf::check_logo(&logo).map_err(|why| bad(&why))?;
        Ok(logo)
    }

    /// The logo as a `data:` URL again, for HTML.
    pub fn data_url(&self) -> String {
        let data = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        format!("data:{};base64,{data}", self.media_type)
    }
}

/// `amount` with `decimals` digits (rounded half away from zero only if it has more, which
/// a rated line never has) and thousands separators: `-1,234.50`.
pub fn format_money(amount: Decimal, decimals: u32) -> String {
    let rounded = amount.round_dp_with_strategy(
        decimals,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    let text = format!("{:.*}", decimals as usize, rounded.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len().saturating_add(8));
    if rounded.is_sign_negative() && !rounded.is_zero() {
        out.push('-');
    }
    let digits = whole.len();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (digits.saturating_sub(i)) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A quantity or rate as its plain exact decimal, without trailing zeros.
pub fn format_number(value: Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_has_the_currencys_digits_and_separators() {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(format_money(d("1234.5"), 2), "1,234.50");
        assert_eq!(format_money(d("-1234567.125"), 3), "-1,234,567.125");
        assert_eq!(format_money(d("999"), 0), "999");
        assert_eq!(format_money(d("0.00"), 2), "0.00");
        assert_eq!(format_money(d("-0.001"), 2), "0.00");
    }

    proptest! {
        /// Removing the separators gives the amount back, exactly.
        #[test]
        fn formatted_money_reads_back(units in -10_000_000_000_i64..10_000_000_000, scale in 0_u32..4) {
            let amount = Decimal::new(units, scale);
            let text = format_money(amount, scale).replace(',', "");
            prop_assert_eq!(text.parse::<Decimal>().ok(), Some(amount));
        }
    }

    #[test]
    fn colours_and_logos_are_checked_with_the_setting_named() {
        assert_eq!(
            Colour::parse("c", "#0F6cBD").ok(),
            Some(Colour(15, 108, 189))
        );
        let e = Colour::parse("headerFontColour", "red")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("headerFontColour")));
        let e = Logo::from_data_url("invoiceHeaderLogo", "data:image/gif;base64,AAAA");
        assert!(e.is_err());
        let e = Logo::from_data_url("invoiceHeaderLogo", "data:image/png;base64,AAAA");
        assert!(e.is_err(), "four bytes are not a PNG");
    }
}

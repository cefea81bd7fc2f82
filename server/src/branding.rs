//! Whose look an invoice carries. The platform's comes from System Settings (Invoices
//! and Branding); a distributor or partner may set its own in `details.branding` of its
//! node, and its tenants' invoices then carry it: the selling partner's field where it
//! set one, else its distributor's, else the platform's, field by field.
//!
//! A node's branding is checked when it is written, so a bad colour or logo is refused
//! at the `PUT` that sent it (naming the field), not discovered at month end.

use serde_json::Value;
use stackbill_document::{Branding, Colour, DocumentError, Logo, Party};

use crate::api::wire::{ApiError, ApiResult};

/// The eight colours, under the names Invoice Settings gives them.
const COLOURS: [&str; 8] = [
    "headerBackgroundColour",
    "headerFontColour",
    "bodyBackgroundColour",
    "bodyFontColour",
    "footerBackgroundColour",
    "footerFontColour",
    "groupingBackgroundColour",
    "groupingFontColour",
];

/// Free-text fields and their longest length in characters.
const TEXTS: [(&str, usize); 3] = [
    ("name", 200),
    ("supportEmail", 320),
    ("paymentDetails", 4000),
];

/// The header logo: a PNG or JPEG `data:` URL, as Invoice Header Logo.
const LOGO: &str = "logo";

/// What an invoice shows of whoever sells it.
#[derive(Debug, Clone)]
pub(crate) struct Look {
    /// Colours and logo.
    pub branding: Branding,
    /// The seller block: name and contact line.
    pub seller: Party,
    /// The payment details text of the footer.
    pub payment_details: Option<String>,
}

pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn colour_slot<'a>(b: &'a mut Branding, key: &str) -> Option<&'a mut Colour> {
    Some(match key {
        "headerBackgroundColour" => &mut b.header_background,
        "headerFontColour" => &mut b.header_font,
        "bodyBackgroundColour" => &mut b.body_background,
        "bodyFontColour" => &mut b.body_font,
        "footerBackgroundColour" => &mut b.footer_background,
        "footerFontColour" => &mut b.footer_font,
        "groupingBackgroundColour" => &mut b.grouping_background,
        "groupingFontColour" => &mut b.grouping_font,
        _ => return None,
    })
}

impl Look {
    /// The platform's look: Invoice Settings' colours, logo and payment details, and the
    /// product name and support address of Branding.
    pub(crate) fn platform(invoices: &Value, branding: &Value) -> Result<Look, DocumentError> {
        let mut look = Look {
            branding: Branding::default(),
            seller: Party {
                name: text(branding, "productName").unwrap_or_else(|| "StackBill".into()),
                lines: text(branding, "supportEmail").into_iter().collect(),
            },
            payment_details: text(invoices, "invoicePaymentDetails"),
        };
        for key in COLOURS {
            if let (Some(t), Some(slot)) =
                (text(invoices, key), colour_slot(&mut look.branding, key))
            {
                *slot = Colour::parse(key, &t)?;
            }
        }
        look.branding.logo = text(invoices, "invoiceHeaderLogo")
            .map(|url| Logo::from_data_url("invoiceHeaderLogo", &url))
            .transpose()?;
        Ok(look)
    }

    /// This look with what a node's `details.branding` sets instead.
    pub(crate) fn overlaid(&self, details: &Value) -> Result<Look, DocumentError> {
        let mut look = self.clone();
        let Some(own) = details.get("branding").filter(|b| b.is_object()) else {
            return Ok(look);
        };
        let field = |key: &str| format!("details.branding.{key}");
        for key in COLOURS {
            if let (Some(t), Some(slot)) = (text(own, key), colour_slot(&mut look.branding, key)) {
                *slot = Colour::parse(&field(key), &t)?;
            }
        }
        if let Some(url) = text(own, LOGO) {
            look.branding.logo = Some(Logo::from_data_url(&field(LOGO), &url)?);
        }
        if let Some(name) = text(own, "name") {
            look.seller.name = name;
        }
        if let Some(email) = text(own, "supportEmail") {
            look.seller.lines = vec![email];
        }
        if let Some(details) = text(own, "paymentDetails") {
            look.payment_details = Some(details);
        }
        Ok(look)
    }
}

/// Checks `details.branding` of a distributor or partner as sent: an object of the
/// known fields only, each of its kind.
pub(crate) fn check(details: &Value) -> ApiResult<()> {
    let Some(own) = details.get("branding") else {
        return Ok(());
    };
    let Some(map) = own.as_object() else {
        return Err(ApiError::field("details.branding", "must be an object"));
    };
    for (key, value) in map {
        let name = format!("details.branding.{key}");
        let Some(t) = value.as_str() else {
            if value.is_null() {
                continue;
            }
            return Err(ApiError::field(&name, "must be a string"));
        };
        if COLOURS.contains(&key.as_str()) {
            Colour::parse(&name, t.trim()).map_err(|e| setting(&name, e))?;
        } else if key == LOGO {
            Logo::from_data_url(&name, t.trim()).map_err(|e| setting(&name, e))?;
        } else if let Some((_, max)) = TEXTS.iter().find(|(k, _)| k == key) {
            if t.chars().count() > *max {
                return Err(ApiError::field(
                    &name,
                    format!("must be at most {max} characters"),
                ));
            }
            if key == "supportEmail" && !t.trim().is_empty() {
                crate::api::email::valid(&name, t)?;
            }
        } else {
            let known: Vec<&str> = COLOURS
                .iter()
                .copied()
                .chain(TEXTS.iter().map(|(k, _)| *k))
                .chain([LOGO])
                .collect();
            return Err(ApiError::field(
                &name,
                format!(
                    "is not a branding field; the fields are {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn setting(name: &str, e: DocumentError) -> ApiError {
    match e {
        DocumentError::Setting { why, .. } => ApiError::field(name, why),
        other => ApiError::field(name, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn platform() -> Look {
        Look::platform(
            &json!({"headerBackgroundColour": "#102030", "invoicePaymentDetails": "Pay the platform"}),
            &json!({"productName": "Harbour Cloud", "supportEmail": "help@harbour.test"}),
        )
        .unwrap()
    }

    #[test]
    fn a_partner_overrides_only_the_fields_it_sets() {
        let distributor = platform()
            .overlaid(&json!({"branding": {"name": "Southern Distribution", "bodyFontColour": "#111111"}}))
            .unwrap();
        let partner = distributor
            .overlaid(
                &json!({"branding": {"name": "Contoso Cloud", "paymentDetails": "BSB 000-000"}}),
            )
            .unwrap();
        assert_eq!(partner.seller.name, "Contoso Cloud");
        assert_eq!(partner.seller.lines, ["help@harbour.test"]);
        assert_eq!(partner.payment_details.as_deref(), Some("BSB 000-000"));
        assert_eq!(partner.branding.header_background, Colour(0x10, 0x20, 0x30));
        assert_eq!(partner.branding.body_font, Colour(0x11, 0x11, 0x11));
        let plain = platform().overlaid(&json!({"contact": "x"})).unwrap();
        assert_eq!(plain.seller.name, "Harbour Cloud");
    }

    #[test]
    fn bad_branding_is_refused_naming_the_field() {
        let refused = |details: Value| format!("{:?}", check(&details).unwrap_err());
        assert!(refused(json!({"branding": "blue"})).contains("details.branding"));
        assert!(
            refused(json!({"branding": {"headerFontColour": "blue"}}))
                .contains("details.branding.headerFontColour")
        );
        assert!(
            refused(json!({"branding": {"logo": "https://x.test/logo.png"}}))
                .contains("details.branding.logo")
        );
        assert!(
            refused(json!({"branding": {"colour": "#000000"}})).contains("not a branding field")
        );
        assert!(
            refused(json!({"branding": {"supportEmail": "nobody"}}))
                .contains("details.branding.supportEmail")
        );
        check(
            &json!({"branding": {"name": "Contoso", "headerFontColour": "#FFFFFF", "logo": null}}),
        )
        .unwrap();
        check(&json!({"contact": "x"})).unwrap();
    }
}

//! One page of `subscriberUsageAggregates`, read the way the API writes it.
//!
//! Lenient where the API is inconsistent: `instanceData` is JSON inside a string, `tags`
//! and `additionalInfo` come as `""`, `"null"`, `null`, an object, or an object encoded
//! in a string; meter ids vary in case and hyphens; resource URIs in case and slashes;
//! quantities are JSON numbers, often in exponent form, and are kept as their exact
//! source text (never through `f64`). Strict where data would be lost: a row that cannot
//! be read is returned as a [`Rejected`] row with its raw text and the reason, never
//! dropped, and a page that is not a page at all is an error.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use stackbill_core::meter::canonical_meter;
use stackbill_core::usage::parse_instant;

/// A usage aggregate read from a page, normalised for storage and identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// The consuming subscription, lower-cased (Azure subscription ids are GUIDs, compared
    /// without regard to case).
    pub subscription: String,
    /// The canonical meter id (lower-case hyphenated GUID).
    pub meter: String,
    /// The VM size (`additionalInfo.ServiceType`), when the resource has one.
    pub sku: Option<String>,
    /// The resource URI with `\` turned into `/` and lower-cased.
    pub resource: Option<String>,
    /// Usage start and end, Unix nanoseconds.
    pub start_ns: i64,
    /// Usage end, Unix nanoseconds.
    pub end_ns: i64,
    /// The quantity exactly as the JSON number was written.
    pub quantity: String,
    /// The stamp's location name.
    pub location: Option<String>,
}

/// A row that could not be read, kept with its raw JSON text and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row as received.
    pub raw: String,
    /// What was wrong, naming the field.
    pub reason: String,
}

/// A parsed page: its rows in order, the rows that could not be read, and the link to
/// the next page (absent on the last).
#[derive(Debug, Default)]
pub struct Page {
    /// The rows that were read.
    pub rows: Vec<Aggregate>,
    /// The rows that were not.
    pub rejected: Vec<Rejected>,
    /// `nextLink`, verbatim.
    pub next_link: Option<String>,
}

/// Why a body is not a usage page at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a usage page: {0}")]
pub struct PageError(pub String);

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    value: Option<Vec<&'a RawValue>>,
    #[serde(rename = "nextLink", default)]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    properties: Option<Properties<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties<'a> {
    #[serde(borrow, default)]
    subscription_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage_start_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    usage_end_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    instance_data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    quantity: Option<&'a RawValue>,
    #[serde(borrow, default)]
    meter_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct InstanceData<'a> {
    #[serde(rename = "Microsoft.Resources", borrow)]
    resources: Option<Resources<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resources<'a> {
    #[serde(borrow, default)]
    resource_uri: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    location: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    additional_info: Option<&'a RawValue>,
}

/// Reads a page body. Rows that cannot be read are returned in [`Page::rejected`].
pub fn parse_page(body: &[u8]) -> Result<Page, PageError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| PageError(e.to_string()))?;
    let Some(values) = envelope.value else {
        return Err(PageError("it has no \"value\" array".into()));
    };
    let mut page = Page {
        rows: Vec::with_capacity(values.len()),
        rejected: Vec::new(),
        next_link: envelope.next_link.filter(|l| !l.trim().is_empty()),
    };
    for raw in values {
        match parse_row(raw) {
            Ok(row) => page.rows.push(row),
            Err(reason) => page.rejected.push(Rejected {
                raw: raw.get().to_owned(),
                reason,
            }),
        }
    }
    Ok(page)
}

fn parse_row(raw: &RawValue) -> Result<Aggregate, String> {
    let row: Row<'_> =
        serde_json::from_str(raw.get()).map_err(|e| format!("not a usage aggregate: {e}"))?;
    let p = row
        .properties
        .ok_or_else(|| "properties: missing".to_owned())?;
    let subscription = p
        .subscription_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| "properties.subscriptionId: missing".to_owned())?
        .trim()
        .to_ascii_lowercase();
    let meter = p
        .meter_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| "properties.meterId: missing".to_owned())?;
    let meter = canonical_meter(meter.trim());
    let start_ns = instant(p.usage_start_time.as_deref(), "usageStartTime")?;
    let end_ns = instant(p.usage_end_time.as_deref(), "usageEndTime")?;
    if end_ns <= start_ns {
        return Err("properties.usageEndTime: not after usageStartTime".into());
    }
    let quantity = quantity(p.quantity)?;
    let (resource, location, sku) = match p.instance_data {
        None => (None, None, None),
        Some(v) => instance_data(v)?,
    };
    Ok(Aggregate {
        subscription,
        meter,
        sku,
        resource,
        start_ns,
        end_ns,
        quantity,
        location,
    })
}

fn instant(text: Option<&str>, field: &str) -> Result<i64, String> {
    let text = text.ok_or_else(|| format!("properties.{field}: missing"))?;
    parse_instant(text.trim())
        .ok_or_else(|| format!("properties.{field}: {text:?} is not an RFC 3339 instant"))
}

/// The quantity's exact text: a JSON number as written, or a string holding one.
fn quantity(raw: Option<&RawValue>) -> Result<String, String> {
    let raw = raw.ok_or_else(|| "properties.quantity: missing".to_owned())?;
    let text = raw.get();
    let text: Cow<'_, str> = if text.starts_with('"') {
        Cow::Owned(
            serde_json::from_str::<String>(text)
                .map_err(|e| format!("properties.quantity: {e}"))?,
        )
    } else {
        Cow::Borrowed(text)
    };
    let text = text.trim();
    stackbill_core::number::parse_decimal(text).map_err(|e| format!("properties.quantity: {e}"))?;
    Ok(text.to_owned())
}

type Instance = (Option<String>, Option<String>, Option<String>);

/// `instanceData`: a string holding JSON (as the API sends it) or, leniently, an object.
fn instance_data(raw: &RawValue) -> Result<Instance, String> {
    let inner: Cow<'_, str> = match raw.get().as_bytes().first() {
        Some(b'"') => Cow::Owned(
            serde_json::from_str::<String>(raw.get())
                .map_err(|e| format!("properties.instanceData: {e}"))?,
        ),
        Some(b'n') => return Ok((None, None, None)),
        _ => Cow::Borrowed(raw.get()),
    };
    if inner.trim().is_empty() {
        return Ok((None, None, None));
    }
    let data: InstanceData<'_> = serde_json::from_str(&inner)
        .map_err(|e| format!("properties.instanceData: not JSON ({e})"))?;
    let Some(r) = data.resources else {
        return Ok((None, None, None));
    };
    let resource = r
        .resource_uri
        .map(|u| u.trim().replace('\\', "/").to_ascii_lowercase())
        .filter(|u| !u.is_empty());
    let location = r
        .location
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty());
    let sku = match r.additional_info {
        None => None,
        Some(info) => service_type(info)
            .map_err(|e| format!("properties.instanceData.additionalInfo: {e}"))?,
    };
    Ok((resource, location, sku))
}

/// `additionalInfo.ServiceType`, from `""`, `"null"`, `null`, an object or an object in a
/// string.
fn service_type(raw: &RawValue) -> Result<Option<String>, String> {
    #[derive(Deserialize)]
    struct Info {
        #[serde(rename = "ServiceType", default)]
        service_type: Option<serde_json::Value>,
    }
    let text = raw.get();
    let inner: Cow<'_, str> = if text.starts_with('"') {
        Cow::Owned(serde_json::from_str::<String>(text).map_err(|e| e.to_string())?)
    } else {
        Cow::Borrowed(text)
    };
    let inner = inner.trim();
    if inner.is_empty() || inner == "null" {
        return Ok(None);
    }
    if !inner.starts_with('{') {
        // Free text (the docs call it "OS version or image type"): nothing to read.
        return Ok(None);
    }
    let info: Info = serde_json::from_str(inner).map_err(|e| format!("not JSON ({e})"))?;
    Ok(match info.service_type {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(row: &str) -> Result<Aggregate, String> {
        let body = format!("{{\"value\":[{row}]}}");
        let page = parse_page(body.as_bytes()).map_err(|e| e.to_string())?;
        match (page.rows.first(), page.rejected.first()) {
            (Some(r), None) => Ok(r.clone()),
            (None, Some(r)) => Err(r.reason.clone()),
            _ => Err("no row".into()),
        }
    }

    fn row(quantity: &str, instance: &str) -> String {
        format!(
            r#"{{"properties":{{"subscriptionId":"B7E41C02-9D3A-4F6B-8E15-2C9A07D6F4E1",
            "usageStartTime":"2025-03-04T09:00:00+00:00","usageEndTime":"2025-03-04T10:00:00+00:00",
            "instanceData":{instance},"quantity":{quantity},"meterId":"B5C15376-6C94-4FDD-B655-1A69D138ACA3"}}}}"#
        )
    }

    #[test]
    fn exponent_quantities_are_kept_exactly() -> Result<(), String> {
        let r = one(&row("4.57763671875e-05", "\"\""))?;
        assert_eq!(r.quantity, "4.57763671875e-05");
        let r = one(&row("1.5E+2", "\"\""))?;
        assert_eq!(r.quantity, "1.5E+2");
        assert_eq!(r.subscription, "b7e41c02-9d3a-4f6b-8e15-2c9a07d6f4e1");
        assert_eq!(r.meter, "b5c15376-6c94-4fdd-b655-1a69d138aca3");
        Ok(())
    }

    #[test]
    fn instance_data_variants() -> Result<(), String> {
        let vm = r#""{\"Microsoft.Resources\":{\"resourceUri\":\"/subscriptions/X/resourceGroups/RG\\\\web/providers/Microsoft.Compute/virtualMachines/A\",\"location\":\"fra01\",\"tags\":\"null\",\"additionalInfo\":\"{\\\"ServiceType\\\":\\\"Standard_F2s\\\"}\"}}""#;
        let r = one(&row("2.0", vm))?;
        assert_eq!(r.sku.as_deref(), Some("Standard_F2s"));
        assert_eq!(
            r.resource.as_deref(),
            Some(
                "/subscriptions/x/resourcegroups/rg/web/providers/microsoft.compute/virtualmachines/a"
            )
        );
        assert_eq!(r.location.as_deref(), Some("fra01"));
        for info in [
            "\\\"\\\"",
            "\\\"null\\\"",
            "null",
            "{\\\"ServiceType\\\":null}",
        ] {
            let instance = format!(
                r#""{{\"Microsoft.Resources\":{{\"resourceUri\":\"/a\",\"tags\":{info},\"additionalInfo\":{info}}}}}""#
            );
            let r = one(&row("1", &instance))?;
            assert_eq!(r.sku, None, "{info}");
        }
        assert_eq!(one(&row("1", "null"))?.resource, None);
        Ok(())
    }

    #[test]
    fn unreadable_rows_are_rejected_with_their_text_and_reason() {
        let cases = [
            (row("\"abc\"", "\"\""), "properties.quantity"),
            (row("1", "\"{not json\""), "properties.instanceData"),
            (row("true", "\"\""), "properties.quantity"),
            (
                row("1", "\"\"").replace("2025-03-04T09:00:00+00:00", "yesterday"),
                "usageStartTime",
            ),
            (
                row("1", "\"\"").replace(
                    "\"meterId\":\"B5C15376-6C94-4FDD-B655-1A69D138ACA3\"",
                    "\"meterId\":\"\"",
                ),
                "meterId",
            ),
            ("{\"id\":1}".to_owned(), "properties: missing"),
            ("[1]".to_owned(), "not a usage aggregate"),
        ];
        for (text, field) in cases {
            let body = format!("{{\"value\":[{text}]}}");
            let page = parse_page(body.as_bytes()).expect("a page");
            assert!(page.rows.is_empty(), "{text}");
            let r = &page.rejected[0];
            assert!(r.reason.contains(field), "{} vs {field}", r.reason);
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&r.raw).ok(),
                serde_json::from_str::<serde_json::Value>(&text).ok()
            );
        }
    }

    #[test]
    fn envelopes() {
        let page = parse_page(b"{\"value\":[]}").expect("empty page");
        assert!(page.rows.is_empty() && page.next_link.is_none());
        let page = parse_page(b"{\"value\":[],\"nextLink\":\"\"}").expect("blank link");
        assert!(page.next_link.is_none());
        assert!(parse_page(b"{\"error\":{\"code\":\"X\"}}").is_err());
        assert!(parse_page(b"<html>").is_err());
    }
}

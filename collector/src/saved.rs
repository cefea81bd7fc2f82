//! Usage saved at a disconnected site: raw API pages written to a file (one page, an
//! array of pages, or an array of rows, as `Get-AzsSubscriberUsage | ConvertTo-Json`
//! writes them with PascalCase names and `/Date(ms)/` times), carried over and imported
//! with the rows named exactly as a collection of the same hours would name them.

use std::collections::HashMap;

use serde_json::{Map, Value};
use stackbill_store::{RegionRow, Store};

use crate::identity::Identities;
use crate::page::parse_page;
use crate::region::RegionConfig;
use crate::sink::{Sink, instant};
use crate::{CollectError, RunReport};

/// Turns `/Date(1741078800000)/` (milliseconds since 1970, as .NET's JSON writer spells
/// a date) into RFC 3339; other text is left as it is.
fn dotnet_date(text: &str) -> Option<String> {
    let inner = text.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let digits = inner.split(['+', '-']).next().filter(|d| !d.is_empty())?;
    let ms: i64 = digits.parse().ok()?;
    let ms = if inner.starts_with('-') {
        ms.checked_neg()?
    } else {
        ms
    };
    Some(instant(ms.checked_mul(1_000_000)?))
}

/// A row as the page parser reads it: `{"properties": {...}}` with camelCase names.
fn normalise_row(row: Value) -> Value {
    let Value::Object(map) = row else {
        return row;
    };
    if map.contains_key("properties") {
        return Value::Object(map);
    }
    // A flattened object (PowerShell): the properties sit at the top, PascalCase.
    let mut props = Map::new();
    for (k, v) in map {
        let mut chars = k.chars();
        let key = match chars.next() {
            Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
            None => k,
        };
        let v = match v {
            Value::String(s) => Value::String(dotnet_date(&s).unwrap_or(s)),
            other => other,
        };
        props.insert(key, v);
    }
    let mut out = Map::new();
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// The pages a saved file holds.
fn pages_of(doc: Value) -> Result<Vec<Value>, CollectError> {
    let is_page = |v: &Value| v.get("value").is_some_and(Value::is_array);
    let pages = match doc {
        Value::Array(items) if !items.is_empty() && items.iter().all(is_page) => items,
        Value::Array(rows) => vec![Value::Object(Map::from_iter([(
            "value".to_owned(),
            Value::Array(rows),
        )]))],
        v if is_page(&v) => vec![v],
        v @ Value::Object(_) => vec![Value::Object(Map::from_iter([(
            "value".to_owned(),
            Value::Array(vec![v]),
        )]))],
        _ => {
            return Err(CollectError::Protocol(
                "a saved usage file holds a page, an array of pages or an array of rows".into(),
            ));
        }
    };
    Ok(pages
        .into_iter()
        .map(|mut p| {
            if let Some(Value::Array(rows)) = p.get_mut("value") {
                let taken = std::mem::take(rows);
                *rows = taken.into_iter().map(normalise_row).collect();
            }
            p
        })
        .collect())
}

/// The reported window a saved page's `nextLink` names, if it has one.
fn link_window(link: &str) -> Option<(i64, i64)> {
    let url = reqwest::Url::parse(link).ok()?;
    let find = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| stackbill_core::usage::parse_instant(&v))
    };
    Some((find("reportedStartTime")?, find("reportedEndTime")?))
}

/// Imports a saved usage file for `region`. Rows are named with `window` when given (the
/// one reported hour the file was pulled for), else with the hour its pages' `nextLink`s
/// name; a page whose hour the file does not tell is refused. Importing the same file
/// again, or a file of hours that were also collected, changes nothing.
pub async fn import_saved(
    store: &dyn Store,
    region: &RegionRow,
    body: &[u8],
    window: Option<(i64, i64)>,
) -> Result<RunReport, CollectError> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| CollectError::Protocol(format!("the saved usage file is not JSON: {e}")))?;
    let pages = pages_of(doc)?;
    let own = RegionConfig::from_row(region)
        .map(|c| crate::collect::operator_subscriptions(&c))
        .unwrap_or_default();
    let mut sink = Sink::open(store, &region.id, &own).await?;
    let mut parsed = Vec::with_capacity(pages.len());
    for (n, p) in pages.iter().enumerate() {
        let bytes = serde_json::to_vec(p).map_err(|e| CollectError::Protocol(e.to_string()))?;
        let page = parse_page(&bytes)
            .map_err(|e| CollectError::Protocol(format!("page {}: {e}", n.saturating_add(1))))?;
        parsed.push(page);
    }
    // Each page's reported hour: the one given, else the one its own `nextLink` names,
    // else (the last page of an hour has no link) the hour of the page before it when
    // that one linked on. A page whose hour cannot be known is refused, not guessed:
    // rows must be named as a collection of the same hour names them.
    if let Some((f, t)) = window
        && t.checked_sub(f) != Some(3_600_000_000_000)
    {
        return Err(CollectError::Range(
            "the reported window of a saved file must be one hour (one file per hour)".into(),
        ));
    }
    let mut windows = Vec::with_capacity(parsed.len());
    let mut previous: Option<(i64, i64)> = None;
    for (n, page) in parsed.iter().enumerate() {
        let own = page.next_link.as_deref().and_then(link_window);
        let w = window.or(own).or(previous).ok_or_else(|| {
            CollectError::Range(format!(
                "page {}: its reported hour is not in the file (a one-page hour has no nextLink); \
                 pass the hour the file was pulled for (--reported-from/--reported-to)",
                n.saturating_add(1)
            ))
        })?;
        windows.push(w);
        // A page without a link ends its hour: the next page starts another.
        previous = own;
    }
    let mut report = RunReport::default();
    let mut names: HashMap<(i64, i64), Identities<'_>> = HashMap::new();
    for (page, w) in parsed.into_iter().zip(windows) {
        report.pages = report.pages.saturating_add(1);
        let ids = names
            .entry(w)
            .or_insert_with(|| Identities::new(&region.id, w));
        sink.store_page(w, page, ids, &mut report).await?;
    }
    report.windows = names.len() as u64;
    report.unknown_meters = std::mem::take(&mut sink.unknown_meters)
        .into_iter()
        .collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_shapes_become_pages() {
        let flat = serde_json::json!([{"SubscriptionId": "S", "MeterId": "M",
            "UsageStartTime": "/Date(1741078800000)/", "UsageEndTime": "/Date(1741082400000)/",
            "Quantity": 1.5, "InstanceData": ""}]);
        let pages = pages_of(flat).expect("rows");
        let props = &pages[0]["value"][0]["properties"];
        assert_eq!(props["usageStartTime"], "2025-03-04T09:00:00Z");
        assert_eq!(props["subscriptionId"], "S");
        let two = serde_json::json!([{"value": []}, {"value": [], "nextLink": "x"}]);
        assert_eq!(pages_of(two).expect("pages").len(), 2);
        assert!(pages_of(serde_json::json!(3)).is_err());
        assert_eq!(
            link_window(
                "https://h/x?reportedStartTime=2025-03-04T10%3a00%3a00%2b00%3a00&reportedEndTime=2025-03-04T11%3A00%3A00Z&continuationToken=a%3d"
            ),
            Some((1_741_082_400_000_000_000, 1_741_086_000_000_000_000))
        );
    }
}

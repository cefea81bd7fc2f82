//! A price list's items as people type them, one item per line:
//!
//! ```text
//! cores: 0.05
//! storage: graduated 0-100=0.10, 100-=0.08
//! ip-public sku=standard per=month: 3.00
//! {"meter": "gpu", "rate": "1.10", "credit": {"amount": "50"}}
//! ```
//!
//! A flat rate, or tiers (`graduated` or `volume`, bands `from-to=rate`, the last one
//! open); `sku=` and `per=` are optional. Any item this grammar cannot say (a credit) is
//! a line of the API's JSON, so editing a list never drops what it holds. Decimals stay
//! text, read exactly by the API.

use serde_json::{Map, Value, json};

use super::bands;

/// The lines of the API's `items`.
pub(crate) fn text(items: &Value) -> String {
    let Some(items) = items.as_array() else {
        return String::new();
    };
    items.iter().map(line).collect::<Vec<_>>().join("\n")
}

fn line(item: &Value) -> String {
    let simple = item.as_object().is_some_and(|o| {
        o.keys()
            .all(|k| matches!(k.as_str(), "meter" | "sku" | "per" | "rate" | "tiers"))
            && o.get("meter").is_some_and(Value::is_string)
            && o.values().all(|v| !v.is_number())
    });
    if !simple {
        return item.to_string();
    }
    let mut head = item["meter"].as_str().unwrap_or_default().to_owned();
    for key in ["sku", "per"] {
        if let Some(v) = item[key].as_str() {
            head.push_str(&format!(" {key}={v}"));
        }
    }
    let price = match (&item["rate"], &item["tiers"]) {
        (Value::String(rate), Value::Null) => rate.clone(),
        (Value::Null, tiers @ Value::Object(_)) => {
            let mut lines = bands::text(tiers)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>();
            let mode = lines.remove(0);
            let bands: Vec<String> = lines.iter().map(|b| b.replacen(": ", "=", 1)).collect();
            format!("{mode} {}", bands.join(", "))
        }
        _ => return item.to_string(),
    };
    format!("{head}: {price}")
}

/// The items written in `input`; the error names the line and what is wrong with it.
pub(crate) fn parse(input: &str) -> Result<Value, String> {
    let mut items = Vec::new();
    for (n, line) in input.lines().map(str::trim).enumerate() {
        let at = n.saturating_add(1);
        if line.is_empty() {
            continue;
        }
        if line.starts_with('{') {
            let item: Value = serde_json::from_str(line)
                .map_err(|e| format!("line {at} is not a JSON object: {e}"))?;
            items.push(item);
            continue;
        }
        let (head, price) = line
            .split_once(':')
            .ok_or_else(|| format!("line {at}: write an item as meter: rate, e.g. cores: 0.05"))?;
        let mut words = head.split_whitespace();
        let meter = words
            .next()
            .ok_or_else(|| format!("line {at}: the meter is missing before ':'"))?;
        let mut item = Map::new();
        item.insert("meter".into(), json!(meter));
        for word in words {
            match word.split_once('=') {
                Some((key @ ("sku" | "per"), v)) if !v.is_empty() => {
                    item.insert(key.into(), json!(v));
                }
                _ => {
                    return Err(format!(
                        "line {at}: {word:?} is not sku=… or per=… (write them after the meter)"
                    ));
                }
            }
        }
        let price = price.trim();
        let mut words = price.splitn(2, char::is_whitespace);
        match (words.next(), words.next()) {
            (Some(mode @ ("graduated" | "volume")), Some(list)) => {
                let written = std::iter::once(mode.to_owned())
                    .chain(list.split(',').map(|b| b.trim().replacen('=', ":", 1)))
                    .collect::<Vec<_>>()
                    .join("\n");
                let tiers = bands::parse(&written, "rate")
                    .map_err(|e| format!("line {at}, tiers: {}", renumber(&e)))?;
                item.insert("tiers".into(), tiers);
            }
            _ => {
                item.insert("rate".into(), json!(price));
            }
        }
        items.push(Value::Object(item));
    }
    if items.is_empty() {
        return Err("write at least one item, e.g. cores: 0.05".into());
    }
    Ok(Value::Array(items))
}

/// The estimator's quantities, one per line as `meter: quantity` (`sku=` may follow the
/// meter), as the API's `[{meterId, sku?, quantity}]`.
pub(crate) fn quantities(input: &str) -> Result<Value, String> {
    let mut items = Vec::new();
    for (n, line) in input.lines().map(str::trim).enumerate() {
        let at = n.saturating_add(1);
        if line.is_empty() {
            continue;
        }
        let (head, quantity) = line.split_once(':').ok_or_else(|| {
            format!("line {at}: write a quantity as meter: quantity, e.g. cores: 720")
        })?;
        let mut words = head.split_whitespace();
        let meter = words
            .next()
            .ok_or_else(|| format!("line {at}: the meter is missing before ':'"))?;
        let mut item = json!({"meterId": meter, "quantity": quantity.trim()});
        for word in words {
            match word.split_once('=') {
                Some(("sku", sku)) if !sku.is_empty() => item["sku"] = json!(sku),
                _ => return Err(format!("line {at}: {word:?} is not sku=…")),
            }
        }
        items.push(item);
    }
    if items.is_empty() {
        return Err("write at least one quantity, e.g. cores: 720".into());
    }
    Ok(Value::Array(items))
}

/// A band error's line number as the band's place in the item (the mode is line 1).
fn renumber(error: &str) -> String {
    error
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(n, why)| {
            let band = n.parse::<usize>().ok()?.checked_sub(1)?;
            Some(format!("band {band}:{why}"))
        })
        .unwrap_or_else(|| error.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_read_back_as_they_were_written() {
        let written = "cores: 0.05\nstorage: graduated 0-100=0.10, 100-=0.08\nip sku=std per=month: 3.00\n{\"meter\":\"gpu\",\"rate\":\"1.1\",\"credit\":{\"amount\":\"50\"}}";
        let items = parse(written).unwrap();
        assert_eq!(
            items,
            json!([
                {"meter": "cores", "rate": "0.05"},
                {"meter": "storage", "tiers": {"mode": "graduated", "bands": [
                    {"from": "0", "to": "100", "rate": "0.10"},
                    {"from": "100", "to": null, "rate": "0.08"}]}},
                {"meter": "ip", "sku": "std", "per": "month", "rate": "3.00"},
                {"meter": "gpu", "rate": "1.1", "credit": {"amount": "50"}}
            ])
        );
        assert_eq!(text(&items), written);
        assert_eq!(parse(&text(&items)).unwrap(), items);
    }

    #[test]
    fn quantities_become_the_estimators_items() {
        assert_eq!(
            quantities("cores: 720\n\nip sku=std: 2").unwrap(),
            json!([{"meterId": "cores", "quantity": "720"},
                   {"meterId": "ip", "quantity": "2", "sku": "std"}])
        );
        assert!(quantities("cores 720").unwrap_err().starts_with("line 1"));
        assert!(quantities("").is_err());
    }

    #[test]
    fn a_wrong_item_is_named_by_its_line() {
        assert_eq!(
            parse("cores 0.05").unwrap_err(),
            "line 1: write an item as meter: rate, e.g. cores: 0.05"
        );
        assert_eq!(
            parse("cores: 1\ndisk: volume 0-10=1, 10-=x").unwrap_err(),
            "line 2, tiers: band 2: rate \"x\" is not a decimal number"
        );
        assert!(
            parse("cores colour=red: 1")
                .unwrap_err()
                .contains("colour=red")
        );
    }
}

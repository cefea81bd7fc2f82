//! Tiered plans as people type them: price-list tiers and commission rates are both
//! `{mode, bands: [{from, to, <value>}]}` in the API, written in a form as lines —
//! `graduated` or `volume` first (graduated when left out), then one band per line as
//! `from-to: value`, the last band open as `from-: value`. Decimals stay text, so the
//! API's exact reader sees them as typed.

use serde_json::{Map, Value, json};

/// The lines of `plan` (`{mode, bands}`), as [`parse`] reads them; other JSON as is.
pub(crate) fn text(plan: &Value) -> String {
    let Some(bands) = plan["bands"].as_array() else {
        return plan.to_string();
    };
    let mut lines = vec![plan["mode"].as_str().unwrap_or("graduated").to_owned()];
    for band in bands {
        let value = band
            .as_object()
            .and_then(|o| {
                o.iter()
                    .find(|(k, _)| !matches!(k.as_str(), "from" | "to"))
                    .map(|(_, v)| v)
            })
            .map(plain)
            .unwrap_or_default();
        lines.push(format!(
            "{}-{}: {value}",
            plain(&band["from"]),
            plain(&band["to"])
        ));
    }
    lines.join("\n")
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The plan written in `input`, each band's value under `key` (`rate`, `percent`); the
/// error says which line is wrong and how.
pub(crate) fn parse(input: &str, key: &str) -> Result<Value, String> {
    let mut mode = "graduated";
    let mut bands = Vec::new();
    for (n, line) in input.lines().map(str::trim).enumerate() {
        let at = n.saturating_add(1);
        match line {
            "" => continue,
            "graduated" | "volume" if bands.is_empty() => {
                mode = if line == "volume" {
                    "volume"
                } else {
                    "graduated"
                };
                continue;
            }
            _ => {}
        }
        let (range, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {at}: write a band as from-to: {key}, e.g. 0-100: 1.5"))?;
        let (from, to) = range
            .split_once('-')
            .ok_or_else(|| format!("line {at}: the range needs a '-', e.g. 100-: {key}"))?;
        let (from, to, value) = (from.trim(), to.trim(), value.trim());
        let decimal = |text: &str, what: &str| {
            if !text.is_empty()
                && text.chars().all(|c| c.is_ascii_digit() || c == '.')
                && text.chars().filter(|c| *c == '.').count() <= 1
            {
                Ok(())
            } else {
                Err(format!(
                    "line {at}: {what} {text:?} is not a decimal number"
                ))
            }
        };
        decimal(from, "from")?;
        if !to.is_empty() {
            decimal(to, "to")?;
        }
        decimal(value, key)?;
        let mut band = Map::new();
        band.insert("from".into(), json!(from));
        band.insert(
            "to".into(),
            if to.is_empty() {
                Value::Null
            } else {
                json!(to)
            },
        );
        band.insert(key.into(), json!(value));
        bands.push(Value::Object(band));
    }
    if bands.is_empty() {
        return Err(format!("write at least one band, e.g. 0-: {key}"));
    }
    Ok(json!({ "mode": mode, "bands": bands }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_reads_back_as_it_was_written() {
        let plan = parse("volume\n0-100: 0.10\n\n100-: 0.08", "rate").unwrap();
        assert_eq!(
            plan,
            json!({"mode": "volume", "bands": [
                {"from": "0", "to": "100", "rate": "0.10"},
                {"from": "100", "to": null, "rate": "0.08"}]})
        );
        assert_eq!(text(&plan), "volume\n0-100: 0.10\n100-: 0.08");
        assert_eq!(parse(&text(&plan), "rate").unwrap(), plan);
        assert_eq!(parse("0-: 5", "percent").unwrap()["mode"], "graduated");
    }

    #[test]
    fn a_wrong_line_is_named() {
        assert_eq!(
            parse("0-100 1.5", "rate").unwrap_err(),
            "line 1: write a band as from-to: rate, e.g. 0-100: 1.5"
        );
        assert_eq!(
            parse("0-10: 1\n10-: 1,5", "rate").unwrap_err(),
            "line 2: rate \"1,5\" is not a decimal number"
        );
        assert!(parse("  \n", "percent").is_err());
    }
}

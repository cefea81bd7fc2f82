//! A JSON object of names to values typed one per line as `name: value`: a plan's quotas
//! (`cores: 64`, whole numbers) and the meter that measures each (`cores: 9cd9…`).

use serde_json::{Map, Value};

/// The object as lines, in its key order.
pub(crate) fn text(value: &Value) -> String {
    let Some(map) = value.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The object `input` writes; with `whole`, each value a whole number. A line that is
/// not `name: value`, a name given twice or a value that is not a whole number is named
/// by its line.
pub(crate) fn parse(input: &str, whole: bool) -> Result<Value, String> {
    let mut map = Map::new();
    let lines = input.lines().map(str::trim).filter(|l| !l.is_empty());
    for (n, line) in (1_usize..).zip(lines) {
        let (name, value) = line
            .split_once(':')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .ok_or_else(|| format!("line {n}: write name: value, e.g. cores: 64"))?;
        let value = if whole {
            let number: u64 = value
                .parse()
                .map_err(|_| format!("line {n}: {value:?} is not a whole number"))?;
            Value::from(number)
        } else {
            Value::String(value.to_owned())
        };
        if map.insert(name.to_owned(), value).is_some() {
            return Err(format!("line {n}: {name} is given twice"));
        }
    }
    Ok(Value::Object(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotas_survive_the_text_and_back() {
        let quotas = json!({"cores": 64, "storageGb": 2048});
        assert_eq!(text(&quotas), "cores: 64\nstorageGb: 2048");
        assert_eq!(parse(&text(&quotas), true), Ok(quotas));
        let meters = json!({"cores": "9cd92d4c-bafd-4492-b278-bedc2de8232a"});
        assert_eq!(parse(&text(&meters), false), Ok(meters));
    }

    #[test]
    fn a_bad_line_is_named() {
        assert_eq!(
            parse("cores: 64\ncores 8", true),
            Err("line 2: write name: value, e.g. cores: 64".into())
        );
        assert_eq!(
            parse("cores: -1", true),
            Err("line 1: \"-1\" is not a whole number".into())
        );
        assert_eq!(
            parse("cores: 1\n\ncores: 2", true),
            Err("line 2: cores is given twice".into())
        );
    }
}
